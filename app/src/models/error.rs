//! The one error type every server function returns.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use crate::api::codec::JsonText;
use serde::{Deserialize, Serialize};

/// A problem with one form field, found by a newtype's `parse()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

/// What a server function may answer instead of its value.
///
/// Messages are written for the person at the keyboard; internals (SQL, paths, stack traces)
/// never go into a variant: the server logs them and sends `Internal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("Wrong username, email or password.")]
    InvalidCredentials,
    #[error("Please sign in first.")]
    Unauthorized,
    #[error("You may not do that.")]
    Forbidden,
    #[error("Not found.")]
    NotFound,
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("This link has expired or was already used. Ask for a new one.")]
    LinkExpired,
    #[error("Confirm your email address first: we have mailed you a new link.")]
    EmailUnverified,
    /// Not now, for a reason the person can act on (e.g. leaving a room with a balance).
    #[error("{message}")]
    Refused { message: String },
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    #[error("The request could not be understood.")]
    Request(ServerFnErrorErr),
}

impl AppError {
    /// The message for `field`, if this error is about that field.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// A message for the whole form: everything that is not tied to one field.
    pub fn form_message(&self) -> Option<String> {
        match self {
            AppError::Validation { .. } => None,
            other => Some(other.to_string()),
        }
    }

    /// The HTTP status a non-browser client sees.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation { .. } => 422,
            AppError::InvalidCredentials | AppError::Unauthorized => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::RateLimited { .. } => 429,
            AppError::LinkExpired => 410,
            AppError::EmailUnverified => 403,
            AppError::Refused { .. } => 409,
            AppError::Internal => 500,
            AppError::Request(_) => 400,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Validation { field: e.field.to_string(), message: e.message }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request(value)
    }
}
