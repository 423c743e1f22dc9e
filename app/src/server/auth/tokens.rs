//! Access tokens (HS256 JWT) and refresh tokens (random, stored hashed, rotated on use).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::server::db::sessions::TokenRecord;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id, as a string per RFC 7519.
    pub sub: String,
    /// The login (refresh-token family) this token was issued for.
    pub sid: i64,
    pub iat: i64,
    pub exp: i64,
}

/// Signs an access token for `user_id` in login `session_id`, valid for `ttl_secs`.
pub fn issue_access(secret: &[u8], user_id: i64, session_id: i64, now_secs: i64, ttl_secs: i64) -> String {
    let claims = AccessClaims { sub: user_id.to_string(), sid: session_id, iat: now_secs, exp: now_secs + ttl_secs };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))
        .unwrap_or_default()
}

/// The user and login of a valid, unexpired HS256 token; `None` for anything else.
pub fn verify_access(secret: &[u8], token: &str) -> Option<(i64, i64)> {
    verify_access_claims(secret, token).and_then(|c| Some((c.sub.parse().ok()?, c.sid)))
}

/// The claims of a valid, unexpired HS256 token.
pub fn verify_access_claims(secret: &[u8], token: &str) -> Option<AccessClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<AccessClaims>(token, &DecodingKey::from_secret(secret), &validation).ok()?;
    Some(data.claims)
}

/// A fresh refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    crate::server::signing::random_token(32)
}

/// What is stored for a refresh token: its SHA-256, hex. The token itself has 256 bits of
/// entropy, so a fast hash is enough.
pub fn hash_refresh_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// How long after a rotation the old token is still accepted without rotating again: a page
/// and the requests it starts can all carry the same expired cookie at once.
pub const ROTATION_GRACE_MS: i64 = 2_000;

/// What to do with a presented refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Unknown, expired or revoked: sign the client out.
    Reject,
    /// Valid: issue a successor and retire this one.
    Rotate { user_id: i64, session_id: i64 },
    /// Rotated a moment ago by a concurrent request: accept, issue nothing.
    Grace { user_id: i64, session_id: i64 },
    /// Rotated earlier and presented again: stolen or replayed; revoke the whole login.
    Reuse { user_id: i64, session_id: i64 },
}

/// Decides on a refresh token from its stored record, at `now` (ms).
pub fn decide(record: Option<&TokenRecord>, now: i64) -> RefreshDecision {
    let Some(r) = record else { return RefreshDecision::Reject };
    let (user_id, session_id) = (r.user_id, r.session_id);
    if r.revoked_at.is_some() || r.expires_at <= now {
        return RefreshDecision::Reject;
    }
    match r.rotated_at {
        None => RefreshDecision::Rotate { user_id, session_id },
        Some(at) if now - at <= ROTATION_GRACE_MS => RefreshDecision::Grace { user_id, session_id },
        Some(_) => RefreshDecision::Reuse { user_id, session_id },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn record(rotated_at: Option<i64>, expires_at: i64, revoked_at: Option<i64>) -> TokenRecord {
        TokenRecord { session_id: 7, user_id: 3, rotated_at, expires_at, revoked_at }
    }

    #[test]
    fn an_unused_live_token_is_rotated() {
        let d = decide(Some(&record(None, 10_000, None)), 5_000);
        assert_eq!(d, RefreshDecision::Rotate { user_id: 3, session_id: 7 });
    }

    #[test]
    fn an_unknown_expired_or_revoked_token_is_rejected() {
        assert_eq!(decide(None, 5_000), RefreshDecision::Reject);
        assert_eq!(decide(Some(&record(None, 5_000, None)), 5_000), RefreshDecision::Reject);
        assert_eq!(decide(Some(&record(None, 10_000, Some(1))), 5_000), RefreshDecision::Reject);
    }

    #[test]
    fn a_token_used_again_within_the_grace_is_accepted_without_rotation() {
        let d = decide(Some(&record(Some(4_000), 10_000, None)), 4_000 + ROTATION_GRACE_MS);
        assert_eq!(d, RefreshDecision::Grace { user_id: 3, session_id: 7 });
    }

    #[test]
    fn a_token_used_again_after_the_grace_is_reuse() {
        let d = decide(Some(&record(Some(4_000), 100_000, None)), 4_001 + ROTATION_GRACE_MS);
        assert_eq!(d, RefreshDecision::Reuse { user_id: 3, session_id: 7 });
    }

    #[test]
    fn a_reused_token_of_a_revoked_login_is_simply_rejected() {
        assert_eq!(decide(Some(&record(Some(1), 100_000, Some(2))), 50_000), RefreshDecision::Reject);
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_only_as_a_hash() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        use base64::Engine;
        assert_eq!(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        let h = hash_refresh_token(&a);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&a));
        assert_eq!(h, hash_refresh_token(&a));
    }

    #[test]
    fn an_access_token_round_trips_until_it_expires() {
        let now = crate::server::now_ms() / 1000;
        let t = issue_access(SECRET, 42, 9, now, 900);
        assert_eq!(verify_access(SECRET, &t), Some((42, 9)));
        let old = issue_access(SECRET, 42, 9, now - 1000, 900);
        assert_eq!(verify_access(SECRET, &old), None);
    }

    #[test]
    fn an_access_token_with_another_key_or_algorithm_is_refused() {
        let now = crate::server::now_ms() / 1000;
        let t = issue_access(SECRET, 42, 9, now, 900);
        assert_eq!(verify_access(b"another-secret-another-secret-xx", &t), None);
        let claims = AccessClaims { sub: "42".into(), sid: 9, iat: now, exp: now + 900 };
        let hs512 = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims, &EncodingKey::from_secret(SECRET)).unwrap();
        assert_eq!(verify_access(SECRET, &hs512), None);
        assert_eq!(verify_access(SECRET, "not.a.token"), None);
    }
}
