//! Wire types shared by the server and the browser: inputs parsed into newtypes, views sent back.

pub mod budget;
pub mod chat;
pub mod error;
pub mod expense;
pub mod form_link;
pub mod meeting;
pub mod money;
pub mod premium;
pub mod split;
pub mod tagged;
pub mod text;
pub mod time;
pub mod timeline;
pub mod user;
pub mod ws;

pub use error::{AppError, FieldError};
pub use user::{DisplayName, Email, LoginName, Password, SessionInfo, Theme, User, Username};

/// Where to go after signing in, from a `next` parameter: a path on this site only (`/…`, not
/// `//host` or `/\host`, which browsers read as another site), else `None`.
pub fn local_path(raw: &str) -> Option<&str> {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= 2000
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(raw)
}

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

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_a_path_on_this_site_is_a_place_to_go_next() {
        assert_eq!(local_path("/chat/join/4.abc"), Some("/chat/join/4.abc"));
        for elsewhere in ["https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)", "", "/a b", "/\n"] {
            assert_eq!(local_path(elsewhere), None, "{elsewhere:?}");
        }
    }
}
