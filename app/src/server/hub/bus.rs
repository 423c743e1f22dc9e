//! The bus between nodes: a [`Fanout`] that delivers in this process and carries every event
//! through Redis to the other nodes (`HUDDLE_REDIS_URL`).
//!
//! Redis is a hint, the database is the truth. A room's stored changes (posts, edits, deletes,
//! cards) carry their change number; this node keeps, per room it serves, the last change it
//! delivered, and delivers the next one only. A change that skips ahead waits a moment for the
//! ones before it, then they are read from the database; one already delivered is dropped; a
//! periodic check reads the last change of every room served and fills what the bus lost
//! (its last event included), and so does each new subscription to a room once Redis has made
//! it (what the room published while it was being made went to no one here). On PostgreSQL a
//! room's changes commit in the order of their numbers (the posting transaction locks the
//! room's row), so seeing change N means every change below N can be read.
//!
//! Presence: each process has a random incarnation id and keeps its users' tab counts in Redis
//! under it (absolute counts, rewritten after Redis lost them), with a short-lived alive key.
//! Any node reaps an incarnation whose key expired (its users go offline unless they are online
//! elsewhere). A user whose last tab closed is announced offline after a grace period, so a
//! rolling restart, whose tabs reconnect to another node within it, flaps nobody.

use super::calls::{CallLink, Calls, Home};
use super::fanout::{ConnId, Event, Fanout, Joining, LocalFanout, Logins, Outbox, Topic};
use crate::models::ws::ServerMsg;
use crate::server::auth::revoked::RevokedLogins;
use crate::server::db::{self, Db};
use crate::server::metrics;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// Timings of the bus. The defaults are the production ones; tests shorten them.
#[derive(Clone)]
pub struct BusConfig {
    /// How often every room served is checked against the database (and presence refreshed).
    pub check_every: Duration,
    /// How long a change that skipped ahead waits for the ones before it.
    pub gap_wait: Duration,
    /// How long an incarnation stays alive without refreshing its key.
    pub alive_ttl: Duration,
    /// How long a user whose last tab closed may take to come back before they are offline.
    pub offline_grace: Duration,
    /// Drops incoming room changes this returns true for (room, change): tests prove that a
    /// lossy transport loses nothing. Never set outside tests.
    pub lose: Option<Arc<dyn Fn(i64, i64) -> bool + Send + Sync>>,
    /// While set, every message the subscription brings is dropped, as from a subscription
    /// gone silent; a new subscription connection clears it. Tests prove the probe notices.
    /// Never set outside tests.
    pub mute: Option<Arc<AtomicBool>>,
    /// Waits this long before each new room subscription is made: tests prove that what a room
    /// published before its subscription existed still arrives. Never set outside tests.
    pub hold_subscriptions: Option<Duration>,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(2),
            gap_wait: Duration::from_millis(50),
            alive_ttl: Duration::from_secs(10),
            offline_grace: Duration::from_secs(5),
            lose: None,
            mute: None,
            hold_subscriptions: None,
        }
    }
}

const NODES_SET: &str = "huddle:nodes";
/// Everything addressed to every node (presence counts, announcements to several rooms).
const ALL_CHANNEL: &str = "huddle:all";
/// The longest an access token lives: how long a revoked login's tokens must be refused.
const ACCESS_TTL_MS: i64 = crate::server::auth::AuthConfig::ACCESS_TTL.as_millis() as i64;
/// Most changes read from the database in one gap fill query.
const FILL_LIMIT: i64 = 500;
/// Commands waiting for Redis at most.
const COMMANDS_WAITING: usize = 16 * 1024;
/// Pending changes a room holds before a gap fill is forced at once.
const MOST_PENDING: usize = 1024;
/// How long one node may take to reap a dead one before another tries.
const REAPING_MS: u64 = 60_000;

/// Claims a call (`huddle:call:<meeting>`) for node ARGV[1] unless a node still in the set of
/// nodes has it; returns the home and whether its alive key is there. The calls of a node are
/// listed under `huddle:calls:<node>` for whoever reaps it.
const CLAIM: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] and redis.call('SISMEMBER', KEYS[2], cur) == 1 then
  return {cur, redis.call('EXISTS', 'huddle:alive:' .. cur)}
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', 'huddle:calls:' .. ARGV[1], ARGV[2])
return {ARGV[1], 1}
";

/// Gives up node ARGV[1]'s claim on call ARGV[2], if it still has it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
";

fn release_cmd(node: &str, meeting: i64) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(RELEASE).arg(2).arg(format!("huddle:call:{meeting}")).arg(format!("huddle:calls:{node}")).arg(node).arg(meeting);
    cmd
}

fn channel(topic: Topic) -> Option<String> {
    match topic {
        Topic::Room(id) => Some(format!("huddle:room:{id}")),
        Topic::User(id) => Some(format!("huddle:user:{id}")),
        // A call runs on one node; the others send it their tabs' frames and get its frames
        // back addressed to each connection (`Wire::Ask`, `Wire::Answer`).
        Topic::Meeting(_) | Topic::Seat(_) | Topic::Conn(_) => None,
    }
}

fn topic_code(topic: Topic) -> Option<String> {
    match topic {
        Topic::Room(id) => Some(format!("r{id}")),
        Topic::User(id) => Some(format!("u{id}")),
        Topic::Meeting(_) | Topic::Seat(_) | Topic::Conn(_) => None,
    }
}

fn parse_topic(code: &str) -> Option<Topic> {
    let (kind, id) = code.split_at_checked(1)?;
    let id = id.parse().ok()?;
    match kind {
        "r" => Some(Topic::Room(id)),
        "u" => Some(Topic::User(id)),
        _ => None,
    }
}

/// One message on the bus: `<node> <kind> <fields...>`, then a newline and a frame if it has one.
#[derive(Debug, PartialEq)]
/// Frames are borrowed: a publish formats the message once from the event's own text, and a
/// received message is read in place (its frame copied once, into the event that delivers it).
enum Wire<'a> {
    /// A frame for one topic.
    Frame(Topic, &'a str),
    /// Change `change` of a room, as its frame.
    Change { room: i64, change: i64, frame: &'a str },
    /// A frame for several topics, each connection once.
    Once(Vec<Topic>, &'a str),
    Joined { user: i64, room: i64, baseline: i64 },
    Left { user: i64, room: i64 },
    SignedOut { user: i64, logins: Logins },
    /// How many tabs the user has open on the sending node.
    Count { user: i64, tabs: u64 },
    /// An incarnation was reaped.
    Gone(&'a str),
    /// A node's message to itself, proving its subscription still delivers.
    Probe,
    /// Logins ended at `at`: their access tokens are refused on every node.
    Revoked { at: i64, logins: Vec<i64> },
    /// A call frame of connection `conn` of the sender, for the call this node runs; `body` is
    /// the JSON array `[name, frame]`.
    Ask { conn: ConnId, user: i64, body: &'a str },
    /// A frame for connection `conn` of the receiving node, from the call the sender runs.
    Answer { conn: ConnId, frame: &'a str },
    /// Connection `conn` of the sender, in a call the receiver runs, closed.
    Hangup { conn: ConnId },
    /// The sender runs no calls any more.
    Homeless,
}

impl<'a> Wire<'a> {
    fn encode(&self, node: &str) -> String {
        match self {
            Wire::Frame(topic, frame) => format!("{node} F {}\n{frame}", topic_code(*topic).unwrap_or_default()),
            Wire::Change { room, change, frame } => format!("{node} C {room} {change}\n{frame}"),
            Wire::Once(topics, frame) => {
                let codes: Vec<String> = topics.iter().filter_map(|t| topic_code(*t)).collect();
                format!("{node} O {}\n{frame}", codes.join(","))
            }
            Wire::Joined { user, room, baseline } => format!("{node} J {user} {room} {baseline}"),
            Wire::Left { user, room } => format!("{node} L {user} {room}"),
            Wire::SignedOut { user, logins: Logins::One(s) } => format!("{node} S {user} one {s}"),
            Wire::SignedOut { user, logins: Logins::AllBut(keep) } => {
                format!("{node} S {user} allbut {}", keep.map_or("-".to_string(), |k| k.to_string()))
            }
            Wire::Count { user, tabs } => format!("{node} P {user} {tabs}"),
            Wire::Gone(gone) => format!("{node} X {gone}"),
            Wire::Probe => format!("{node} Q"),
            Wire::Revoked { at, logins } => {
                let ids: Vec<String> = logins.iter().map(i64::to_string).collect();
                format!("{node} R {at} {}", ids.join(","))
            }
            Wire::Ask { conn, user, body } => format!("{node} A {conn} {user}\n{body}"),
            Wire::Answer { conn, frame } => format!("{node} D {conn}\n{frame}"),
            Wire::Hangup { conn } => format!("{node} H {conn}"),
            Wire::Homeless => format!("{node} N"),
        }
    }

    /// The sending node and the message, or `None` for anything malformed.
    fn decode(payload: &'a str) -> Option<(&'a str, Wire<'a>)> {
        let (head, frame) = payload.split_once('\n').unwrap_or((payload, ""));
        let mut fields = head.split(' ');
        let node = fields.next()?;
        let kind = fields.next()?;
        let mut next = || fields.next();
        let int = |s: Option<&str>| s?.parse::<i64>().ok();
        let wire = match kind {
            "F" => Wire::Frame(parse_topic(next()?)?, frame),
            "C" => Wire::Change { room: int(next())?, change: int(next())?, frame },
            "O" => Wire::Once(next()?.split(',').map(parse_topic).collect::<Option<_>>()?, frame),
            "J" => Wire::Joined { user: int(next())?, room: int(next())?, baseline: int(next())? },
            "L" => Wire::Left { user: int(next())?, room: int(next())? },
            "S" => {
                let user = int(next())?;
                let logins = match (next()?, next()?) {
                    ("one", s) => Logins::One(s.parse().ok()?),
                    ("allbut", "-") => Logins::AllBut(None),
                    ("allbut", k) => Logins::AllBut(Some(k.parse().ok()?)),
                    _ => return None,
                };
                Wire::SignedOut { user, logins }
            }
            "P" => Wire::Count { user: int(next())?, tabs: next()?.parse().ok()? },
            "X" => Wire::Gone(next()?),
            "Q" => Wire::Probe,
            "R" => Wire::Revoked { at: int(next())?, logins: next()?.split(',').map(|id| id.parse().ok()).collect::<Option<_>>()? },
            "A" => Wire::Ask { conn: next()?.parse().ok()?, user: int(next())?, body: frame },
            "D" => Wire::Answer { conn: next()?.parse().ok()?, frame },
            "H" => Wire::Hangup { conn: next()?.parse().ok()? },
            "N" => Wire::Homeless,
            _ => return None,
        };
        Some((node, wire))
    }
}

fn frame_of(event: &Event) -> Option<&str> {
    match event {
        Event::Frame(frame) => Some(frame.as_str()),
        _ => None,
    }
}

fn frame_event(text: &str) -> Event {
    Event::Frame(super::Frame::text(text))
}

/// Per room served here: the last change delivered, and changes that arrived ahead of it.
struct Mark {
    delivered: i64,
    pending: BTreeMap<i64, Event>,
    /// When the oldest pending change arrived.
    waiting_since: Option<Instant>,
}

/// The fan-out of one node of several.
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    node: String,
    db: Db,
    config: BusConfig,
    revoked: Arc<RevokedLogins>,
    local: LocalFanout,
    marks: Mutex<HashMap<i64, Mark>>,
    /// Commands for Redis, sent in order by one task (publishes and presence writes). Bounded:
    /// while Redis is away, what does not fit is dropped (the database and the checks repair it).
    commands: mpsc::Sender<redis::Cmd>,
    /// Topics whose Redis subscription may need to change.
    resubscribe: mpsc::UnboundedSender<Topic>,
    /// Wakes the gap filler.
    gaps: Notify,
    /// Tab counts of the other incarnations.
    remote: Mutex<HashMap<String, HashMap<i64, u64>>>,
    /// Users whose last tab here closed, not yet announced offline (by generation).
    leaving: Mutex<HashMap<i64, u64>>,
    generation: AtomicU64,
    /// Set when Redis may have lost what this node keeps there (a disconnect).
    rewrite: AtomicBool,
    /// Wakes the checker at once (after a disconnect).
    check_now: Notify,
    /// The last probe this node received from itself.
    probe_seen: Mutex<Instant>,
    /// Whether the last command sent to Redis succeeded, and when one last did (readiness).
    healthy: AtomicBool,
    last_ok: Mutex<Instant>,
    /// Whether this node has joined the set of nodes once.
    counts_written: AtomicBool,
    /// Commands that need their answer (claiming a call).
    redis: ConnectionManager,
    /// The calls this node runs, and those it carries frames for.
    calls: std::sync::OnceLock<std::sync::Weak<Calls>>,
}

impl Bus {
    /// Connects to Redis at `url` (failing when it does not answer) and starts the bus's tasks.
    pub async fn connect(url: &str, db: Db, config: BusConfig, revoked: Arc<RevokedLogins>) -> Result<Arc<Self>, redis::RedisError> {
        let info = redis::IntoConnectionInfo::into_connection_info(url)?;
        let redis_settings = info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(redis_settings))?;
        let manager_config = || {
            ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_secs(2)))
                .set_response_timeout(Some(Duration::from_secs(2)))
                .set_max_delay(Duration::from_secs(1))
                .set_number_of_retries(3)
        };
        let publisher = ConnectionManager::new_with_config(client.clone(), manager_config()).await?;
        let (pushes, incoming) = mpsc::unbounded_channel::<PushInfo>();
        let subscriber = ConnectionManager::new_with_config(
            client.clone(),
            manager_config().set_push_sender(pushes.clone()).set_automatic_resubscription(),
        )
        .await?;
        let (commands, outgoing) = mpsc::channel(COMMANDS_WAITING);
        let (resubscribe, topics) = mpsc::unbounded_channel();
        let node = format!("{:016x}", rand::random::<u64>());
        let inner = Arc::new(Inner {
            node,
            db,
            config,
            revoked,
            local: LocalFanout::default(),
            marks: Mutex::default(),
            commands,
            resubscribe,
            gaps: Notify::new(),
            remote: Mutex::default(),
            leaving: Mutex::default(),
            generation: AtomicU64::new(0),
            rewrite: AtomicBool::new(true),
            check_now: Notify::new(),
            probe_seen: Mutex::new(Instant::now()),
            healthy: AtomicBool::new(true),
            last_ok: Mutex::new(Instant::now()),
            counts_written: AtomicBool::new(false),
            redis: publisher.clone(),
            calls: std::sync::OnceLock::new(),
        });
        let mut subscriber = subscriber;
        subscriber.subscribe(ALL_CHANNEL).await?;
        subscriber.subscribe(inner.own_channel()).await?;
        tracing::info!(node = %inner.node, "bus connected");
        tokio::spawn(send_commands(Arc::downgrade(&inner), publisher.clone(), outgoing));
        tokio::spawn(receive(Arc::downgrade(&inner), incoming));
        tokio::spawn(subscriptions(Arc::downgrade(&inner), client, subscriber, pushes, topics, manager_config));
        tokio::spawn(fill_gaps(Arc::downgrade(&inner)));
        tokio::spawn(check(Arc::downgrade(&inner), publisher));
        Ok(Arc::new(Self { inner }))
    }

    /// Runs calls across nodes: `calls` claims its calls through this bus and hears what the
    /// other nodes ask of them.
    pub fn serve_calls(self: &Arc<Self>, calls: &Arc<Calls>) {
        let _ = self.inner.calls.set(Arc::downgrade(calls));
        calls.set_link(self.clone());
    }
}

impl CallLink for Bus {
    fn claim(&self, meeting: i64) -> futures::future::BoxFuture<'_, Result<Home, String>> {
        Box::pin(async move {
            let inner = &self.inner;
            let mut redis = inner.redis.clone();
            let (home, alive): (String, i64) = redis::cmd("EVAL")
                .arg(CLAIM)
                .arg(2)
                .arg(format!("huddle:call:{meeting}"))
                .arg(NODES_SET)
                .arg(&inner.node)
                .arg(meeting)
                .query_async(&mut redis)
                .await
                .map_err(|e| {
                    metrics::redis_error("claim");
                    e.to_string()
                })?;
            Ok(match (home == inner.node, alive == 1) {
                (true, _) => Home::Here,
                (false, true) => Home::Node(home),
                (false, false) => Home::Unreachable,
            })
        })
    }

    fn release(&self, meeting: i64) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            let inner = &self.inner;
            let mut redis = inner.redis.clone();
            let released: redis::RedisResult<i64> = release_cmd(&inner.node, meeting).query_async(&mut redis).await;
            if let Err(e) = released {
                // The claim stays until this node is reaped; it answers for the call meanwhile.
                tracing::warn!(error = %e, meeting, "cannot release a call's claim");
                metrics::redis_error("claim");
            }
        })
    }

    fn ask(&self, node: &str, conn: ConnId, user: i64, name: &str, frame: &str) {
        let Ok(body) = serde_json::to_string(&(name, frame)) else { return };
        self.inner.send(format!("huddle:node:{node}"), &Wire::Ask { conn, user, body: &body });
    }

    fn answer(&self, node: &str, conn: ConnId, frame: &str) {
        self.inner.send(format!("huddle:node:{node}"), &Wire::Answer { conn, frame });
    }

    fn gone(&self, node: &str, conn: ConnId) {
        self.inner.send(format!("huddle:node:{node}"), &Wire::Hangup { conn });
    }

    fn homeless(&self) {
        self.inner.send(ALL_CHANNEL.to_string(), &Wire::Homeless);
    }
}

impl Inner {
    /// Notes whether Redis answered a command.
    fn answered(&self, ok: bool) {
        self.healthy.store(ok, Ordering::Relaxed);
        if ok {
            *self.last_ok.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        }
    }

    fn own_channel(&self) -> String {
        format!("huddle:node:{}", self.node)
    }

    fn send(&self, channel: String, wire: &Wire) {
        let mut cmd = redis::cmd("PUBLISH");
        cmd.arg(channel).arg(wire.encode(&self.node));
        self.command(cmd);
    }

    fn command(&self, cmd: redis::Cmd) {
        if self.commands.try_send(cmd).is_err() {
            metrics::redis_error("publish");
            self.rewrite.store(true, Ordering::Relaxed);
        }
    }

    fn calls(&self) -> Option<Arc<Calls>> {
        self.calls.get().and_then(std::sync::Weak::upgrade)
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Mark>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers change `change` of `room` here if it is the next one; holds it if it skipped ahead.
    fn offer_change(&self, room: i64, change: i64, event: Event) {
        let mut marks = self.marks();
        // No connection here follows the room.
        let Some(mark) = marks.get_mut(&room) else { return };
        if mark.delivered == i64::MAX {
            // Followed without a baseline: from this change on.
            mark.delivered = change - 1;
        }
        if change <= mark.delivered {
            return;
        }
        if change == mark.delivered + 1 {
            self.local.publish(Topic::Room(room), event);
            mark.delivered = change;
            self.flush(room, mark);
        } else {
            mark.pending.insert(change, event);
            mark.waiting_since.get_or_insert_with(Instant::now);
            if mark.pending.len() >= MOST_PENDING {
                mark.waiting_since = Some(Instant::now() - self.config.gap_wait);
            }
            self.gaps.notify_one();
        }
    }

    /// Delivers the pending changes that are now next, drops those already delivered.
    fn flush(&self, room: i64, mark: &mut Mark) {
        while let Some(entry) = mark.pending.first_entry() {
            let change = *entry.key();
            if change <= mark.delivered {
                entry.remove();
            } else if change == mark.delivered + 1 {
                self.local.publish(Topic::Room(room), entry.remove());
                mark.delivered = change;
            } else {
                break;
            }
        }
        if mark.pending.is_empty() {
            mark.waiting_since = None;
        }
    }

    /// Reads from the database what this node missed of `rooms`: their last changes in one
    /// query, then a [`Inner::fill`] of each that is past what was delivered here.
    async fn fill_behind(&self, rooms: &[i64], reason: &'static str) {
        // Most rounds of the subscriptions' loop made no new one: not even the marks' lock.
        if rooms.is_empty() {
            return;
        }
        let delivered: HashMap<i64, i64> = {
            let marks = self.marks();
            rooms.iter().filter_map(|room| Some((*room, marks.get(room)?.delivered))).collect()
        };
        if delivered.is_empty() {
            return;
        }
        let ids: Vec<i64> = delivered.keys().copied().collect();
        match db::chat::last_changes(&self.db, &ids).await {
            Ok(last) => {
                for (room, change) in last {
                    if delivered.get(&room).is_some_and(|&d| change > d)
                        && let Err(e) = self.fill(room, reason).await
                    {
                        tracing::warn!(error = %e, room, "cannot read a room's missing changes");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check the rooms' last changes"),
        }
    }

    /// Reads from the database what this node has not delivered of `room`, and delivers it.
    async fn fill(&self, room: i64, reason: &'static str) -> Result<(), sqlx::Error> {
        loop {
            let Some(from) = self.marks().get(&room).map(|m| m.delivered) else { return Ok(()) };
            // The last change is read first: every change up to it is committed, so after the
            // read below nothing up to it is missing.
            let last = db::chat::last_changes(&self.db, &[room]).await?.first().map_or(0, |&(_, c)| c);
            let changes = db::chat::changes_after(&self.db, room, from, FILL_LIMIT).await?;
            let complete = (changes.len() as i64) < FILL_LIMIT;
            let mut marks = self.marks();
            let Some(mark) = marks.get_mut(&room) else { return Ok(()) };
            let mut delivered = 0;
            for message in changes {
                if message.change > mark.delivered {
                    let change = message.change;
                    if let Some(event) = super::frame_event(&ServerMsg::Message { message }) {
                        self.local.publish(Topic::Room(room), event);
                    }
                    mark.delivered = change;
                    delivered += 1;
                }
            }
            if complete {
                mark.delivered = mark.delivered.max(last);
            }
            self.flush(room, mark);
            // Still ahead: whatever it waits for is not committed yet, or was an edit since
            // replaced; the next round looks again.
            if !mark.pending.is_empty() {
                mark.waiting_since = Some(Instant::now());
            }
            drop(marks);
            metrics::gap_fill(reason, delivered);
            if complete {
                return Ok(());
            }
        }
    }

    fn tabs_elsewhere(&self, user: i64) -> bool {
        self.remote.lock().unwrap_or_else(|e| e.into_inner()).values().any(|counts| counts.get(&user).is_some_and(|&n| n > 0))
    }

    fn online_anywhere(&self, user: i64) -> bool {
        self.local.count(user) > 0 || self.tabs_elsewhere(user)
    }

    /// Writes this node's count of `user`'s tabs to Redis and tells the other nodes.
    fn count_tabs(&self, user: i64) {
        let tabs = self.local.count(user) as u64;
        let key = format!("huddle:presence:{}", self.node);
        let mut cmd = if tabs == 0 { redis::cmd("HDEL") } else { redis::cmd("HSET") };
        cmd.arg(&key).arg(user);
        if tabs > 0 {
            cmd.arg(tabs);
        }
        self.command(cmd);
        self.send(ALL_CHANNEL.to_string(), &Wire::Count { user, tabs });
    }

    /// Tells everyone sharing a room with `user` that they went offline, unless they are
    /// online somewhere.
    async fn announce_offline(&self, user: i64) {
        if self.online_anywhere(user) {
            return;
        }
        match db::chat::rooms_of(&self.db, user).await {
            Ok(rooms) => {
                let topics: Vec<Topic> = rooms.into_iter().map(Topic::Room).collect();
                if let Some(event) = super::frame_event(&ServerMsg::Presence { user_id: user, online: false }) {
                    self.publish_once(&topics, event);
                }
            }
            Err(e) => tracing::warn!(error = %e, user, "cannot load the rooms to announce a user offline"),
        }
    }

    fn publish_once(&self, topics: &[Topic], event: Event) {
        if let Some(frame) = frame_of(&event) {
            let crossing: Vec<Topic> = topics.iter().copied().filter(|t| channel(*t).is_some()).collect();
            if !crossing.is_empty() {
                self.send(ALL_CHANNEL.to_string(), &Wire::Once(crossing, frame));
            }
        }
        self.local.publish_once(topics, event);
    }

    /// Applies a message from another node (or this node's own probe).
    fn apply(&self, from: &str, wire: Wire) {
        if from == self.node {
            if wire == Wire::Probe {
                *self.probe_seen.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
            }
            return;
        }
        match wire {
            Wire::Frame(topic, frame) => self.local.publish(topic, frame_event(frame)),
            Wire::Change { room, change, frame } => {
                if self.config.lose.as_ref().is_some_and(|lose| lose(room, change)) {
                    return;
                }
                self.offer_change(room, change, frame_event(frame));
            }
            Wire::Once(topics, frame) => self.local.publish_once(&topics, frame_event(frame)),
            Wire::Joined { user, room, baseline } => {
                self.local.publish(Topic::User(user), Event::Joined(Box::new(Joining { room, baseline })));
            }
            Wire::Left { user, room } => self.local.publish(Topic::User(user), Event::Left(room)),
            Wire::SignedOut { user, logins } => self.local.publish(Topic::User(user), Event::SignedOut(Box::new(logins))),
            Wire::Count { user, tabs } => {
                let mut remote = self.remote.lock().unwrap_or_else(|e| e.into_inner());
                let counts = remote.entry(from.to_string()).or_default();
                if tabs == 0 {
                    counts.remove(&user);
                } else {
                    counts.insert(user, tabs);
                }
            }
            Wire::Gone(gone) => {
                self.remote.lock().unwrap_or_else(|e| e.into_inner()).remove(gone);
                if let Some(calls) = self.calls() {
                    calls.home_gone(gone);
                }
            }
            Wire::Probe => {}
            Wire::Revoked { at, logins } => self.revoked.add(&logins, at, ACCESS_TTL_MS),
            // Owned: a frame inside a JSON string has its quotes escaped.
            Wire::Ask { conn, user, body } => match (self.calls(), serde_json::from_str::<(String, String)>(body)) {
                (Some(calls), Ok((name, frame))) => calls.asked(from, conn, user, &name, &frame),
                (_, Err(_)) => tracing::warn!(node = from, "ignored a malformed call frame from another node"),
                (None, _) => {}
            },
            Wire::Answer { conn, frame } => self.local.publish(Topic::Conn(conn), frame_event(frame)),
            Wire::Hangup { conn } => {
                if let Some(calls) = self.calls() {
                    calls.remote_gone(from, Some(conn));
                }
            }
            Wire::Homeless => {
                if let Some(calls) = self.calls() {
                    calls.home_gone(from);
                }
            }
        }
    }
}

impl Fanout for Bus {
    fn publish(&self, topic: Topic, event: Event) {
        let inner = &self.inner;
        if let Some(channel) = channel(topic) {
            let wire = match (&event, topic) {
                (Event::Frame(frame), _) => Some(Wire::Frame(topic, frame.as_str())),
                (Event::Joined(j), Topic::User(user)) => Some(Wire::Joined { user, room: j.room, baseline: j.baseline }),
                (Event::Left(room), Topic::User(user)) => Some(Wire::Left { user, room: *room }),
                (Event::SignedOut(logins), Topic::User(user)) => Some(Wire::SignedOut { user, logins: **logins }),
                _ => None,
            };
            if let Some(wire) = wire {
                inner.send(channel, &wire);
            }
        }
        inner.local.publish(topic, event);
    }

    fn publish_change(&self, room: i64, change: i64, event: Event) {
        let inner = &self.inner;
        if let Some(frame) = frame_of(&event) {
            inner.send(format!("huddle:room:{room}"), &Wire::Change { room, change, frame });
        }
        inner.offer_change(room, change, event);
    }

    fn publish_once(&self, topics: &[Topic], event: Event) {
        self.inner.publish_once(topics, event);
    }

    fn publish_local(&self, event: Event) {
        self.inner.local.publish_local(event);
    }

    fn subscribe(&self, topic: Topic, outbox: &Outbox) {
        if let Topic::Room(room) = topic {
            // Rooms are followed from a baseline (`subscribe_room`); without one, from the
            // mark this node has, or else from the next change that comes.
            return self.subscribe_room(room, i64::MAX, outbox);
        }
        let first = !self.inner.local.has(topic);
        self.inner.local.subscribe(topic, outbox);
        if first {
            let _ = self.inner.resubscribe.send(topic);
        }
    }

    fn subscribe_room(&self, room: i64, baseline: i64, outbox: &Outbox) {
        let inner = &self.inner;
        let topic = Topic::Room(room);
        let mut marks = inner.marks();
        let first = !inner.local.has(topic);
        if first || !marks.contains_key(&room) {
            marks.insert(room, Mark { delivered: baseline, pending: BTreeMap::new(), waiting_since: None });
        }
        inner.local.subscribe(topic, outbox);
        drop(marks);
        if first {
            let _ = inner.resubscribe.send(topic);
        }
    }

    fn unsubscribe(&self, topic: Topic, conn: ConnId) {
        let inner = &self.inner;
        let mut marks = inner.marks();
        inner.local.unsubscribe(topic, conn);
        let last = !inner.local.has(topic);
        if let (true, Topic::Room(room)) = (last, topic) {
            marks.remove(&room);
        }
        drop(marks);
        if last {
            let _ = inner.resubscribe.send(topic);
        }
    }

    fn connected(&self, user: i64) -> bool {
        let inner = &self.inner;
        let first_here = inner.local.connected(user);
        inner.count_tabs(user);
        // Back within the grace period: they were never shown offline.
        let was_leaving = inner.leaving.lock().unwrap_or_else(|e| e.into_inner()).remove(&user).is_some();
        first_here && !was_leaving && !inner.tabs_elsewhere(user)
    }

    fn disconnected(&self, user: i64) -> bool {
        let inner = &self.inner;
        let last_here = inner.local.disconnected(user);
        inner.count_tabs(user);
        if last_here {
            let generation = inner.generation.fetch_add(1, Ordering::Relaxed);
            inner.leaving.lock().unwrap_or_else(|e| e.into_inner()).insert(user, generation);
            let weak = Arc::downgrade(&self.inner);
            let grace = inner.config.offline_grace;
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                let Some(inner) = weak.upgrade() else { return };
                let still = {
                    let mut leaving = inner.leaving.lock().unwrap_or_else(|e| e.into_inner());
                    let still = leaving.get(&user) == Some(&generation);
                    if still {
                        leaving.remove(&user);
                    }
                    still
                };
                if still {
                    inner.announce_offline(user).await;
                }
            });
        }
        // Announced after the grace period, by the task above.
        false
    }

    fn online(&self, users: &[i64]) -> Vec<i64> {
        users.iter().copied().filter(|&u| self.inner.online_anywhere(u)).collect()
    }

    /// Redis answered the last command sent to it, and answered one lately (a command waiting
    /// for a reconnect has not failed yet, but the bus is down all the same).
    fn is_ready(&self) -> bool {
        let inner = &self.inner;
        let lately = 2 * inner.config.check_every + Duration::from_millis(500);
        inner.healthy.load(Ordering::Relaxed) && inner.last_ok.lock().unwrap_or_else(|e| e.into_inner()).elapsed() < lately
    }

    fn logins_ended(&self, logins: &[i64], at: i64) {
        if !logins.is_empty() {
            self.inner.send(ALL_CHANNEL.to_string(), &Wire::Revoked { at, logins: logins.to_vec() });
        }
    }
}

/// Sends the node's commands to Redis in order, many per round trip.
async fn send_commands(inner: std::sync::Weak<Inner>, mut redis: ConnectionManager, mut outgoing: mpsc::Receiver<redis::Cmd>) {
    let mut batch = Vec::with_capacity(256);
    while outgoing.recv_many(&mut batch, 256).await > 0 {
        let mut pipe = redis::pipe();
        for cmd in batch.drain(..) {
            pipe.add_command(cmd).ignore();
        }
        let sent: Result<(), _> = pipe.query_async(&mut redis).await;
        let Some(inner) = inner.upgrade() else { return };
        inner.answered(sent.is_ok());
        if let Err(e) = sent {
            // Lost: room changes are filled from the database by the next check; presence is
            // rewritten; the rest (typing, read marks) was only ever a hint.
            tracing::warn!(error = %e, "cannot publish to Redis");
            metrics::redis_error("publish");
            inner.rewrite.store(true, Ordering::Relaxed);
        }
    }
}

/// Applies what the subscriptions bring.
async fn receive(inner: std::sync::Weak<Inner>, mut incoming: mpsc::UnboundedReceiver<PushInfo>) {
    while let Some(push) = incoming.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        match push.kind {
            PushKind::Message => {
                if inner.config.mute.as_ref().is_some_and(|mute| mute.load(Ordering::Relaxed)) {
                    continue;
                }
                // [channel, payload]
                let payload = match push.data.last() {
                    Some(Value::BulkString(bytes)) => std::str::from_utf8(bytes).ok(),
                    _ => None,
                };
                match payload.and_then(Wire::decode) {
                    Some((from, wire)) => inner.apply(from, wire),
                    None => tracing::warn!("ignored a malformed message on the bus"),
                }
            }
            PushKind::Disconnection => {
                tracing::warn!("lost the bus's subscription connection; reconnecting");
                metrics::redis_reconnect();
                inner.rewrite.store(true, Ordering::Relaxed);
                inner.check_now.notify_one();
            }
            _ => {}
        }
    }
}

/// Keeps the Redis subscriptions matching the topics this node's connections follow.
async fn subscriptions(
    inner: std::sync::Weak<Inner>,
    client: redis::Client,
    mut redis: ConnectionManager,
    pushes: mpsc::UnboundedSender<PushInfo>,
    mut topics: mpsc::UnboundedReceiver<Topic>,
    config: impl Fn() -> ConnectionManagerConfig,
) {
    let mut subscribed: HashSet<Topic> = HashSet::new();
    let mut retry: HashSet<Topic> = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let topic = tokio::select! {
            topic = topics.recv() => match topic {
                Some(topic) => Some(topic),
                None => return,
            },
            _ = tick.tick() => None,
        };
        let Some(inner) = inner.upgrade() else { return };
        // A subscription that stopped delivering (the probe did not come back): a new one.
        let silent = inner.probe_seen.lock().unwrap_or_else(|e| e.into_inner()).elapsed() > 3 * inner.config.check_every + Duration::from_secs(1);
        if silent && inner.healthy.load(Ordering::Relaxed) {
            tracing::warn!("the bus's subscription went silent; making a new one");
            metrics::redis_reconnect();
            match ConnectionManager::new_with_config(client.clone(), config().set_push_sender(pushes.clone()).set_automatic_resubscription()).await {
                Ok(fresh) => {
                    redis = fresh;
                    if let Some(mute) = &inner.config.mute {
                        mute.store(false, Ordering::Relaxed);
                    }
                    retry.extend(subscribed.drain());
                    retry.extend(inner.local.topics().into_iter().filter(|t| channel(*t).is_some()));
                    let mut ok = redis.subscribe(ALL_CHANNEL).await.is_ok();
                    ok &= redis.subscribe(inner.own_channel()).await.is_ok();
                    if ok {
                        *inner.probe_seen.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                    }
                    inner.rewrite.store(true, Ordering::Relaxed);
                    inner.check_now.notify_one();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reconnect the bus's subscription");
                    metrics::redis_error("subscribe");
                }
            }
        }
        retry.extend(topic);
        // Whatever else is waiting goes in the same round (many tabs reconnecting at once: one
        // read of the rooms' positions below, not one per room).
        while let Ok(topic) = topics.try_recv() {
            retry.insert(topic);
        }
        // Rooms followed here from a baseline before their subscription existed: what they
        // published in between went to no one here.
        let mut fresh_rooms = Vec::new();
        for topic in std::mem::take(&mut retry) {
            let Some(name) = channel(topic) else { continue };
            let wanted = inner.local.has(topic);
            let result = match (wanted, subscribed.contains(&topic)) {
                (true, false) => {
                    if let Some(hold) = inner.config.hold_subscriptions {
                        tokio::time::sleep(hold).await;
                    }
                    let made = redis.subscribe(&name).await.map(|()| subscribed.insert(topic));
                    if let (Ok(_), Topic::Room(room)) = (&made, topic) {
                        fresh_rooms.push(room);
                    }
                    made
                }
                (false, true) => redis.unsubscribe(&name).await.map(|()| subscribed.remove(&topic)),
                _ => Ok(true),
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, channel = %name, "cannot change a bus subscription; retrying");
                metrics::redis_error("subscribe");
                retry.insert(topic);
            }
        }
        inner.fill_behind(&fresh_rooms, "subscribed").await;
    }
}

/// Reads from the database the changes that stayed missing longer than the gap wait.
async fn fill_gaps(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else { return };
        let wait = strong.config.gap_wait;
        let now = Instant::now();
        let (due, soonest) = {
            let marks = strong.marks();
            let waiting = marks.iter().filter_map(|(&room, m)| Some((room, now.duration_since(m.waiting_since?))));
            let (due, later): (Vec<_>, Vec<_>) = waiting.partition(|&(_, waited)| waited >= wait);
            (due.into_iter().map(|(room, _)| room).collect::<Vec<i64>>(), later.into_iter().map(|(_, waited)| wait - waited).min())
        };
        for &room in &due {
            if let Err(e) = strong.fill(room, "wait").await {
                tracing::warn!(error = %e, room, "cannot read a room's missing changes; retrying");
                // Tried again after another wait, not at once.
                if let Some(mark) = strong.marks().get_mut(&room) {
                    mark.waiting_since = Some(Instant::now());
                }
            }
        }
        if !due.is_empty() {
            tokio::task::yield_now().await;
            continue;
        }
        match soonest {
            Some(left) => {
                drop(strong);
                tokio::time::sleep(left).await;
            }
            // Nothing waits: sleep until something does (looking again now and then, so the
            // task ends once the bus is gone).
            None => {
                let _ = tokio::time::timeout(Duration::from_secs(1), strong.gaps.notified()).await;
            }
        }
    }
}

/// Every few seconds (and at once after a disconnect): proves the subscription still delivers,
/// keeps this incarnation alive, reaps dead ones, rebuilds presence, and fills what the bus
/// lost from the database.
async fn check(inner: std::sync::Weak<Inner>, mut redis: ConnectionManager) {
    let every = match inner.upgrade() {
        Some(inner) => inner.config.check_every,
        None => return,
    };
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let Some(woken) = inner.upgrade() else { return };
        tokio::select! {
            _ = tick.tick() => {}
            _ = woken.check_now.notified() => {}
        }
        drop(woken);
        let Some(inner) = inner.upgrade() else { return };
        if let Err(e) = refresh_presence(&inner, &mut redis).await {
            tracing::warn!(error = %e, "cannot refresh presence in Redis");
            metrics::redis_error("presence");
            inner.answered(false);
            inner.rewrite.store(true, Ordering::Relaxed);
        }
        inner.send(inner.own_channel(), &Wire::Probe);
        let rooms: Vec<i64> = inner.marks().keys().copied().collect();
        inner.fill_behind(&rooms, "check").await;
    }
}

async fn refresh_presence(inner: &Arc<Inner>, redis: &mut ConnectionManager) -> redis::RedisResult<()> {
    let ttl = inner.config.alive_ttl.as_millis() as u64;
    let key = format!("huddle:presence:{}", inner.node);
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg(format!("huddle:alive:{}", inner.node)).arg(1).arg("PX").arg(ttl).ignore();
    pipe.cmd("SADD").arg(NODES_SET).arg(&inner.node);
    // After Redis may have lost them: the counts are absolute, written again whole; and the
    // revocations published meanwhile may never have come, so they are read again.
    if inner.rewrite.swap(false, Ordering::Relaxed) {
        match db::sessions::revoked_since(&inner.db, crate::server::now_ms() - ACCESS_TTL_MS).await {
            Ok(ended) => {
                for (login, at) in ended {
                    inner.revoked.add(&[login], at, ACCESS_TTL_MS);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the logins ended lately");
                inner.rewrite.store(true, Ordering::Relaxed);
            }
        }
        pipe.cmd("DEL").arg(&key).ignore();
        let counts = inner.local.counts();
        if !counts.is_empty() {
            let mut hset = redis::cmd("HSET");
            hset.arg(&key);
            for (user, tabs) in counts {
                hset.arg(user).arg(tabs);
            }
            pipe.add_command(hset).ignore();
        }
    }
    pipe.cmd("SMEMBERS").arg(NODES_SET);
    let (added, nodes): (i64, Vec<String>) = pipe.query_async(redis).await?;
    inner.answered(true);
    // Not in the set: another node reaped this one (it was stopped, or cut off, for longer than
    // its alive key lives), so its counts are gone too: they are written again next time.
    let joined_before = inner.counts_written.swap(true, Ordering::Relaxed);
    if added == 1 && joined_before {
        tracing::warn!(node = %inner.node, "this node was reaped while away; writing its presence again");
        inner.rewrite.store(true, Ordering::Relaxed);
        inner.check_now.notify_one();
        // Its calls were ended by the reaper and may run elsewhere now: their tabs reconnect.
        if let Some(calls) = inner.calls() {
            tokio::spawn(async move { calls.give_up_all().await });
        }
    }
    let mut counts = HashMap::new();
    for node in nodes.into_iter().filter(|n| *n != inner.node) {
        let alive: bool = redis::cmd("EXISTS").arg(format!("huddle:alive:{node}")).query_async(redis).await?;
        let key = format!("huddle:presence:{node}");
        if alive {
            let tabs: HashMap<i64, u64> = redis::cmd("HGETALL").arg(&key).query_async(redis).await?;
            counts.insert(node, tabs);
            continue;
        }
        // Dead: one node reaps it. Its calls' stints end first, then their claims go, then
        // it leaves the set (a claim is taken over only from a node out of the set), then its
        // users go offline unless they are online elsewhere.
        let elected: Option<String> =
            redis::cmd("SET").arg(format!("huddle:reaping:{node}")).arg(&inner.node).arg("NX").arg("PX").arg(REAPING_MS).query_async(redis).await?;
        if elected.is_none() {
            continue;
        }
        let calls_key = format!("huddle:calls:{node}");
        let meetings: Vec<i64> = redis::cmd("SMEMBERS").arg(&calls_key).query_async(redis).await?;
        if !meetings.is_empty() {
            if let Err(e) = db::meetings::drop_stints(&inner.db, &meetings, crate::server::now_ms()).await {
                // Reaped later, by whichever node's lock comes first once this one expires.
                tracing::warn!(error = %e, node = %node, "cannot end a dead node's calls");
                continue;
            }
            for &meeting in &meetings {
                let _: i64 = release_cmd(&node, meeting).query_async(redis).await?;
            }
        }
        let () = redis::cmd("DEL").arg(&calls_key).query_async(redis).await?;
        let removed: i64 = redis::cmd("SREM").arg(NODES_SET).arg(&node).query_async(redis).await?;
        let users: Vec<i64> = redis::cmd("HKEYS").arg(&key).query_async(redis).await?;
        let () = redis::cmd("DEL").arg(&key).query_async(redis).await?;
        if removed == 1 {
            tracing::info!(node = %node, users = users.len(), calls = meetings.len(), "reaped a node that stopped answering");
            inner.send(ALL_CHANNEL.to_string(), &Wire::Gone(&node));
            inner.remote.lock().unwrap_or_else(|e| e.into_inner()).remove(&node);
            if let Some(calls) = inner.calls() {
                calls.home_gone(&node);
            }
            for user in users {
                inner.announce_offline(user).await;
            }
        }
    }
    *inner.remote.lock().unwrap_or_else(|e| e.into_inner()) = counts;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_reads_back_as_it_was_written() {
        let all = [
            Wire::Frame(Topic::Room(5), r#"{"type":"typing"}"#),
            Wire::Frame(Topic::User(7), "line one\nline two"),
            Wire::Change { room: 5, change: 12, frame: "{}" },
            Wire::Once(vec![Topic::Room(1), Topic::Room(2)], "x"),
            Wire::Joined { user: 3, room: 4, baseline: 99 },
            Wire::Left { user: 3, room: 4 },
            Wire::SignedOut { user: 3, logins: Logins::One(8) },
            Wire::SignedOut { user: 3, logins: Logins::AllBut(None) },
            Wire::SignedOut { user: 3, logins: Logins::AllBut(Some(2)) },
            Wire::Count { user: 3, tabs: 2 },
            Wire::Gone("abc"),
            Wire::Probe,
            Wire::Revoked { at: 1_000, logins: vec![4, 5] },
            Wire::Ask { conn: 9, user: 3, body: r#"["Ada","{\"type\":\"call_leave\"}"]"# },
            Wire::Answer { conn: 9, frame: "a\nb" },
            Wire::Hangup { conn: 9 },
            Wire::Homeless,
        ];
        for wire in all {
            let text = wire.encode("n1");
            assert_eq!(Wire::decode(&text), Some(("n1", wire)), "{text}");
        }
    }

    #[test]
    fn malformed_messages_are_refused() {
        for bad in ["", "n1", "n1 Z", "n1 C 5", "n1 C x 1\n{}", "n1 F q5\n{}", "n1 S 3 some 1", "n1 P 3 -1", "n1 O r1,zz\nx", "n1 A x 3\n[]", "n1 D -1\n{}", "n1 H"] {
            assert_eq!(Wire::decode(bad), None, "{bad:?}");
        }
    }
}
