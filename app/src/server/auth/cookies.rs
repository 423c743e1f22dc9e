//! The two session cookies: names, and the `Set-Cookie` values that set and clear them.

use super::AuthConfig;
use http::HeaderMap;
use http::header::COOKIE;

pub const ACCESS: &str = "huddle_access";
pub const REFRESH: &str = "huddle_refresh";

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn cookie(config: &AuthConfig, name: &str, value: &str, max_age_secs: u64) -> String {
    let secure = if config.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// `Set-Cookie` values that store a new token pair.
pub fn set_pair(config: &AuthConfig, access: &str, refresh: &str) -> [String; 2] {
    [
        cookie(config, ACCESS, access, config.access_ttl.as_secs()),
        cookie(config, REFRESH, refresh, config.refresh_ttl.as_secs()),
    ]
}

/// The theme of the account last signed in on this browser: read while rendering the page's
/// `<html>`, so the first paint already has the user's colours. Not a secret; the profile
/// holds the choice, this mirrors it.
pub const THEME: &str = "huddle_theme";

/// `Set-Cookie` value that remembers `theme` for a year.
pub fn theme(config: &AuthConfig, theme: crate::models::Theme) -> String {
    cookie(config, THEME, theme.as_str(), 365 * 24 * 3600)
}

/// `Set-Cookie` values that remove both tokens.
pub fn clear_pair(config: &AuthConfig) -> [String; 2] {
    [cookie(config, ACCESS, "", 0), cookie(config, REFRESH, "", 0)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn reads_a_cookie_among_several_headers() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; huddle_access=tok"));
        h.append(COOKIE, HeaderValue::from_static("huddle_refresh=r"));
        assert_eq!(read(&h, ACCESS), Some("tok"));
        assert_eq!(read(&h, REFRESH), Some("r"));
        assert_eq!(read(&h, "missing"), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_when_configured() {
        let c = AuthConfig::new(vec![0; 32], true);
        let [a, r] = set_pair(&c, "x", "y");
        assert!(a.contains("HttpOnly") && a.contains("SameSite=Lax") && a.contains("Secure"));
        assert!(a.contains("Max-Age=900") && r.contains("Max-Age=2592000"));
        let plain = AuthConfig::new(vec![0; 32], false);
        assert!(!clear_pair(&plain)[0].contains("Secure"));
    }
}
