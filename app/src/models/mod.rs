//! Wire types shared by the server and the browser: inputs parsed into newtypes, views sent back.

pub mod budget;
pub mod chat;
pub mod error;
pub mod expense;
pub mod form_link;
pub mod money;
pub mod text;
pub mod time;
pub mod user;
pub mod ws;

pub use error::{AppError, FieldError};
pub use user::{DisplayName, Email, LoginName, Password, SessionInfo, User, Username};

/// Percent-encodes a URL query value (everything but unreserved characters).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `a=1&b=x%20y` from pairs.
pub fn query_string(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect::<Vec<_>>().join("&")
}
