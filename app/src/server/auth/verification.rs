//! Email verification: a link mailed after registering, on request, and to a new address before
//! it replaces the old one. Same token rules as a reset link (256 bits, stored as a hash, only
//! the newest works, one use), valid 24 hours. Opening the link confirms at once: it carries no
//! password and changes nothing but the address it names, so there is no form to go through.

use super::links;
use crate::models::{AppError, Email};
use crate::server::db::account_tokens::{self, Purpose};
use crate::server::mail::Mail;
use crate::server::{AppState, db, now_ms};
use std::time::Duration;

/// How long a verification link works.
pub const VERIFY_TTL: Duration = Duration::from_secs(24 * 3600);
/// The link in the mail.
pub const VERIFY_LINK_PATH: &str = "/verify-email/link";

/// Starts mailing `address` a link that confirms it for user `user_id`; returns at once.
pub fn send_link(state: &AppState, user_id: i64, name: &str, address: &str) {
    let (state, name, address) = (state.clone(), name.to_string(), address.to_string());
    tokio::spawn(async move {
        let base = &state.recovery.base_url;
        match links::issue(&state.db, user_id, Purpose::Verify, Some(&address), base, VERIFY_LINK_PATH, VERIFY_TTL).await {
            Ok(link) => state.recovery.mailer.send(verify_mail(&name, &address, &link)),
            Err(e) => tracing::error!(error = %e, "could not issue an email verification link"),
        }
    });
}

/// Tells the owner of `address` that someone tried to use it for another account (sign-up or
/// change of address while addresses are kept secret): they learn of it, the other person does
/// not. At most a few such mails an hour per address, however many tries: nobody can use
/// Huddle to flood someone's inbox.
pub fn warn_owner(state: &AppState, address: &Email) {
    let key = address.key();
    if state.recovery.per_address.check(&format!("warned:{key}")).is_err() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        match db::users::by_email_key(&state.db, &key).await {
            Ok(Some(owner)) => state.recovery.mailer.send(taken_mail(&owner.name, &owner.email, &state.recovery.base_url)),
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "could not look up the owner of an address"),
        }
    });
}

/// What opening a verification link came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Done,
    Expired,
    /// The new address was taken by another account meanwhile.
    Taken,
}

impl Verified {
    pub fn as_str(self) -> &'static str {
        match self {
            Verified::Done => "done",
            Verified::Expired => "expired",
            Verified::Taken => "taken",
        }
    }
}

/// Uses a verification token: confirms the account's address, or replaces it with the new one
/// the link was sent to. One transaction; an unusable link changes nothing.
pub async fn verify(state: &AppState, token: Option<&str>) -> Result<Verified, sqlx::Error> {
    let Some(token) = token.filter(|t| links::is_token(t)) else { return Ok(Verified::Expired) };
    let hash = links::hash(token);
    let now = now_ms();
    // Read first: a flood of made-up tokens costs a lookup each, never the write lock.
    if account_tokens::find_live(&state.db, &hash, Purpose::Verify, now).await?.is_none() {
        return Ok(Verified::Expired);
    }
    let mut tx = state.db.begin().await?;
    let Some(live) = account_tokens::claim(&mut tx, &hash, Purpose::Verify, now).await? else {
        return Ok(Verified::Expired);
    };
    let Some(email) = live.email.as_deref().and_then(|e| Email::parse(e).ok()) else {
        return Ok(Verified::Expired);
    };
    match db::users::confirm_email(&mut *tx, live.user_id, email.as_str(), &email.key(), now).await {
        Ok(()) => {}
        Err(e) if db::violated_unique(&e).is_some() => return Ok(Verified::Taken),
        Err(e) => return Err(e),
    }
    tx.commit().await?;
    Ok(Verified::Done)
}

/// `GET /verify-email/link?token=…`: confirms, then shows the outcome on `/verify-email`.
pub async fn open_verify_link(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY};
    let outcome = match verify(&state, links::token_param(query.as_deref()).as_deref()).await {
        Ok(v) => v.as_str(),
        Err(e) => {
            tracing::error!(error = %e, "email verification failed");
            "error"
        }
    };
    let headers = [(LOCATION, format!("/verify-email?result={outcome}")), (REFERRER_POLICY, "no-referrer".into()), (CACHE_CONTROL, "no-store".into())];
    (http::StatusCode::SEE_OTHER, headers).into_response()
}

/// Refuses another verification mail (a resend, a change of address) when this user had too
/// many this hour.
pub fn check_resend_rate(state: &AppState, user_id: i64) -> Result<(), AppError> {
    state
        .recovery
        .per_account
        .check(&user_id.to_string())
        .map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })
}

fn verify_mail(name: &str, address: &str, link: &str) -> Mail {
    Mail::compose(
        name,
        address,
        "Confirm your email address for Huddle",
        &[&format!("Open this link within 24 hours to confirm that {address} is your address on Huddle:")],
        Some(("Confirm my address", link)),
        &["If you did not ask for this, ignore this mail."],
    )
}

fn taken_mail(name: &str, address: &str, base_url: &str) -> Mail {
    Mail::compose(
        name,
        address,
        "Someone tried to use your address on Huddle",
        &[
            &format!("Someone just tried to use {address} for another Huddle account. It is yours, so nothing changed."),
            "If it was you and you forgot your password, choose a new one here:",
        ],
        Some(("Choose a new password", &format!("{base_url}/forgot-password"))),
        &[],
    )
}
