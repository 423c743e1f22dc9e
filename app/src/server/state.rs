//! The state every handler and server function reaches.

use super::auth::recovery::Recovery;
use super::auth::revoked::RevokedLogins;
use super::auth::{AuthConfig, LoginThrottle, AddressRate};
use super::db::Db;
use super::hub::Hub;
use crate::models::money::Currency;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub auth: Arc<AuthConfig>,
    pub throttle: Arc<LoginThrottle>,
    pub signups: Arc<AddressRate>,
    /// Browser failure reports per address.
    pub client_reports: Arc<AddressRate>,
    /// Changes to rooms' shared expenses per user (bills, payments, edits, deletes).
    pub ledger_writes: Arc<super::hub::limits::KeyedRate<i64>>,
    /// The currency new accounts start with.
    pub default_currency: &'static Currency,
    /// Realtime fan-out to WebSocket connections.
    pub hub: Hub,
    pub leptos_options: LeptosOptions,
    /// `https://host` as users reach the site (`HUDDLE_PUBLIC_URL`), for links shown in full;
    /// without it, the origin each request came to.
    pub public_url: Option<std::sync::Arc<str>>,
    /// Logins ended within an access token's lifetime: their access tokens are refused.
    pub revoked: Arc<RevokedLogins>,
    /// Outgoing mail and the password reset links it carries.
    pub recovery: Arc<Recovery>,
    /// Premium through payment orders.
    pub payments: Arc<super::premium::Payments>,
    /// Kept CSV exports of premium accounts.
    pub saved_reports: Arc<super::saved_reports::SavedReports>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
