//! One WebSocket connection: a reader that handles the client's frames and a writer that
//! writes answers and fanned-out events, run side by side in the connection's one task. When
//! either ends, both end, and the connection's subscriptions and presence are cleaned up on
//! every exit path.

use super::fanout::{Inbox, Outbox};
use super::socket::{Frame, ReadSide};
use super::{Event, Hub, Joining, Topic, encode};
use crate::models::AppError;
use crate::models::ws::{CLOSE_RESUBSCRIBE, CLOSE_SERVICE_RESTART, CLOSE_SIGNED_OUT, CLOSE_TOKEN_EXPIRED, ClientMsg, ErrorCode, RoomCursor, ServerMsg, parse_client_frame, MAX_CLIENT_FRAME, PROTOCOL_VERSION};
use crate::server::db::{self, Db};
use crate::server::metrics;
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// Messages one `sync` frame replays at most, over all its rooms.
const REPLAY_PAGE: i64 = 200;

/// A `sync` costs one more frame of the rate budget per this many rooms.
const SYNC_ROOMS_PER_FRAME: usize = 10;

/// Frames written together when several are waiting.
const BATCH: usize = 64;

/// Bytes read from a socket at a time (a larger frame grows the buffer).
const READ_BUFFER: usize = 64;

/// Call signals have a budget of their own: setting up a call trickles dozens of ICE candidates
/// at once, which must not eat the chat's budget, and a flood is still refused.
const SIGNAL_RATE: f64 = 50.0;
const SIGNAL_BURST: f64 = 200.0;

/// Who is on the other end, established at the upgrade.
#[derive(Debug, Clone)]
pub struct Peer {
    pub user_id: i64,
    /// The login the socket was opened with: it closes when that login ends.
    pub session_id: i64,
    pub name: String,
    /// When the access token behind the connection expires: the socket closes then.
    pub expires_at: tokio::time::Instant,
}

/// The rooms this connection is subscribed to; the writer changes it as the user joins and
/// leaves, the reader checks it. Never held across an `.await`.
type Rooms = Arc<Mutex<HashSet<i64>>>;

/// Serves one authenticated socket until it closes or its token expires. `read` is what the
/// HTTP server read past the upgrade request.
pub async fn serve(socket: TcpStream, read: Vec<u8>, db: Db, hub: Hub, peer: Peer) {
    let conn_id = hub.next_conn_id();
    // The welcome goes first, once this task starts writing, after subscribing: a client that
    // has its welcome is subscribed to its rooms.
    let welcome = encode(&ServerMsg::Welcome { protocol: PROTOCOL_VERSION, user_id: peer.user_id }).unwrap_or_else(|| Frame::text("{}"));
    let (outbox, mut inbox, read_side) = Outbox::on_socket(conn_id, hub.queue_capacity, socket, &welcome, hub.hot.frames_out.clone());
    // The codec reads; writing is ours (`super::socket`). A small read buffer, grown only by a
    // socket that needs it (tungstenite's 128 KiB default made an idle socket cost 166 KiB).
    // On the heap: this future lives as long as the connection and does not carry it twice.
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER).max_message_size(Some(MAX_CLIENT_FRAME)).max_frame_size(Some(MAX_CLIENT_FRAME));
    let stream = Box::pin(Box::pin(WebSocketStream::from_partially_read(read_side, read, Role::Server, Some(config))).await);
    // Futures that await the database are large; boxed, they take memory only while they run,
    // not for as long as the connection lives (idle sockets are most sockets).
    let rooms = match Box::pin(subscribe(&db, &hub, &outbox, peer.user_id)).await {
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::error!(error = %e, "cannot load the user's rooms");
            hub.fanout().unsubscribe(Topic::User(peer.user_id), conn_id);
            inbox.close();
            return;
        }
    };
    if hub.fanout().connected(peer.user_id) {
        announce(&hub, &rooms, peer.user_id, true);
    }
    // Opened while the process stops: told to go elsewhere at once (`Hub::stop` reached only
    // the connections subscribed before it).
    if hub.is_stopping() {
        outbox.offer(&Event::Restart);
    }
    let reader = Reader {
        db,
        hub: hub.clone(),
        peer: peer.clone(),
        rooms: rooms.clone(),
        direct: outbox.clone(),
        limiter: RateLimiter::new(10.0, 20.0),
        signals: RateLimiter::new(SIGNAL_RATE, SIGNAL_BURST),
    };
    // One task, two halves polled side by side: the writer drains the queue while the reader
    // waits for room in it. Both futures are built inside `select!`: built outside and moved
    // in, each took its space twice in this future for as long as the connection lived.
    tokio::select! {
        _ = write_loop(&mut inbox, &hub, &outbox, &rooms, &peer) => {}
        _ = reader.run(stream) => {}
    }
    inbox.close();

    // A seat in a call waits a while for this tab to come back.
    hub.calls.disconnected(conn_id);
    let subscribed: Vec<i64> = rooms.lock().map(|r| r.iter().copied().collect()).unwrap_or_default();
    for room in &subscribed {
        hub.fanout().unsubscribe(Topic::Room(*room), conn_id);
    }
    hub.fanout().unsubscribe(Topic::User(peer.user_id), conn_id);
    if hub.fanout().disconnected(peer.user_id) {
        announce(&hub, &rooms, peer.user_id, false);
    }
}

/// Subscribes before anything is announced, so no event for this user is missed.
async fn subscribe(db: &Db, hub: &Hub, outbox: &Outbox, user: i64) -> Result<Rooms, sqlx::Error> {
    hub.fanout().subscribe(Topic::User(user), outbox);
    let rooms = db::chat::rooms_and_changes_of(db, user).await?;
    for &(room, baseline) in &rooms {
        hub.fanout().subscribe_room(room, baseline, outbox);
    }
    Ok(Arc::new(Mutex::new(rooms.into_iter().map(|(room, _)| room).collect())))
}

/// Tells everyone sharing a room with `user_id` that they came online or went offline: one
/// frame per connection, however many rooms they share.
fn announce(hub: &Hub, rooms: &Rooms, user_id: i64, online: bool) {
    let topics: Vec<Topic> = rooms.lock().map(|r| r.iter().map(|&room| Topic::Room(room)).collect()).unwrap_or_default();
    hub.publish_once(&topics, &ServerMsg::Presence { user_id, online });
}

/// One frame naming the contacts online now (one frame, not one per contact: a burst would
/// stay allocated in the queue and the socket's write buffer for the connection's lifetime).
async fn send_presence_snapshot(db: &Db, hub: &Hub, direct: &Outbox, user: i64) {
    let contacts = db::chat::contacts_of(db, user).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot load contacts for presence");
        Vec::new()
    });
    if let Some(frame) = encode(&ServerMsg::Online { user_ids: hub.online(&contacts) }) {
        direct.send(frame).await;
    }
}

/// Writes what the connection's queue holds and what publishers left on its socket, until the
/// connection is to close (its close frame written) or the socket is gone.
async fn write_loop(inbox: &mut Inbox, hub: &Hub, outbox: &Outbox, rooms: &Rooms, peer: &Peer) {
    let expiry = tokio::time::sleep_until(peer.expires_at);
    tokio::pin!(expiry);
    loop {
        let closing = tokio::select! {
            biased;
            () = inbox.ready() => take(inbox, hub, outbox, rooms, peer.session_id),
            () = &mut expiry => close(inbox, CLOSE_TOKEN_EXPIRED, "token expired"),
        };
        // What the socket does not take at once goes out as it drains; a token that expires
        // meanwhile ends the wait (a client that stopped reading holds nothing here for long).
        let drained = tokio::select! {
            biased;
            drained = inbox.drain() => drained,
            () = &mut expiry, if !closing => false,
        };
        if closing || !drained {
            return;
        }
    }
}

/// Moves what waits in the queue onto the socket's write side, to go out in one write: frames
/// as they are, membership changes applied. True when the connection is to close (its close
/// frame goes last).
fn take(inbox: &mut Inbox, hub: &Hub, outbox: &Outbox, rooms: &Rooms, session: i64) -> bool {
    let Some(mut out) = inbox.writing() else { return true };
    let (mut written, mut closing) = (0, None);
    for _ in 0..BATCH {
        let Some(event) = out.pop() else { break };
        match event {
            Event::SignedOut(logins) if logins.include(session) => closing = Some((CLOSE_SIGNED_OUT, "signed out")),
            Event::Restart => closing = Some((CLOSE_SERVICE_RESTART, "service restart")),
            event => {
                if let Some(frame) = follow(hub, outbox, rooms, event) {
                    out.put(&frame);
                    written += 1;
                }
            }
        }
        if closing.is_some() {
            break;
        }
    }
    if out.take_lagged() {
        metrics::resync();
        if let Some(resync) = encode(&ServerMsg::Resync) {
            out.put(&resync);
            written += 1;
        }
    }
    if closing.is_none() && out.is_stale() {
        closing = Some((CLOSE_RESUBSCRIBE, "reconnect"));
    }
    out.count(written);
    if let Some((code, reason)) = closing {
        out.put(&Frame::close(code, reason));
    }
    closing.is_some()
}

/// Puts a close frame on the socket's write side; true (the connection is to close).
fn close(inbox: &mut Inbox, code: u16, reason: &'static str) -> bool {
    if let Some(mut out) = inbox.writing() {
        out.put(&Frame::close(code, reason));
    }
    true
}

/// Applies a membership change to this connection's subscriptions; returns the frame to send.
fn follow(hub: &Hub, outbox: &Outbox, rooms: &Rooms, event: Event) -> Option<Frame> {
    // Frames are the hot path: only membership changes touch the room set.
    match event {
        Event::Frame(frame) => Some(frame),
        Event::SignedOut(_) | Event::Restart => None,
        Event::Joined(joining) => {
            let Joining { room, baseline } = *joining;
            rooms.lock().ok()?.insert(room);
            hub.fanout().subscribe_room(room, baseline, outbox);
            encode(&ServerMsg::RoomChanged { room })
        }
        Event::Left(room) => {
            rooms.lock().ok()?.remove(&room);
            hub.fanout().unsubscribe(Topic::Room(room), outbox.id);
            encode(&ServerMsg::RoomLeft { room })
        }
    }
}

/// The receive side: parses each frame and answers it.
struct Reader {
    db: Db,
    hub: Hub,
    peer: Peer,
    rooms: Rooms,
    /// This connection's own queue, for answers meant for it alone.
    direct: Outbox,
    limiter: RateLimiter,
    /// The budget of `call_signal` frames.
    signals: RateLimiter,
}

impl Reader {
    /// Tells the client who is online, then answers its frames until it closes.
    async fn run(mut self, mut stream: std::pin::Pin<Box<WebSocketStream<ReadSide>>>) {
        Box::pin(send_presence_snapshot(&self.db, &self.hub, &self.direct, self.peer.user_id)).await;
        while let Some(Ok(frame)) = stream.next().await {
            self.hub.hot.frames_in.increment(1);
            let text = match frame {
                Message::Text(t) => t,
                Message::Binary(_) => {
                    self.refuse(ErrorCode::BadFrame, "Frames are JSON text.", None).await;
                    continue;
                }
                Message::Close(_) => return,
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
            // The budget is chosen before parsing, so a flood is refused for the price of a
            // prefix check. Every client writes `type` first (serde does); a frame that puts it
            // elsewhere is charged to the general budget, which is the stricter one.
            let (budget, limit) = match text.as_str().starts_with(r#"{"type":"call_signal""#) {
                true => (&mut self.signals, "Slow down: at most 50 call signals a second."),
                false => (&mut self.limiter, "Slow down: at most 10 frames a second."),
            };
            if !budget.allow(Instant::now(), 1.0) {
                self.refuse(ErrorCode::RateLimited, limit, None).await;
                continue;
            }
            match parse_client_frame(text.as_str()) {
                Ok(msg) => Box::pin(self.handle(msg)).await,
                Err((code, message)) => self.refuse(code, message, None).await,
            }
        }
    }

    /// Boxed: a refusal is rare, and its future (a frame and a queue send) would otherwise take
    /// its size in the reader's state for as long as the connection lives.
    fn refuse(&self, code: ErrorCode, message: impl Into<String>, client_id: Option<String>) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(self.reply(ServerMsg::Error { code, message: message.into(), client_id }))
    }

    async fn reply(&self, msg: ServerMsg) {
        if let Some(frame) = encode(&msg) {
            self.direct.send(frame).await;
        }
    }

    fn is_member(&self, room: i64) -> bool {
        self.rooms.lock().is_ok_and(|r| r.contains(&room))
    }

    async fn handle(&mut self, msg: ClientMsg) {
        let user = self.peer.user_id;
        match msg {
            ClientMsg::Send { room, client_id, body } => {
                match super::store(&self.hub, user, &self.peer.name, room, &client_id, &body).await {
                    // Committed: the sender hears first, then the room. The ack waits for
                    // this task's next write, which carries this socket's copy of the post too:
                    // one write to the sender instead of two.
                    Ok(sent) => {
                        if let Some(ack) = encode(&ServerMsg::Ack { client_id, message: sent.message().clone() }) {
                            self.direct.send_with_next(ack).await;
                        }
                        if let super::Sent::New(message) = &sent {
                            self.hub.fan_out(message);
                        }
                    }
                    Err(e) => self.refuse_app_error(e, ErrorCode::NotMember, Some(client_id)).await,
                }
            }
            ClientMsg::Edit { message_id, body } => {
                if let Err(e) = super::edit(&self.db, &self.hub, user, message_id, &body).await {
                    self.refuse_app_error(e, ErrorCode::NotYours, None).await;
                }
            }
            ClientMsg::Delete { message_id } => {
                if let Err(e) = super::delete(&self.db, &self.hub, user, message_id).await {
                    self.refuse_app_error(e, ErrorCode::NotYours, None).await;
                }
            }
            ClientMsg::Typing { room } => self.typing(room).await,
            ClientMsg::Read { room, seq } => {
                if let Err(e) = super::mark_read(&self.db, &self.hub, user, room, seq).await {
                    self.refuse_app_error(e, ErrorCode::NotMember, None).await;
                }
            }
            ClientMsg::Sync { rooms } => self.sync(rooms).await,
            ClientMsg::Ping => self.reply(ServerMsg::Pong).await,
            call => self.call(call).await,
        }
    }

    /// The call frames: each answered with an `error` when refused, else by what it causes
    /// (here, or on the node running the call).
    async fn call(&mut self, msg: ClientMsg) {
        let caller = super::calls::Caller { user_id: self.peer.user_id, name: &self.peer.name, outbox: &self.direct };
        match Box::pin(self.hub.calls.clone().from_tab(caller, msg)).await {
            Ok(Some(answer)) => self.reply(answer).await,
            Ok(None) => {}
            Err((code, message)) => self.refuse(code, message, None).await,
        }
    }

    /// Maps a refusal to its frame; `missing` says what "not found" means for this request.
    async fn refuse_app_error(&self, e: AppError, missing: ErrorCode, client_id: Option<String>) {
        let code = match &e {
            AppError::Validation { .. } => ErrorCode::Invalid,
            AppError::NotFound | AppError::Forbidden => missing,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            _ => ErrorCode::Internal,
        };
        let message = match code {
            ErrorCode::NotMember => "That room does not exist or you are not a member.".to_string(),
            ErrorCode::NotYours => "That message does not exist or is not yours.".to_string(),
            _ => e.to_string(),
        };
        self.refuse(code, message, client_id).await;
    }

    async fn typing(&self, room: i64) {
        if !self.is_member(room) {
            return self.refuse(ErrorCode::NotMember, "That room does not exist or you are not a member.", None).await;
        }
        let msg = ServerMsg::Typing { room, user_id: self.peer.user_id, name: self.peer.name.clone() };
        self.hub.publish(Topic::Room(room), &msg);
    }

    /// Replays what each room changed after its cursor, from the database. One cursor counts
    /// per room (the oldest given), never more rooms than the user's; a sync of many rooms costs
    /// more of the rate budget; one sync replays at most [`REPLAY_PAGE`] messages in all, and a
    /// room not replayed to its end says `complete: false`, so the client asks again from there
    /// (paged as history is).
    async fn sync(&mut self, cursors: Vec<RoomCursor>) {
        let mut wanted = std::collections::BTreeMap::new();
        for c in cursors {
            wanted.entry(c.room).and_modify(|after: &mut i64| *after = (*after).min(c.after)).or_insert(c.after);
        }
        let rooms = self.rooms.lock().map(|r| r.len()).unwrap_or(0);
        if wanted.len() > rooms.max(1) {
            return self.refuse(ErrorCode::Invalid, "A sync names more rooms than you are in.", None).await;
        }
        let extra = (wanted.len() / SYNC_ROOMS_PER_FRAME) as f64;
        if extra > 0.0 && !self.limiter.allow(Instant::now(), extra) {
            return self.refuse(ErrorCode::RateLimited, "Slow down: a sync of many rooms counts as several frames.", None).await;
        }
        let mut budget = REPLAY_PAGE;
        for (room, after) in wanted {
            budget -= self.replay(RoomCursor { room, after }, budget).await;
        }
        metrics::sync((REPLAY_PAGE - budget) as u64);
    }

    /// Sends up to `budget` changes of one room after its cursor; returns how many it sent.
    async fn replay(&self, cursor: RoomCursor, budget: i64) -> i64 {
        if !self.is_member(cursor.room) {
            self.refuse(ErrorCode::NotMember, "That room does not exist or you are not a member.", None).await;
            return 0;
        }
        let page = match budget {
            0 => Vec::new(),
            _ => match db::chat::changes_after(&self.db, cursor.room, cursor.after, budget).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, "replay failed");
                    self.refuse(ErrorCode::Internal, AppError::Internal.to_string(), None).await;
                    return 0;
                }
            },
        };
        let sent = page.len() as i64;
        let complete = sent < budget;
        let next = (!complete).then(|| page.last().map_or(cursor.after, |m| m.change));
        self.reply(ServerMsg::Replay { room: cursor.room, messages: page, complete, next }).await;
        sent
    }
}

/// A token bucket: `rate` frames a second on average, `burst` at once.
struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    fn new(rate: f64, burst: f64) -> Self {
        Self { rate, burst, tokens: burst, at: Instant::now() }
    }

    /// Takes `cost` frames' worth of the budget, if it holds them.
    fn allow(&mut self, now: Instant, cost: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_rate_limit_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut limiter = RateLimiter { rate: 10.0, burst: 20.0, tokens: 20.0, at: start };
        assert_eq!((0..25).filter(|_| limiter.allow(start, 1.0)).count(), 20);
        let later = start + Duration::from_millis(500);
        assert_eq!((0..10).filter(|_| limiter.allow(later, 1.0)).count(), 5);
        let much_later = later + Duration::from_secs(10);
        assert!(limiter.allow(much_later, 15.0));
        assert!(!limiter.allow(much_later, 6.0), "a costly frame needs its whole cost");
    }
}
