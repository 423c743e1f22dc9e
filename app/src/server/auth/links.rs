//! One-time links sent by mail (password reset, email verification): how a token is made,
//! stored, put in a link and read back out of one. The rules differ only in purpose and life.

use crate::server::db::account_tokens::{self, Purpose};
use crate::server::db::Db;
use crate::server::now_ms;
use std::time::Duration;

/// A token as it may appear in a link: 43 URL-safe base64 characters (256 bits).
pub fn is_token(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What is stored for a token: its SHA-256 (a fast hash suffices for 256 random bits).
pub fn hash(token: &str) -> String {
    super::tokens::hash_refresh_token(token)
}

/// The well-formed `token` parameter of a link's query, if any.
pub fn token_param(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| is_token(t))
}

/// Stores a new link for `user_id` (voiding the user's earlier ones of this purpose) and returns
/// `{base_url}{path}?token=…`.
pub async fn issue(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    email: Option<&str>,
    base_url: &str,
    path: &str,
    ttl: Duration,
) -> Result<String, sqlx::Error> {
    let token = crate::server::signing::random_token(32);
    let now = now_ms();
    account_tokens::issue(db, user_id, purpose, &hash(&token), email, now, now + ttl.as_millis() as i64).await?;
    Ok(format!("{base_url}{path}?token={token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_token_is_read_from_a_link() {
        let t = crate::server::signing::random_token(32);
        assert!(is_token(&t), "{t}");
        assert!(!is_token(&t[1..]) && !is_token(&format!("{}'", &t[1..])) && !is_token(""));
        assert_eq!(token_param(Some(&format!("a=1&token={t}"))), Some(t.clone()));
        assert_eq!(token_param(Some("token=%3Cscript%3E")), None);
        assert_eq!(token_param(None), None);
    }
}
