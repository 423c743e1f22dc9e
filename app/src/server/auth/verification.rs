//! Email verification: a link mailed after registering, on request, and to a new address before
//! it replaces the old one. Same token rules as a reset link (256 bits, stored as a hash, only
//! the newest works, one use), valid 24 hours. Opening the link confirms at once: it carries no
//! password and changes nothing but the address it names, so there is no form to go through.

use super::recovery::is_token;
use crate::models::{AppError, Email};
use crate::server::db::account_tokens::{self, Purpose};
use crate::server::mail::{Mail, escape_html};
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
        let token = crate::server::signing::random_token(32);
        let now = now_ms();
        let hash = super::tokens::hash_refresh_token(&token);
        let expires = now + VERIFY_TTL.as_millis() as i64;
        if let Err(e) = account_tokens::issue(&state.db, user_id, Purpose::Verify, &hash, Some(&address), now, expires).await {
            tracing::error!(error = %e, "could not issue an email verification link");
            return;
        }
        let link = format!("{}{VERIFY_LINK_PATH}?token={token}", state.recovery.base_url);
        state.recovery.mailer.send(verify_mail(&name, &address, &link));
    });
}

/// Tells the owner of `address` that someone tried to use it for another account (sign-up or
/// change of address while addresses are kept secret): they learn of it, the other person does not.
pub fn warn_owner(state: &AppState, address: &Email) {
    let (state, key) = (state.clone(), address.key());
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
    let Some(token) = token.filter(|t| is_token(t)) else { return Ok(Verified::Expired) };
    let hash = super::tokens::hash_refresh_token(token);
    let now = now_ms();
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
    let token = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned());
    let outcome = match verify(&state, token.as_deref()).await {
        Ok(v) => v.as_str(),
        Err(e) => {
            tracing::error!(error = %e, "email verification failed");
            "error"
        }
    };
    let headers = [(LOCATION, format!("/verify-email?result={outcome}")), (REFERRER_POLICY, "no-referrer".into()), (CACHE_CONTROL, "no-store".into())];
    (http::StatusCode::SEE_OTHER, headers).into_response()
}

/// Refuses a resend when this user asked for too many links this hour.
pub fn check_resend_rate(state: &AppState, user_id: i64) -> Result<(), AppError> {
    state
        .recovery
        .per_address
        .check(&format!("verify:{user_id}"))
        .map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })
}

fn verify_mail(name: &str, address: &str, link: &str) -> Mail {
    Mail {
        to_name: name.to_string(),
        to_address: address.to_string(),
        subject: "Confirm your email address for Huddle".into(),
        text: format!(
            "Hello {name},\n\nOpen this link within 24 hours to confirm that {address} is your address on Huddle:\n\n{link}\n\n\
             If you did not ask for this, ignore this mail.\n"
        ),
        html: format!(
            "<p>Hello {name_html},</p><p>Open this link within 24 hours to confirm that {address_html} is your address on Huddle:</p>\
             <p><a href=\"{link_html}\">Confirm my address</a></p><p>If you did not ask for this, ignore this mail.</p>",
            name_html = escape_html(name),
            address_html = escape_html(address),
            link_html = escape_html(link),
        ),
        link: Some(link.to_string()),
    }
}

fn taken_mail(name: &str, address: &str, base_url: &str) -> Mail {
    let reset = format!("{base_url}/forgot-password");
    Mail {
        to_name: name.to_string(),
        to_address: address.to_string(),
        subject: "Someone tried to use your address on Huddle".into(),
        text: format!(
            "Hello {name},\n\nSomeone just tried to use {address} for another Huddle account. It is yours, so nothing changed.\n\n\
             If it was you and you forgot your password, choose a new one here: {reset}\n"
        ),
        html: format!(
            "<p>Hello {name_html},</p><p>Someone just tried to use {address_html} for another Huddle account. It is yours, so nothing changed.</p>\
             <p>If it was you and you forgot your password, <a href=\"{reset_html}\">choose a new one</a>.</p>",
            name_html = escape_html(name),
            address_html = escape_html(address),
            reset_html = escape_html(&reset),
        ),
        link: None,
    }
}
