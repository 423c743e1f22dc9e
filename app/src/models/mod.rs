//! Wire types shared by the server and the browser: inputs parsed into newtypes, views sent back.

pub mod error;
pub mod expense;
pub mod money;
pub mod time;
pub mod user;

pub use error::{AppError, FieldError};
pub use user::{DisplayName, Email, LoginName, Password, SessionInfo, User, Username};
