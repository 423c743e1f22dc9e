//! Password reset by a link sent by mail (OWASP's Forgot Password cheat sheet).
//!
//! Asking for a link always gets the same answer in the same time: the lookup, the link and the
//! mail happen in a task of their own after the answer is decided. A link is 256 random bits,
//! stored as a SHA-256, valid 30 minutes, only the newest one per user works, and using it is
//! one transaction (claim the link, set the password, end every login) so a used or expired
//! link changes nothing. Opening the mailed URL moves the token into a short-lived HttpOnly
//! cookie and redirects, so the token never sits in the address bar or a `Referer`.

use super::AuthConfig;
use super::throttle::AddressRate;
use crate::models::{AppError, Email, Password};
use crate::server::db::account_tokens::{self, Purpose};
use super::links;
use crate::server::mail::{Mail, Mailer};
use crate::server::{AppState, db, now_ms};
use std::time::Duration;

/// How long a reset link works.
pub const RESET_TTL: Duration = Duration::from_secs(30 * 60);
/// The cookie that carries a reset token from the opened link to the form that uses it.
pub const RESET_COOKIE: &str = "huddle_reset";
/// Where a reset link leads first (a plain route that moves the token into the cookie).
pub const RESET_LINK_PATH: &str = "/reset-password/link";

/// Mail, links and the limits on asking for them.
pub struct Recovery {
    pub mailer: Mailer,
    /// `https://huddle.example.org`: where links in mail lead (`HUDDLE_PUBLIC_URL`, never a
    /// request's `Host`).
    pub base_url: String,
    /// Reset requests per client address, and per email address asked about (also: warnings
    /// to the owner of an address someone else tried to use).
    pub per_ip: AddressRate,
    pub per_address: AddressRate,
    /// Verification mails per user (resends and changes of address).
    pub per_account: AddressRate,
    /// `HUDDLE_REQUIRE_VERIFIED_EMAIL`: sign-in waits for a confirmed address, and sign-up and
    /// changes of address never reveal whether an address has an account.
    pub require_verified: bool,
}

impl Recovery {
    pub fn new(mailer: Mailer, base_url: String, require_verified: bool) -> Self {
        Self { mailer, base_url, per_ip: AddressRate::per_hour(20), per_address: AddressRate::per_hour(5), per_account: AddressRate::per_hour(5), require_verified }
    }

    /// Refuses the request when this client or this address asked too often.
    pub fn check_rate(&self, ip: &str, email_key: &str) -> Result<(), AppError> {
        let limited = |wait: Duration| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) };
        self.per_ip.check(&ip.to_string()).map_err(limited)?;
        self.per_address.check(&email_key.to_string()).map_err(limited)
    }
}

/// `Set-Cookie` values for the reset cookie: set for the life of a link, or cleared.
pub fn reset_cookie(config: &AuthConfig, token: Option<&str>) -> String {
    let secure = if config.secure_cookies { "; Secure" } else { "" };
    let (value, max_age) = match token {
        Some(t) => (t, RESET_TTL.as_secs()),
        None => ("", 0),
    };
    format!("{RESET_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// `GET /reset-password/link?token=…`, the link in the mail: keeps the token in a short-lived
/// HttpOnly cookie and sends the browser on to the form, so the token leaves the address bar
/// and never reaches another site in a `Referer`. A malformed token is not kept (the form then
/// says the link does not work).
pub async fn open_reset_link(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use http::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
    let cookie = reset_cookie(&state.auth, links::token_param(query.as_deref()).as_deref());
    let headers = [(LOCATION, "/reset-password".to_string()), (SET_COOKIE, cookie), (REFERRER_POLICY, "no-referrer".into()), (CACHE_CONTROL, "no-store".into())];
    (http::StatusCode::SEE_OTHER, headers).into_response()
}

/// Starts sending a reset link to `email` if an account has it; returns at once either way.
pub fn request_reset(state: &AppState, email: Email) {
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = send_reset_link(&state, &email).await {
            tracing::error!(error = %e, "could not issue a password reset link");
        }
    });
}

async fn send_reset_link(state: &AppState, email: &Email) -> Result<(), sqlx::Error> {
    let Some(user) = db::users::by_email_key(&state.db, &email.key()).await? else {
        return Ok(());
    };
    let link = issue_reset_link(&state.db, user.id, &state.recovery.base_url, RESET_TTL).await?;
    state.recovery.mailer.send(reset_mail(&user.name, &user.email, &link));
    Ok(())
}

/// A new reset link for `user_id`, valid for `ttl`; the user's earlier links stop working.
pub async fn issue_reset_link(db: &crate::server::db::Db, user_id: i64, base_url: &str, ttl: Duration) -> Result<String, sqlx::Error> {
    links::issue(db, user_id, Purpose::Reset, None, base_url, RESET_LINK_PATH, ttl).await
}

/// Whether the reset token in the cookie still works.
pub async fn reset_link_works(state: &AppState, token: Option<&str>) -> Result<bool, AppError> {
    let Some(token) = token.filter(|t| links::is_token(t)) else { return Ok(false) };
    let hash = links::hash(token);
    Ok(account_tokens::find_live(&state.db, &hash, Purpose::Reset, now_ms()).await?.is_some())
}

/// Sets a new password with the reset token `token`, ends every login of the account and
/// mails its owner. Returns the account's id.
pub async fn reset_password(state: &AppState, token: Option<&str>, new: &str, confirm: &str) -> Result<i64, AppError> {
    let token = token.filter(|t| links::is_token(t)).ok_or(AppError::LinkExpired)?;
    let hash = links::hash(token);
    let live = account_tokens::find_live(&state.db, &hash, Purpose::Reset, now_ms()).await?.ok_or(AppError::LinkExpired)?;
    let user = db::users::by_id(&state.db, live.user_id).await?.ok_or(AppError::LinkExpired)?;
    let password = Password::parse_field(new, "new_password")?;
    if new != confirm {
        let message = "The two passwords are not the same.".into();
        return Err(AppError::Validation { field: "confirm_password".into(), message });
    }
    super::password::check_strength(&password, "new_password", &[&user.username, &user.email, &user.name])?;
    let password_hash = super::password::hash(password).await.map_err(|_| AppError::Internal)?;
    // The slow hash is done; now the link is claimed, the password set and every login ended
    // at once, or none of it happens.
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    if account_tokens::claim(&mut tx, &hash, Purpose::Reset, now).await?.is_none() {
        return Err(AppError::LinkExpired);
    }
    account_tokens::void_all(&mut tx, user.id, Purpose::Reset, now).await?;
    db::users::set_password_hash(&mut *tx, user.id, &password_hash).await?;
    let ended = db::sessions::revoke_all(&mut *tx, user.id, None, now).await?;
    tx.commit().await?;
    super::session::logins_ended(state, user.id, &ended, crate::server::hub::Logins::AllBut(None), now);
    state.throttle.clear(&format!("account:{}", user.id));
    state.recovery.mailer.send(changed_mail(&user.name, &user.email, &state.recovery.base_url));
    Ok(user.id)
}

fn reset_mail(name: &str, address: &str, link: &str) -> Mail {
    let minutes = RESET_TTL.as_secs() / 60;
    Mail::compose(
        name,
        address,
        "Reset your Huddle password",
        &[&format!("Someone (we hope you) asked to reset the password of your Huddle account. Open this link within {minutes} minutes to choose a new one:")],
        Some(("Choose a new password", link)),
        &["The link works once. If you did not ask for it, ignore this mail: your password stays as it is."],
    )
}

fn changed_mail(name: &str, address: &str, base_url: &str) -> Mail {
    Mail::compose(
        name,
        address,
        "Your Huddle password was changed",
        &[
            "The password of your Huddle account was just changed with a reset link, and every device that was signed in has been signed out.",
            "If this was not you, choose a new password at once:",
        ],
        Some(("Reset it again", &format!("{base_url}/forgot-password"))),
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_cookie_is_http_only_and_short_lived() {
        let c = reset_cookie(&AuthConfig::new(vec![0; 32], true), Some("t"));
        assert!(c.starts_with("huddle_reset=t;") && c.contains("HttpOnly") && c.contains("Max-Age=1800") && c.contains("Secure"));
        assert!(reset_cookie(&AuthConfig::new(vec![0; 32], false), None).contains("Max-Age=0"));
    }

    #[test]
    fn names_in_mail_are_text_not_markup() {
        let m = reset_mail("<script>x</script>", "a@example.org", "https://h.test/reset-password/link?token=a&b");
        assert!(!m.html.contains("<script>") && m.html.contains("&lt;script&gt;"));
        assert!(m.html.contains("token=a&amp;b") && m.text.contains("token=a&b"));
    }
}
