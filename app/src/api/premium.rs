//! Premium: its status with the order history, and starting an order.

use crate::models::AppError;
use crate::models::premium::{Leaderboard, PremiumView, SavedReport};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::{ctx, premium};

/// The signed-in user's premium status, the price, and their orders.
#[server(endpoint = "premium_status", output = crate::api::codec::Json)]
pub async fn premium_status() -> Result<PremiumView, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        premium::view(&state, s.user_id).await
    })
    .await
}

/// Creates an order for the configured price and sends the browser to its checkout.
#[server(endpoint = "go_premium", output = crate::api::codec::Json)]
pub async fn go_premium() -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        let checkout = premium::start(&state, s.user_id).await?;
        leptos_axum::redirect(&checkout);
        Ok(())
    })
    .await
}

/// The spending leaderboard; `None` when the user is not premium.
#[server(endpoint = "leaderboard", output = crate::api::codec::Json)]
pub async fn get_leaderboard() -> Result<Option<Leaderboard>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        premium::leaderboard(&state, s.user_id).await
    })
    .await
}

/// Whether the user appears on the leaderboard (a checkbox: absent means no).
#[server(endpoint = "set_leaderboard", output = crate::api::codec::Json)]
pub async fn set_leaderboard(show: Option<String>) -> Result<(), AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        crate::server::db::totals::set_on_leaderboard(&state.db, s.user_id, show.is_some()).await?;
        Ok(())
    })
    .await
}

/// The user's kept CSV exports, newest first; `None` when the user is not premium.
#[server(endpoint = "saved_reports", output = crate::api::codec::Json)]
pub async fn saved_reports() -> Result<Option<Vec<SavedReport>>, AppError> {
    ctx::run(async move {
        let state = ctx::state()?;
        let s = ctx::require_session()?;
        crate::server::saved_reports::list(&state, s.user_id).await
    })
    .await
}
