//! The reference for the chat benchmark: a minimal axum/tokio WebSocket room-broadcast server
//! that stores nothing. It speaks just enough of Huddle's protocol for `bench_chat` to drive it
//! exactly as it drives Huddle: `GET /ws?room=<id>` opens a socket in a room (no sign-in), the
//! `welcome` frame comes first, and each `send` is answered with an `ack` to its sender and a
//! `message` to every socket in the room (the sender's included), numbered per room.
//!
//! It is the idiomatic shape of such a server (the axum chat example's): one
//! `tokio::sync::broadcast` channel per room, one task per socket that writes what the channel
//! yields and reads what the client sends. Every figure of `bench_chat --reference` is a
//! ratio to it.
//!
//! `cargo run -p server --release --example ref_broadcast -- 127.0.0.1:4100`

use app::models::chat::ChatMessage;
use app::models::ws::{ClientMsg, ServerMsg};
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// A room: its channel and its next position.
struct Room {
    frames: broadcast::Sender<Utf8Bytes>,
    seq: AtomicI64,
}

#[derive(Default)]
struct Rooms(Mutex<HashMap<i64, Arc<Room>>>);

impl Rooms {
    fn get(&self, id: i64) -> Arc<Room> {
        let mut rooms = self.0.lock().unwrap();
        rooms.entry(id).or_insert_with(|| Arc::new(Room { frames: broadcast::channel(1024).0, seq: AtomicI64::new(0) })).clone()
    }
}

#[derive(serde::Deserialize)]
struct Join {
    room: i64,
}

async fn upgrade(ws: WebSocketUpgrade, Query(join): Query<Join>, State(rooms): State<Arc<Rooms>>) -> Response {
    let room = rooms.get(join.room);
    ws.on_upgrade(move |socket| serve(socket, join.room, room))
}

static NEXT_USER: AtomicI64 = AtomicI64::new(1);

async fn serve(socket: WebSocket, room_id: i64, room: Arc<Room>) {
    let user = NEXT_USER.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let mut frames = room.frames.subscribe();
    let welcome = serde_json::to_string(&ServerMsg::Welcome { protocol: 1, user_id: user }).unwrap();
    if sink.send(Message::Text(welcome.into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    if sink.send(Message::Text(frame)).await.is_err() {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = stream.next() => {
                let Some(Ok(Message::Text(text))) = incoming else {
                    match incoming {
                        Some(Ok(_)) => continue,
                        _ => return,
                    }
                };
                let Ok(ClientMsg::Send { room: _, client_id, body }) = serde_json::from_str::<ClientMsg>(text.as_str()) else { continue };
                let seq = room.seq.fetch_add(1, Ordering::Relaxed) + 1;
                let message = ChatMessage {
                    id: seq,
                    room: room_id,
                    seq,
                    change: seq,
                    sender_id: user,
                    sender_name: format!("user {user}"),
                    client_id: client_id.clone(),
                    body,
                    created_at: 0,
                    edited_at: None,
                    deleted_at: None,
                    card: None,
                };
                let ack = serde_json::to_string(&ServerMsg::Ack { client_id, message: message.clone() }).unwrap();
                let _ = room.frames.send(serde_json::to_string(&ServerMsg::Message { message }).unwrap().into());
                if sink.send(Message::Text(ack.into())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:4100".into());
    let app = axum::Router::new().route("/ws", axum::routing::get(upgrade)).with_state(Arc::new(Rooms::default()));
    let listener = tokio::net::TcpListener::bind(&addr).await.unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    // Huddle sets TCP_NODELAY on its sockets; so does the reference, or Nagle would decide.
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper_util::service::TowerToHyperService::new(app);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
