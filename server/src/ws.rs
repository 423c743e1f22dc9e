//! `GET /ws`: the WebSocket upgrade. The session layer has already authenticated the request
//! (access cookie or `Authorization: Bearer`) and the origin guard has refused foreign pages.

use app::models::ws::{CLOSE_TOO_MANY, PROTOCOL_VERSION};
use app::server::auth::CurrentSession;
use app::server::auth::session::access_expiry;
use app::server::hub::Frame;
use app::server::hub::connection::{self, Peer};
use app::server::{AppState, db, now_ms};
use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[derive(Deserialize)]
pub struct Version {
    v: Option<u32>,
}

pub async fn upgrade(
    ws: Upgrade,
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    Query(version): Query<Version>,
    ConnectInfo(client): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if version.v.is_some_and(|v| v != PROTOCOL_VERSION) {
        return (StatusCode::BAD_REQUEST, format!("Unsupported protocol version; this server speaks {PROTOCOL_VERSION}."))
            .into_response();
    }
    let Some(Extension(session)) = session else {
        return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response();
    };
    // The access token may outlive its login (logged out, revoked): the login must be live.
    let user = db::users::by_live_session(&state.db, session.user_id, session.session_id, now_ms()).await;
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) => return (StatusCode::UNAUTHORIZED, "Please sign in first.").into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot load the user for a socket");
            return (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side.").into_response();
        }
    };
    let peer = Peer { user_id: user.id, session_id: session.session_id, name: user.name, expires_at: token_deadline(&state, &headers) };
    // Over a cap: the socket opens only to be closed with a code that says why.
    let permit = match state.hub.sockets.acquire(user.id, client.ip()) {
        Ok(permit) => permit,
        Err(refused) => {
            tracing::warn!(user = user.id, ip = %client.ip(), reason = refused.reason(), "socket refused");
            return ws.on_upgrade(move |mut socket, _| async move {
                let _ = socket.write_all(Frame::close(CLOSE_TOO_MANY, refused.reason()).bytes()).await;
            });
        }
    };
    // Only what the connection needs moves into its task, which lives as long as the socket
    // (the whole application state was 336 bytes of every idle socket).
    let (db, hub) = (state.db.clone(), state.hub.clone());
    ws.on_upgrade(move |socket, read| async move {
        // The permit is the socket's place under the caps: held while it is open.
        let _permit = permit;
        connection::serve(socket, read, db, hub, peer).await
    })
}

/// A request to open a WebSocket (RFC 6455, section 4.2), upgraded here rather than by axum's
/// extractor so that the connection holds the TCP socket itself: frames fanned out to it are
/// written to the socket by their publisher (`app::server::hub::socket`).
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: hyper::upgrade::OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if parts.method != Method::GET {
            return Err((StatusCode::METHOD_NOT_ALLOWED, "A WebSocket opens with GET."));
        }
        let lists = |name: HeaderName, token: &str| {
            parts.headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
        };
        if !lists(header::CONNECTION, "upgrade") || !lists(header::UPGRADE, "websocket") {
            return Err((StatusCode::UPGRADE_REQUIRED, "This address speaks WebSocket only."));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
            return Err((StatusCode::BAD_REQUEST, "Only WebSocket version 13 is spoken here."));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return Err((StatusCode::BAD_REQUEST, "The WebSocket key is missing."));
        };
        let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
            return Err((StatusCode::UPGRADE_REQUIRED, "This connection cannot be upgraded."));
        };
        Ok(Upgrade { key, on_upgrade })
    }
}

impl Upgrade {
    /// Answers 101 and, once the connection is switched, hands `serve` the socket and what was
    /// read past the request.
    fn on_upgrade<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(TcpStream, Vec<u8>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Ok(accept) = HeaderValue::from_str(&tokio_tungstenite::tungstenite::handshake::derive_accept_key(self.key.as_bytes())) else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => return tracing::debug!(error = %e, "the WebSocket upgrade failed"),
            };
            // The accept loop serves TCP sockets (`crate::serve`).
            match upgraded.downcast::<TokioIo<TcpStream>>() {
                Ok(parts) => {
                    // Copied out and let go: the bytes share the HTTP server's read buffer
                    // (8 KiB), which every idle socket would otherwise keep.
                    let hyper::upgrade::Parts { io, read_buf, .. } = parts;
                    let read = read_buf.to_vec();
                    drop(read_buf);
                    serve(io.into_inner(), read).await
                }
                Err(_) => tracing::error!("a WebSocket was upgraded from something other than a TCP socket"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
        response
    }
}

/// When the socket must close: at its access token's expiry. A request authenticated by
/// renewal has just been given a fresh token.
fn token_deadline(state: &AppState, headers: &HeaderMap) -> tokio::time::Instant {
    let now_secs = now_ms() / 1000;
    let remaining = match access_expiry(state, headers) {
        Some(exp) => Duration::from_secs(exp.saturating_sub(now_secs).max(0) as u64),
        None => state.auth.access_ttl,
    };
    tokio::time::Instant::now() + remaining
}

/// `POST /auth/renew`: 204 when signed in (the session layer has renewed the cookies if the
/// access token had expired), 401 otherwise. The chat client calls it before reconnecting.
pub async fn renew(session: Option<Extension<CurrentSession>>) -> StatusCode {
    match session {
        Some(_) => StatusCode::NO_CONTENT,
        None => StatusCode::UNAUTHORIZED,
    }
}
