//! Accounts: register, log in and out, the profile, and the list of logins.

use crate::models::{AppError, SessionInfo, User};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    models::{DisplayName, Email, LoginName, Password, Username},
    server::hub::Logins,
    server::{auth, auth::throttle, auth::verification, ctx, db, now_ms},
};
#[cfg(feature = "ssr")]
use std::time::Instant;

/// Creates an account and signs it in, then opens `next` (a path on this site) or the home page.
#[server(endpoint = "register", output = crate::api::codec::Json)]
pub async fn register(name: String, username: String, email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let name = DisplayName::parse(&name)?;
        let username = Username::parse(&username)?;
        let email = Email::parse(&email)?;
        let password = Password::parse(&password)?;
        let inputs = [username.as_str(), email.as_str(), name.as_str()];
        auth::password::check_strength(&password, Password::FIELD, &inputs)?;
        // Counted only for a form that will be hashed: typos cost nothing.
        if let Err(wait) = state.signups.check(&ctx::client_ip()) {
            return Err(AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) });
        }
        let hash = auth::password::hash(password).await.map_err(|_| AppError::Internal)?;
        if state.recovery.require_verified {
            // Sign-in waits for the address to be confirmed, and the answer is the same whether
            // or not the address already has an account (its owner is told by mail).
            match db::users::create_account(&state.db, &name, &username, &email, &hash, state.default_currency.code, now_ms()).await {
                Ok(user_id) => verification::send_link(&state, user_id, name.as_str(), email.as_str()),
                Err(e) if db::violated_unique(&e).is_some_and(|c| c.contains("email")) => verification::warn_owner(&state, &email),
                Err(e) => return Err(taken_field(e)),
            }
            leptos_axum::redirect("/verify-email?sent=1");
            return Ok(());
        }
        let created = db::users::create_account(&state.db, &name, &username, &email, &hash, state.default_currency.code, now_ms()).await;
        let user_id = created.map_err(taken_field)?;
        verification::send_link(&state, user_id, name.as_str(), email.as_str());
        let (_, cookies) = auth::session::start_login(&state, user_id, &ctx::user_agent()).await?;
        ctx::set_cookies(&cookies);
        leptos_axum::redirect(next.as_deref().and_then(crate::models::local_path).unwrap_or("/"));
        Ok(())
    })
    .await
}

/// A unique-constraint failure on insert, as the field error the person can act on.
#[cfg(feature = "ssr")]
fn taken_field(e: sqlx::Error) -> AppError {
    match db::violated_unique(&e).as_deref() {
        Some(c) if c.contains("username") => {
            AppError::Validation { field: "username".into(), message: "That username is taken.".into() }
        }
        Some(c) if c.contains("email") => AppError::Validation {
            field: "email".into(),
            message: "An account with that email already exists.".into(),
        },
        _ => e.into(),
    }
}

/// Signs in with a username or email and a password, then opens `next` (a path on this site) or home.
#[server(endpoint = "login", output = crate::api::codec::Json)]
pub async fn login(login: String, password: String, next: Option<String>) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let name = LoginName::parse(&login)?;
        let ip = ctx::client_ip();
        let ip_key = format!("ip:{ip}");
        throttled(&state, &ip_key, throttle::PER_ADDRESS)?;
        let user = db::users::by_login(&state.db, &name).await?;
        // One count per account, whether it is named by username or by email.
        let account_key = match &user {
            Some(u) => format!("account:{}", u.id),
            None => format!("unknown:{}", name.key()),
        };
        let pair_key = format!("{account_key}@{ip}");
        throttled(&state, &pair_key, throttle::PER_ACCOUNT_AND_ADDRESS)?;
        // Failures from elsewhere slow this account down; they never shut it.
        let delay = auth::LoginThrottle::delay_for(state.throttle.failures(&account_key, Instant::now()));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let verified = auth::password::verify(password, user.as_ref().map(|u| u.password_hash.clone())).await;
        let Some(user) = user.filter(|_| verified) else {
            state.throttle.record_failure(&[&ip_key, &pair_key, &account_key], Instant::now());
            return Err(AppError::InvalidCredentials);
        };
        state.throttle.clear(&pair_key);
        state.throttle.clear(&account_key);
        if state.recovery.require_verified && user.email_verified_at.is_none() {
            if verification::check_resend_rate(&state, user.id).is_ok() {
                verification::send_link(&state, user.id, &user.name, &user.email);
            }
            return Err(AppError::EmailUnverified);
        }
        let (_, cookies) = auth::session::start_login(&state, user.id, &ctx::user_agent()).await?;
        ctx::set_cookies(&cookies);
        ctx::set_cookies(&[auth::cookies::theme(&state.auth, crate::models::Theme::from_db(&user.theme))]);
        leptos_axum::redirect(next.as_deref().and_then(crate::models::local_path).unwrap_or("/"));
        Ok(())
    })
    .await
}

/// Refuses the attempt, before any password is hashed, while `key` has `limit` failures.
#[cfg(feature = "ssr")]
fn throttled(state: &crate::server::AppState, key: &str, limit: usize) -> Result<(), AppError> {
    match state.throttle.retry_after(key, limit, Instant::now()) {
        Some(wait) => Err(AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) }),
        None => Ok(()),
    }
}

/// Ends this login.
#[server(endpoint = "logout", output = crate::api::codec::Json)]
pub async fn logout() -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        if let Some(s) = ctx::session() {
            auth::session::end_logins(&state, s.user_id, Logins::One(s.session_id)).await?;
        }
        ctx::set_cookies(&auth::cookies::clear_pair(&state.auth));
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Ends every login of this user, this one included.
#[server(endpoint = "logout_everywhere", output = crate::api::codec::Json)]
pub async fn logout_everywhere() -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        auth::session::end_logins(&state, s.user_id, Logins::AllBut(None)).await?;
        ctx::set_cookies(&auth::cookies::clear_pair(&state.auth));
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// The signed-in user, or `None`.
#[server(endpoint = "me", output = crate::api::codec::Json)]
pub async fn current_user() -> Result<Option<User>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let Some(s) = ctx::session() else { return Ok(None) };
        Ok(db::users::by_id(&state.db, s.user_id).await?.map(|u| u.into_user()))
    })
    .await
}

/// This user's active logins, most recently used first.
#[server(endpoint = "sessions", output = crate::api::codec::Json)]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        Ok(db::sessions::list_active(&state.db, s.user_id, s.session_id, now_ms()).await?)
    })
    .await
}

/// Ends one of this user's logins. Ending the current one signs out.
#[server(endpoint = "revoke_session", output = crate::api::codec::Json)]
pub async fn revoke_session(id: i64) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        if !auth::session::end_logins(&state, s.user_id, Logins::One(id)).await? {
            return Err(AppError::NotFound);
        }
        if id == s.session_id {
            ctx::set_cookies(&auth::cookies::clear_pair(&state.auth));
            leptos_axum::redirect("/login");
        }
        Ok(())
    })
    .await
}

/// Changes the display name.
#[server(endpoint = "update_profile", output = crate::api::codec::Json)]
pub async fn update_profile(name: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let name = DisplayName::parse(&name)?;
        db::users::set_name(&state.db, s.user_id, name.as_str()).await?;
        Ok(())
    })
    .await
}

/// Chooses the colour theme: stored in the profile and remembered by this browser.
#[server(endpoint = "set_theme", output = crate::api::codec::Json)]
pub async fn set_theme(theme: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let theme = crate::models::Theme::parse(&theme)?;
        db::users::set_theme(&state.db, s.user_id, theme.as_str()).await?;
        ctx::set_cookies(&[auth::cookies::theme(&state.auth, theme)]);
        Ok(())
    })
    .await
}

/// Changes the password after checking the current one; ends every other login.
#[server(endpoint = "change_password", output = crate::api::codec::Json)]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        // Its own count: failed logins by others must not shut the owner out of this form.
        let account_key = format!("password-change:{}", s.user_id);
        throttled(&state, &account_key, throttle::PER_ACCOUNT_AND_ADDRESS)?;
        let new = Password::parse_field(&new_password, "new_password")?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        if !auth::password::verify(current_password, Some(user.password_hash.clone())).await {
            state.throttle.record_failure(&[&account_key], std::time::Instant::now());
            let message = "That is not your current password.".into();
            return Err(AppError::Validation { field: "current_password".into(), message });
        }
        auth::password::check_strength(&new, "new_password", &[&user.username, &user.email, &user.name])?;
        let hash = auth::password::hash(new).await.map_err(|_| AppError::Internal)?;
        db::users::set_password_hash(&state.db, s.user_id, &hash).await?;
        auth::session::end_logins(&state, s.user_id, Logins::AllBut(Some(s.session_id))).await?;
        Ok(())
    })
    .await
}

/// Starts changing the account's address: a link goes to the new one, which replaces the old
/// only when it is opened. Needs the password.
#[server(endpoint = "change_email", output = crate::api::codec::Json)]
pub async fn change_email(email: String, password: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        // The password form's count: guessing through this form is no easier than through that one.
        let account_key = format!("password-change:{}", s.user_id);
        throttled(&state, &account_key, throttle::PER_ACCOUNT_AND_ADDRESS)?;
        let email = Email::parse(&email)?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        if !auth::password::verify(password, Some(user.password_hash.clone())).await {
            state.throttle.record_failure(&[&account_key], std::time::Instant::now());
            return Err(AppError::Validation { field: "password".into(), message: "That is not your current password.".into() });
        }
        if email.key() == user.email.to_lowercase() {
            return Err(AppError::Validation { field: "email".into(), message: "That is already your address.".into() });
        }
        // Each try may mail someone: a few an hour, counted alike whether the address is free.
        verification::check_resend_rate(&state, s.user_id)?;
        match db::users::by_email_key(&state.db, &email.key()).await? {
            Some(_) if state.recovery.require_verified => verification::warn_owner(&state, &email),
            Some(_) => return Err(AppError::Validation { field: "email".into(), message: "An account with that email already exists.".into() }),
            None => verification::send_link(&state, s.user_id, &user.name, email.as_str()),
        }
        leptos_axum::redirect("/verify-email?sent=1");
        Ok(())
    })
    .await
}
