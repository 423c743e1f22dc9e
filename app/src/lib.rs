//! Huddle's application: shared models, server functions, pages and (with `ssr`) the server side.

pub mod api;
mod app;
pub mod components;
pub mod models;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;

pub use app::{App, shell};
