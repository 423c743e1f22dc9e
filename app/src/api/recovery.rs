//! Account recovery: asking for a password reset link and using it.

use crate::models::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::{
    models::Email,
    server::{auth::recovery, auth::verification, ctx, db},
};

/// Mails a reset link to `email` if an account has it. The answer is the same either way.
#[server(endpoint = "forgot_password", output = crate::api::codec::Json)]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let email = Email::parse(&email)?;
        state.recovery.check_rate(&ctx::client_ip(), &email.key())?;
        recovery::request_reset(&state, email);
        leptos_axum::redirect("/forgot-password?sent=1");
        Ok(())
    })
    .await
}

/// Whether the reset link this browser opened still works.
#[server(endpoint = "reset_link", output = crate::api::codec::Json)]
pub async fn reset_link() -> Result<bool, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        recovery::reset_link_works(&state, ctx::cookie(recovery::RESET_COOKIE).as_deref()).await
    })
    .await
}

/// Sets a new password with the reset link this browser opened; every login of the account
/// ends. Then the person signs in with it.
#[server(endpoint = "reset_password", output = crate::api::codec::Json)]
pub async fn reset_password(new_password: String, confirm_password: String) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let token = ctx::cookie(recovery::RESET_COOKIE);
        recovery::reset_password(&state, token.as_deref(), &new_password, &confirm_password).await?;
        ctx::set_cookies(&[recovery::reset_cookie(&state.auth, None)]);
        leptos_axum::redirect("/login?reset=done");
        Ok(())
    })
    .await
}

/// Mails the signed-in user a new link confirming their address.
#[server(endpoint = "resend_verification", output = crate::api::codec::Json)]
pub async fn resend_verification() -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        verification::check_resend_rate(&state, s.user_id)?;
        let user = db::users::by_id(&state.db, s.user_id).await?.ok_or(AppError::Unauthorized)?;
        verification::send_link(&state, user.id, &user.name, &user.email);
        leptos_axum::redirect("/verify-email?sent=1");
        Ok(())
    })
    .await
}
