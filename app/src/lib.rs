#![recursion_limit = "256"]
//! Huddle's application: shared models, server functions, pages and (with `ssr`) the server side.

pub mod api;
mod app;
pub mod components;
pub mod models;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

pub use app::{App, shell};
#[cfg(feature = "hydrate")]
pub use app::hydrate;
#[cfg(feature = "ssr")]
pub use app::{CspNonce, content_security_policy, provide_request_nonce};
