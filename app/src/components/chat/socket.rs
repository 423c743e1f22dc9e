//! The browser's end of `/ws`: connect, apply every frame to the tab's state, send what the
//! pages queue, and reconnect with backoff. Closed because the access token expired
//! (code 4001), it renews the token over HTTP first; the user notices nothing.

use super::ChatLive;
use super::state::{Followup, Status};
use crate::models::ws::{CLOSE_TOKEN_EXPIRED, ClientMsg, PROTOCOL_VERSION, ServerMsg};
use futures::channel::mpsc;
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use leptos::prelude::*;
use std::time::Duration;

/// Why a connection ended.
enum Ended {
    /// Closed by the server because the access token expired.
    TokenExpired,
    /// Anything else: network, server restart.
    Lost,
}

/// Opens the socket. Its code (the socket, the reading of every server frame into the tab's
/// state, the writing of client frames) is a module of its own, fetched on this first call:
/// pages are interactive without it, so it is not part of any page's first load.
#[leptos::lazy]
pub fn start(live: ChatLive) {
    leptos::task::spawn_local(run(live));
    // Typing indicators end by themselves.
    let _ = set_interval_with_handle(
        move || live.state.update(|s| s.expire_typing(js_sys::Date::now())),
        Duration::from_secs(1),
    );
}

async fn run(live: ChatLive) {
    let mut backoff_ms: u64 = 500;
    loop {
        live.state.update(|s| s.status = Status::Connecting);
        let ended = match WebSocket::open(&socket_url()) {
            Ok(ws) => connection(live, ws).await,
            Err(_) => Ended::Lost,
        };
        live.outgoing.set_value(None);
        live.state.update(|s| s.status = Status::Offline);
        if let Ended::TokenExpired = ended {
            if !renew().await {
                return; // Signed out: nothing to reconnect as.
            }
            backoff_ms = 500;
            continue;
        }
        // Half the backoff plus a random half: when a server restarts (1012) its clients come
        // back spread out, not all at once.
        sleep(backoff_ms / 2 + (js_sys::Math::random() * (backoff_ms / 2) as f64) as u64).await;
        backoff_ms = (backoff_ms * 2).min(10_000);
        // A refused upgrade or an ended login looks like a lost connection: renewing covers an
        // expired token, and a 401 means signed out, with nothing to reconnect as.
        if !renew().await {
            return;
        }
    }
}

async fn connection(live: ChatLive, ws: WebSocket) -> Ended {
    let (mut write, mut read) = ws.split();
    let (tx, mut rx) = mpsc::unbounded::<ClientMsg>();
    live.outgoing.set_value(Some(tx));
    let writer = async move {
        while let Some(msg) = rx.next().await {
            let Ok(json) = serde_json::to_string(&msg) else { continue };
            if write.send(Message::Text(json)).await.is_err() {
                break;
            }
        }
        Ended::Lost
    };
    let reader = async move {
        while let Some(frame) = read.next().await {
            match frame {
                Ok(Message::Text(text)) => receive(live, &text),
                Ok(Message::Bytes(_)) => {}
                Err(WebSocketError::ConnectionClose(e)) if e.code == CLOSE_TOKEN_EXPIRED => return Ended::TokenExpired,
                Err(_) => return Ended::Lost,
            }
        }
        Ended::Lost
    };
    futures::select! {
        ended = reader.fuse() => ended,
        ended = writer.fuse() => ended,
    }
}

fn receive(live: ChatLive, text: &str) {
    let Ok(msg) = serde_json::from_str::<ServerMsg>(text) else {
        leptos::logging::warn!("unreadable frame from the server");
        return;
    };
    let welcome = matches!(msg, ServerMsg::Welcome { .. }).then(|| msg.clone());
    let followup = live.state.try_update(|s| s.apply(msg, js_sys::Date::now())).unwrap_or(Followup::None);
    match followup {
        Followup::Sync(rooms) => {
            if !rooms.is_empty() {
                live.send(ClientMsg::Sync { rooms });
            }
        }
        Followup::DirectMessage { from, body } => notify(&from, &body),
        Followup::Call(msg) => live.to_call(*msg),
        Followup::None => {}
    }
    if let Some(welcome) = welcome {
        // A call this tab is in takes its seat back.
        live.to_call(welcome);
        // Whatever was typed while offline goes now; the server drops any it already has.
        for (room, p) in live.state.with_untracked(|s| s.unacked()) {
            live.send(ClientMsg::Send { room, client_id: p.client_id, body: p.body });
        }
    }
}

fn socket_url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws?v={PROTOCOL_VERSION}")
}

/// Renews the access token; false when the user is signed out.
async fn renew() -> bool {
    match gloo_net::http::Request::post("/auth/renew").send().await {
        Ok(res) => res.status() != 401,
        Err(_) => true,
    }
}

async fn sleep(ms: u64) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    set_timeout(move || { let _ = tx.send(()); }, Duration::from_millis(ms));
    let _ = rx.await;
}

/// A system notification for a direct message, only while this tab is hidden and only if the
/// user allowed it (asked on a click, never on load).
fn notify(from: &str, body: &str) {
    use web_sys::{Notification, NotificationOptions, NotificationPermission};
    if !document().hidden() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(&body.chars().take(140).collect::<String>());
    let _ = Notification::new_with_options(&format!("{from} (Huddle)"), &options);
}

/// Asks for permission to show notifications (call from a click handler).
pub fn ask_notification_permission() {
    let _ = web_sys::Notification::request_permission();
}
