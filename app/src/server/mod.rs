//! Everything that runs only on the server: storage, authentication, request context.

pub mod access;
pub mod auth;
pub mod clock;
pub mod ctx;
pub mod db;
pub mod export;
pub mod hub;
pub mod mail;
pub mod metrics;
pub mod premium;
pub mod saved_reports;
pub mod signing;
pub mod state;

pub use state::AppState;

use crate::models::AppError;

/// Milliseconds since the Unix epoch: the one timestamp format in storage and on the wire.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

impl From<sqlx::Error> for AppError {
    /// The browser learns only that something failed; the log keeps the cause.
    fn from(e: sqlx::Error) -> Self {
        tracing::error!(error = %e, "database error");
        AppError::Internal
    }
}
