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

/// The request a server function serves, taken from the reactive context when its body
/// starts and kept for the whole body (see [`run`]).
#[derive(Clone)]
struct Request {
    state: Option<AppState>,
    parts: Option<Parts>,
    response: Option<ResponseOptions>,
}

tokio::task_local! {
    static REQUEST: Request;
}

/// `T` from the reactive context, else from the body of [`run`] this is called in.
fn from_request<T: Clone + Send + Sync + 'static>(pick: impl Fn(&Request) -> Option<T>) -> Option<T> {
    use_context::<T>().or_else(|| REQUEST.try_with(|r| pick(r)).ok().flatten())
}

pub fn state() -> Result<AppState, AppError> {
    from_request(|r| r.state.clone()).ok_or_else(|| {
        tracing::error!("AppState missing from context");
        AppError::Internal
    })
}

fn parts() -> Option<Parts> {
    from_request(|r| r.parts.clone())
}

fn response() -> Option<ResponseOptions> {
    from_request(|r| r.response.clone())
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

/// The value of the request's cookie `name`.
pub fn cookie(name: &str) -> Option<String> {
    let parts = parts()?;
    super::auth::cookies::read(&parts.headers, name).map(str::to_owned)
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
    if let Some(res) = response() {
        for v in values.iter().filter_map(|v| HeaderValue::try_from(v.as_str()).ok()) {
            res.append_header(SET_COOKIE, v);
        }
    }
}

/// Runs a server function body. On error, a direct HTTP call (not a plain form post, which is
/// redirected back to its page, nor an in-process call while rendering a page) gets the
/// error's status code, and `Retry-After` when throttled.
///
/// The request is read from the reactive context once, as the body starts, and kept with the
/// body: while a page renders, Leptos' `Suspense` may build a page twice and drop the first
/// copy's reactive owner while that copy's data is still loading. Its server functions then
/// lost their request after their first `.await` and failed; the page's serialized data kept
/// the failure and the browser, reading it, could not hydrate the page.
pub async fn run<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let request = Request { state: from_request(|r| r.state.clone()), parts: parts(), response: response() };
    let result = REQUEST.scope(request.clone(), body).await;
    if let (Err(e), Some(parts), Some(res)) = (&result, request.parts, request.response) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{Owner, provide_context};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// A page's data loading whose reactive owner is dropped mid-way (as `Suspense` does with a
    /// page it built twice) still knows whose request it serves after its first `.await`.
    #[tokio::test]
    async fn a_body_keeps_its_request_after_its_owner_is_gone() {
        let owner = Owner::new();
        let mut parts = http::Request::new(()).into_parts().0;
        parts.extensions.insert(CurrentSession { user_id: 7, session_id: 1 });
        owner.with(|| provide_context(parts));
        let (resume, resumed) = futures::channel::oneshot::channel::<()>();
        let mut body = pin!(run(async move {
            let before = require_session()?.user_id;
            let _ = resumed.await;
            Ok((before, require_session()?.user_id))
        }));
        // The body starts inside the owner, as a resource's fetch does.
        let first = owner.with(|| body.as_mut().poll(&mut Context::from_waker(Waker::noop())));
        assert!(matches!(first, Poll::Pending));
        owner.cleanup();
        drop(owner);
        assert_eq!(use_context::<Parts>().map(|_| ()), None, "no reactive context is left");
        resume.send(()).unwrap();
        assert_eq!(body.await, Ok((7, 7)));
    }
}
