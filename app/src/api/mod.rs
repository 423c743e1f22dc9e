//! Server functions, one module per domain. Each takes the session, calls into `server`, and
//! maps the result.

pub mod auth;
pub mod codec;
pub mod budgets;
pub mod chat;
pub mod expenses;
pub mod meetings;
pub mod premium;
pub mod recovery;
pub mod reports;
pub mod shared;
