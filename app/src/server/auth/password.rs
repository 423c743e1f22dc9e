//! Password hashing (argon2id, 19 MiB, 2 passes, 1 lane) off the async threads, and strength.

use crate::models::{FieldError, Password};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

fn hasher() -> Argon2<'static> {
    let params = Params::new(Params::DEFAULT_M_COST, Params::DEFAULT_T_COST, Params::DEFAULT_P_COST, None)
        .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string on the blocking pool.
pub async fn hash(password: Password) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        hasher().hash_password(password.expose().as_bytes()).map(|h| h.to_string()).map_err(|_| HashError)
    })
    .await
    .map_err(|_| HashError)?
}

/// Checks `password` against a stored hash. With no stored hash (unknown user) a dummy hash is
/// verified instead, so both paths cost the same time.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_string());
        let ok = hasher().verify_password(password.as_bytes(), phc.as_str()).is_ok();
        ok && known
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hasher().hash_password(b"an unguessable dummy password").map(|h| h.to_string()).unwrap_or_default()
    })
}

/// Computes the dummy hash now, so the first unknown-user login is not slower than the rest.
pub fn warm_up() {
    let _ = dummy_hash();
}

#[derive(Debug)]
pub struct HashError;

/// Refuses passwords that are common or guessable from the account's own details
/// (zxcvbn score below 3).
pub fn check_strength(password: &Password, field: &'static str, user_inputs: &[&str]) -> Result<(), FieldError> {
    let entropy = zxcvbn::zxcvbn(password.expose(), user_inputs);
    if (entropy.score() as u8) >= 3 {
        return Ok(());
    }
    let hint = entropy
        .feedback()
        .and_then(|f| f.warning().map(|w| w.to_string()))
        .unwrap_or_else(|| "It is too easy to guess.".to_string());
    Err(FieldError::new(field, format!("Choose a stronger password. {hint}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let h = hash(Password::parse("violet-otter-harbour-42").unwrap()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("violet-otter-harbour-42".into(), Some(h.clone())).await);
        assert!(!verify("violet-otter-harbour-43".into(), Some(h)).await);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        assert!(!verify("an unguessable dummy password".into(), None).await);
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        let weak = Password::parse("password123").unwrap();
        assert!(check_strength(&weak, "password", &[]).is_err());
        let personal = Password::parse("adalovelace1").unwrap();
        assert!(check_strength(&personal, "password", &["adalovelace", "ada@example.org"]).is_err());
        let strong = Password::parse("violet-otter-harbour-42").unwrap();
        assert!(check_strength(&strong, "password", &[]).is_ok());
    }
}
