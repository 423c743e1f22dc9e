//! The realtime hub: chat operations that persist first and fan out second, and the socket loop.

pub mod bus;
pub mod calls;
pub mod connection;
pub mod fanout;
pub mod limits;
pub mod socket;

pub use socket::Frame;
pub use fanout::{ConnId, Event, Fanout, Joining, LocalFanout, Logins, Outbox, Topic};

use super::db::{self, Db};
use super::{metrics, now_ms};
use crate::models::AppError;
use crate::models::chat::{ChatMessage, ClientId, MessageBody};
use crate::models::ws::ServerMsg;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{mpsc, oneshot};

/// Shared by every connection and server function of this process.
#[derive(Clone)]
pub struct Hub {
    db: Db,
    fanout: Arc<dyn Fanout>,
    next_conn: Arc<AtomicU64>,
    /// Frames a connection may have waiting before it is told to resync.
    pub queue_capacity: usize,
    /// Chat writes take turns in this process. SQLite has one writer: transactions racing for
    /// it fail over to its busy handler, which sleeps up to 100 ms (p99 was 34 ms, max 130 ms).
    write_turn: db::WriteTurn,
    /// Posts waiting for the committer, which stores whatever has gathered in one transaction.
    posts: mpsc::Sender<PostJob>,
    /// The sockets open now, against their caps.
    pub sockets: Arc<limits::Sockets>,
    /// Posts per user, by socket or by form alike.
    post_rate: Arc<limits::KeyedRate<i64>>,
    /// Live calls: seats and the relay of their signals.
    pub calls: Arc<calls::Calls>,
    /// Set once this process starts stopping (SIGTERM).
    stopping: Arc<AtomicBool>,
    /// The connections' counters (frames in and out).
    pub hot: Arc<metrics::Hot>,
}

/// A post waiting to be committed, and where its outcome goes.
struct PostJob {
    message: db::chat::NewMessage,
    done: oneshot::Sender<Result<db::chat::Posted, AppError>>,
}

/// Most posts committed in one transaction.
const COMMIT_BATCH: usize = 256;

impl Hub {
    pub const DEFAULT_QUEUE: usize = 1024;

    /// A hub over `fanout`, with its committer running on the current runtime; `write_turn` is
    /// the database's ([`db::connect`]), which its checkpoints take too.
    pub fn new(db: Db, write_turn: db::WriteTurn, fanout: Arc<dyn Fanout>, queue_capacity: usize, caps: limits::SocketCaps) -> Self {
        let (posts, jobs) = mpsc::channel(4 * COMMIT_BATCH);
        tokio::spawn(commit_posts(db.clone(), jobs, write_turn.clone()));
        let post_rate = Arc::new(limits::post_rate());
        let sockets = limits::Sockets::new(caps);
        let calls = calls::Calls::new(db.clone(), fanout.clone(), calls::CallConfig::default());
        Self { db, fanout, next_conn: Arc::new(AtomicU64::new(1)), queue_capacity, write_turn, posts, sockets, post_rate, calls, stopping: Arc::default(), hot: Arc::default() }
    }

    /// The same hub with these call settings (before any call starts).
    pub fn with_call_config(mut self, db: Db, config: calls::CallConfig) -> Self {
        self.calls = calls::Calls::new(db, self.fanout.clone(), config);
        self
    }

    pub fn fanout(&self) -> &dyn Fanout {
        &*self.fanout
    }

    fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `msg` to every connection subscribed to `topic`.
    pub fn publish(&self, topic: Topic, msg: &ServerMsg) {
        publish(&*self.fanout, topic, msg);
    }

    /// Sends `msg` to every connection subscribed to any of `topics`, once each.
    pub fn publish_once(&self, topics: &[Topic], msg: &ServerMsg) {
        if let Some(event) = frame_event(msg) {
            self.fanout.publish_once(topics, event);
        }
    }

    /// `user` joined `room`: their tabs start receiving it, the members refresh their lists.
    pub async fn member_joined(&self, room: i64, user: i64) {
        self.fanout.publish(Topic::User(user), joined(&self.db, room).await);
        self.publish(Topic::Room(room), &ServerMsg::RoomChanged { room });
    }

    /// `user` left or was removed from `room`.
    pub fn member_left(&self, room: i64, user: i64) {
        self.fanout.publish(Topic::User(user), Event::Left(room));
        self.publish(Topic::Room(room), &ServerMsg::RoomChanged { room });
    }

    /// Closes the sockets of logins that just ended (logout, revoked, password changed).
    pub fn signed_out(&self, user: i64, logins: Logins) {
        self.fanout.publish(Topic::User(user), Event::SignedOut(Box::new(logins)));
    }

    /// The turn to write a room's messages (positions and change counters are taken from the
    /// room inside the transaction): held by the post committer, by edits, and by the ledger
    /// while it writes an entry with its card.
    pub async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.write_turn.lock().await
    }

    /// This process is stopping: readiness answers 503, every socket is closed with 1012 and
    /// sockets opened from now on are closed at once.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.fanout.publish_local(Event::Restart);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Waits, at most `limit`, until every socket of this process has closed and the posts
    /// already handed to the committer are committed; true when both happened in time.
    pub async fn drained(&self, limit: std::time::Duration) -> bool {
        tokio::time::timeout(limit, async {
            while self.sockets.open() > 0 || self.posts.capacity() < self.posts.max_capacity() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            // The commit in progress, if any, ends before the turn is free.
            drop(self.write_turn().await);
        })
        .await
        .is_ok()
    }

    /// Shows a new, edited or deleted message to every member's tabs.
    pub fn fan_out(&self, message: &ChatMessage) {
        if let Some(event) = frame_event(&ServerMsg::Message { message: message.clone() }) {
            self.fanout.publish_change(message.room, message.change, event);
        }
    }

    pub fn online(&self, users: &[i64]) -> Vec<i64> {
        self.fanout.online(users)
    }
}

/// The event telling a user's tabs they joined `room`, with the room's last change read before
/// any of them subscribes (so before any of them loads the room).
async fn joined(db: &Db, room: i64) -> Event {
    let baseline = db::chat::last_changes(db, &[room]).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, room, "cannot read the room's last change; its tabs start from the beginning");
        Vec::new()
    });
    Event::Joined(Box::new(Joining { room, baseline: baseline.first().map_or(0, |&(_, change)| change) }))
}

/// Serializes `msg` once and publishes it to `topic` (the hub and the calls alike).
fn publish(fanout: &dyn Fanout, topic: Topic, msg: &ServerMsg) {
    if let Some(event) = frame_event(msg) {
        fanout.publish(topic, event);
    }
}

/// One frame's text, for one connection.
fn encode(msg: &ServerMsg) -> Option<Frame> {
    serde_json::to_string(msg).ok().map(|json| Frame::text(&json))
}

fn frame_event(msg: &ServerMsg) -> Option<Event> {
    match serde_json::to_string(msg) {
        Ok(json) => Some(Event::Frame(Frame::text(&json))),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a server frame");
            None
        }
    }
}

/// What sending a message came to.
#[derive(Debug)]
pub enum Sent {
    /// Stored now and fanned out to the room.
    New(ChatMessage),
    /// This client id was stored before: the same message, not stored or fanned out again.
    Again(ChatMessage),
}

impl Sent {
    pub fn message(&self) -> &ChatMessage {
        match self {
            Sent::New(m) | Sent::Again(m) => m,
        }
    }
}

/// Validates and stores a message, then (only once committed) fans it out to the room.
pub async fn send(hub: &Hub, sender: i64, sender_name: &str, room: i64, client_id: &str, body: &str) -> Result<Sent, AppError> {
    let sent = store(hub, sender, sender_name, room, client_id, body).await?;
    if let Sent::New(message) = &sent {
        hub.fan_out(message);
    }
    Ok(sent)
}

/// Validates and stores a message; the caller acks it, then calls [`Hub::fan_out`] for a new one.
/// Every way of posting comes here, so one rate per user holds for all of them.
pub async fn store(hub: &Hub, sender: i64, sender_name: &str, room: i64, client_id: &str, body: &str) -> Result<Sent, AppError> {
    let client_id = ClientId::parse(client_id)?;
    let body = MessageBody::parse(body)?;
    hub.post_rate.check(&sender).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
    let message = db::chat::NewMessage {
        room,
        sender_id: sender,
        sender_name: sender_name.to_string(),
        client_id: client_id.as_str().to_string(),
        body: body.as_str().to_string(),
    };
    let (done, outcome) = oneshot::channel();
    hub.posts.send(PostJob { message, done }).await.map_err(|_| AppError::Internal)?;
    match outcome.await.map_err(|_| AppError::Internal)?? {
        db::chat::Posted::New(message) => Ok(Sent::New(message)),
        db::chat::Posted::Again(message) => Ok(Sent::Again(message)),
        db::chat::Posted::NotMember => Err(AppError::NotFound),
    }
}

/// Commits posts as they come, many at a time: whatever gathered while the previous
/// transaction ran goes into the next one (one commit for up to [`COMMIT_BATCH`] posts).
///
/// On SQLite the committer runs the posts' statement on a connection of its own, in place
/// ([`db::direct`]: sqlx's thread hand-offs cost as much as the statement); a batch it cannot
/// store there (the database locked by another writer, or any error) goes through the pool as on
/// PostgreSQL. There the committer keeps one connection of the pool for itself (taken again
/// after an error), whose page cache stays warm between commits.
async fn commit_posts(db: Db, mut jobs: mpsc::Receiver<PostJob>, write_turn: db::WriteTurn) {
    let mut batch = Vec::with_capacity(COMMIT_BATCH);
    let mut own: Own = None;
    let mut direct = db::direct::DirectPoster::open(&db).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot open the post committer's own SQLite connection; posts go through the pool");
        None
    });
    while jobs.recv_many(&mut batch, COMMIT_BATCH).await > 0 {
        let messages: Vec<db::chat::NewMessage> = batch.iter().map(|j| j.message.clone()).collect();
        let stored = {
            let _turn = write_turn.lock().await;
            let began = std::time::Instant::now();
            let stored = store_batch(&db, direct.as_mut(), &mut own, &messages, now_ms()).await;
            metrics::commit(messages.len(), began.elapsed());
            stored
        };
        match stored {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.done.send(Ok(outcome));
                }
            }
            // One failing post must not fail the others: retry each in its own transaction.
            Err(e) => {
                tracing::warn!(error = %e, count = batch.len(), "batch commit failed; committing one by one");
                for job in batch.drain(..) {
                    let _turn = write_turn.lock().await;
                    let one = db::chat::post_all(&db, std::slice::from_ref(&job.message), now_ms()).await;
                    let _ = job.done.send(one.map(|mut o| o.remove(0)).map_err(AppError::from));
                }
            }
        }
    }
}

/// The committer's connection of the pool, kept between batches.
type Own = Option<sqlx::pool::PoolConnection<sqlx::Any>>;

/// Stores one batch: through the committer's own connection if there is one and it can take
/// the database at once, else through the pool (counted, by reason, in /metrics).
async fn store_batch(db: &Db, direct: Option<&mut db::direct::DirectPoster>, own: &mut Own, messages: &[db::chat::NewMessage], now: i64) -> Result<Vec<db::chat::Posted>, sqlx::Error> {
    let Some(direct) = direct else {
        return post_pooled(db, own, messages, now).await;
    };
    match direct.post_all(messages, now) {
        Ok(db::direct::Direct::Stored(mut out)) => {
            answer_repeats(db, own, messages, &mut out).await;
            Ok(out)
        }
        Ok(db::direct::Direct::Busy) => {
            metrics::commit_fallback("busy");
            post_pooled(db, own, messages, now).await
        }
        Err(e) => {
            tracing::warn!(error = %e, count = messages.len(), "the committer's own connection failed a batch; storing it through the pool");
            metrics::commit_fallback("error");
            post_pooled(db, own, messages, now).await
        }
    }
}

/// After a direct commit a refusal may be a repeated client id, answered with the first
/// message. Should that lookup fail, the repeat stays refused (its sender's retry finds it);
/// the posts stored are answered as stored whatever.
async fn answer_repeats(db: &Db, own: &mut Own, messages: &[db::chat::NewMessage], out: &mut [db::chat::Posted]) {
    if !out.iter().any(|p| matches!(p, db::chat::Posted::NotMember)) {
        return;
    }
    let answered = match pooled(db, own).await {
        Ok(mut conn) => db::chat::answer_repeats(&mut conn, messages, out).await.map(|()| *own = Some(conn)),
        Err(e) => Err(e),
    };
    if let Err(e) = answered {
        tracing::warn!(error = %e, "cannot look up repeated client ids; answered as refused");
    }
}

/// Stores the batch through the pool, keeping the connection unless the commit failed.
async fn post_pooled(db: &Db, own: &mut Own, messages: &[db::chat::NewMessage], now: i64) -> Result<Vec<db::chat::Posted>, sqlx::Error> {
    let mut conn = pooled(db, own).await?;
    let stored = db::chat::post_all_on(&mut conn, messages, now).await;
    // A connection that failed a commit may be broken: the next batch takes another.
    if stored.is_ok() {
        *own = Some(conn);
    }
    stored
}

/// The committer's pool connection: the one it kept, or a new one.
async fn pooled(db: &Db, own: &mut Own) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, sqlx::Error> {
    match own.take() {
        Some(conn) => Ok(conn),
        None => db.acquire().await,
    }
}

/// Replaces the body of the sender's message and shows the change to the room.
pub async fn edit(db: &Db, hub: &Hub, sender: i64, message_id: i64, body: &str) -> Result<ChatMessage, AppError> {
    let body = MessageBody::parse(body)?;
    let edited = {
        let _turn = hub.write_turn().await;
        db::chat::edit(db, sender, message_id, body.as_str(), now_ms()).await?
    };
    let message = edited.ok_or(AppError::Forbidden)?;
    hub.fan_out(&message);
    Ok(message)
}

/// Deletes the sender's message and shows the change to the room.
pub async fn delete(db: &Db, hub: &Hub, sender: i64, message_id: i64) -> Result<ChatMessage, AppError> {
    let deleted = {
        let _turn = hub.write_turn().await;
        db::chat::delete(db, sender, message_id, now_ms()).await?
    };
    let message = deleted.ok_or(AppError::Forbidden)?;
    hub.fan_out(&message);
    Ok(message)
}

/// Moves the reader's mark forward; when it moved, tells the room (for "seen") and the
/// reader's other tabs. Opening a room already read tells nobody anything.
pub async fn mark_read(db: &Db, hub: &Hub, user: i64, room: i64, seq: i64) -> Result<i64, AppError> {
    let (mark, moved) = db::chat::mark_read(db, room, user, seq).await?.ok_or(AppError::NotFound)?;
    if moved {
        hub.publish(Topic::Room(room), &ServerMsg::Read { room, user_id: user, seq: mark });
    }
    Ok(mark)
}
