//! `GET /ws`: the WebSocket upgrade. The session layer has already authenticated the request
//! (access cookie or `Authorization: Bearer`) and the origin guard has refused foreign pages.

use app::models::ws::{CLOSE_TOO_MANY, MAX_CLIENT_FRAME, PROTOCOL_VERSION};
use app::server::auth::CurrentSession;
use app::server::auth::session::access_expiry;
use app::server::hub::connection::{self, Peer};
use app::server::{AppState, db, now_ms};
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use axum::extract::{ConnectInfo, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::time::Duration;

/// Bytes read from a socket at a time (a larger frame grows the buffer).
const READ_BUFFER: usize = 64;

/// Frames queued together are written together up to this many bytes.
const WRITE_BATCH: usize = 4 * 1024;

#[derive(Deserialize)]
pub struct Version {
    v: Option<u32>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
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
            return ws.on_upgrade(move |mut socket| async move {
                let frame = CloseFrame { code: CLOSE_TOO_MANY, reason: Utf8Bytes::from_static(refused.reason()) };
                let _ = socket.send(Message::Close(Some(frame))).await;
            });
        }
    };
    // tungstenite allocates its read buffer per connection (the 128 KiB default made an idle
    // socket cost 166 KiB) and keeps its write buffer at its largest: small ones, grown only
    // by sockets that need them.
    // Only what the connection needs moves into its task, which lives as long as the socket
    // (the whole application state was 336 bytes of every idle socket).
    let (db, hub) = (state.db.clone(), state.hub.clone());
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            // The permit is the socket's place under the caps: held while it is open.
            let _permit = permit;
            connection::serve(socket, db, hub, peer).await
        })
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
