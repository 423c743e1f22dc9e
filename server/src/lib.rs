//! The Huddle server: configuration, the router and its middleware, start-up.

pub mod admin;
pub mod client_errors;
pub mod config;
pub mod metrics;
pub mod middleware;
pub mod serve;
pub mod startup;
pub mod telemetry;
pub mod ws;
