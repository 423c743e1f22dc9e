//! What a server function needs from the request it serves: state, session, cookies, client.

use super::AppState;
use super::auth::CurrentSession;
use crate::models::AppError;
use axum::extract::ConnectInfo;
use http::header::{ACCEPT, RETRY_AFTER, SET_COOKIE, USER_AGENT};
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::net::SocketAddr;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The signed-in user's session, if any.
pub fn session() -> Option<CurrentSession> {
    parts()?.extensions.get::<CurrentSession>().copied()
}

pub fn require_session() -> Result<CurrentSession, AppError> {
    session().ok_or(AppError::Unauthorized)
}

/// The client's IP address as the socket saw it.
pub fn client_ip() -> String {
    parts()
        .and_then(|p| p.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()))
        .unwrap_or_else(|| "unknown".into())
}

/// The client's `User-Agent`, shortened for storage.
pub fn user_agent() -> String {
    let ua = parts().and_then(|p| p.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned));
    ua.unwrap_or_default().chars().take(200).collect()
}

/// The origin users reach the site at: the configured public URL, else the scheme and `Host`
/// this request came with (a `Host` that is not a plain host name is ignored).
pub fn site_origin(state: &AppState) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = parts().and_then(|p| p.headers.get(http::header::HOST).and_then(|v| v.to_str().ok()).map(str::to_owned));
    let plain = |h: &str| !h.is_empty() && h.len() <= 255 && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    let scheme = if state.auth.secure_cookies { "https" } else { "http" };
    match host {
        Some(h) if plain(&h) => format!("{scheme}://{h}"),
        _ => String::new(),
    }
}

/// Adds `Set-Cookie` headers to the response.
pub fn set_cookies(values: &[String]) {
    if let Some(res) = use_context::<ResponseOptions>() {
        for v in values.iter().filter_map(|v| HeaderValue::try_from(v.as_str()).ok()) {
            res.append_header(SET_COOKIE, v);
        }
    }
}

/// Runs a server function body. On error, a direct HTTP call (not a plain form post, which is
/// redirected back to its page, nor an in-process call while rendering a page) gets the
/// error's status code, and `Retry-After` when throttled.
pub async fn run<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let (Err(e), Some(parts), Some(res)) = (&result, parts(), use_context::<ResponseOptions>()) {
        let form_post = parts.headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"));
        let api_call = parts.uri.path().starts_with("/api/");
        if let AppError::RateLimited { retry_after_secs } = e {
            res.insert_header(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        if api_call && !form_post {
            res.set_status(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    result
}
