//! Live calls: who holds which seat in which meeting, and the relay of their signals.
//!
//! Meetings and stints are stored (`db::meetings`); seats live here, in memory. Everything a
//! seat receives goes through the fan-out: a meeting's events to [`Topic::Meeting`], a signal
//! to the one seat it is for ([`Topic::Seat`]), so a bus between nodes carries calls unchanged.
//! A seat whose socket drops is kept for [`Calls::grace`]; a `call_join` with its resume token
//! takes it back, after that it leaves as `dropped`.
//!
//! With several nodes ([`CallLink`]), each call runs on one node, its home: the first node a
//! join reaches claims it. A tab on another node has its call frames carried there, where a
//! stand-in connection takes its seat, and gets back what the stand-in is sent. When a home
//! stops or dies, its calls' tabs everywhere are told to reconnect, and the first to rejoin
//! makes its node the new home.

use super::fanout::{ConnId, Event, Fanout, Inbox, Outbox, Topic};
use crate::models::meeting::{CallState, IceServer, LeftBy, MeetingCode, Participant, SeatId, Signal, polite};
use crate::models::ws::{ClientMsg, ErrorCode, ServerMsg};
use crate::server::db::{self, Db};
use crate::server::now_ms;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A refusal: the code and the message the client is sent.
pub type Refusal = (ErrorCode, String);

/// Where a meeting's call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Home {
    /// On this node (claimed now, if nobody ran it).
    Here,
    /// On another node, which answers.
    Node(String),
    /// On a node that stopped answering and is not reaped yet.
    Unreachable,
}

/// Calls across nodes: which node runs a call, and the messages between nodes about it.
pub trait CallLink: Send + Sync + 'static {
    /// The home of `meeting`'s call, claiming it for this node when no live node has it.
    fn claim(&self, meeting: i64) -> futures::future::BoxFuture<'_, Result<Home, String>>;
    /// This node no longer runs `meeting`'s call.
    fn release(&self, meeting: i64) -> futures::future::BoxFuture<'_, ()>;
    /// Carries a call frame of `conn` (of `user`, named `name`) to `node`, its call's home.
    fn ask(&self, node: &str, conn: ConnId, user: i64, name: &str, frame: &str);
    /// Carries a frame to connection `conn` of `node`.
    fn answer(&self, node: &str, conn: ConnId, frame: &str);
    /// Tells `node` that `conn` of this node, in a call there, is gone.
    fn gone(&self, node: &str, conn: ConnId);
    /// Tells every node this one runs no calls any more (it is stopping).
    fn homeless(&self);
}

/// A connection of another node, seated here: what it is sent goes back to its node. Dropped
/// when that connection closes: its task handles what was asked before, then lets the seat go
/// like a dropped socket's.
struct StandIn {
    asks: mpsc::Sender<ClientMsg>,
}

/// Call frames of one remote connection waiting to be handled, at most.
const ASKS_WAITING: usize = 256;
/// Stand-in connection ids: far above any local connection's.
const STAND_IN_IDS: u64 = 1 << 62;

/// Call settings (`HUDDLE_MEETING_MAX_PEERS`, ICE servers).
#[derive(Debug, Clone)]
pub struct CallConfig {
    /// Seats per meeting (full mesh: each sender encodes once per receiver).
    pub max_peers: usize,
    /// How long a dropped socket keeps its seat.
    pub grace: Duration,
    /// STUN servers every joiner gets.
    pub stun_urls: Vec<String>,
    /// TURN servers and their shared secret: each joiner gets credentials of its own.
    pub turn: Option<Turn>,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self { max_peers: 4, grace: Duration::from_secs(30), stun_urls: Vec::new(), turn: None }
    }
}

/// TURN with coturn's `use-auth-secret`: credentials valid for [`Turn::ttl`].
#[derive(Debug, Clone)]
pub struct Turn {
    pub urls: Vec<String>,
    pub secret: String,
    pub ttl: Duration,
}

impl Turn {
    /// Username `<expiry>:<user id>`, credential base64(HMAC-SHA1(secret, username)).
    pub fn credentials(&self, user_id: i64, now_secs: u64) -> IceServer {
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let username = format!("{}:{user_id}", now_secs + self.ttl.as_secs());
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(self.secret.as_bytes()).expect("HMAC takes any key length");
        mac.update(username.as_bytes());
        let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        IceServer { urls: self.urls.clone(), username: Some(username), credential: Some(credential) }
    }
}

struct Seat {
    id: SeatId,
    user_id: i64,
    name: String,
    state: CallState,
    joined_at: i64,
    /// The attendance row of this stint (0 until stored).
    stint: i64,
    token: String,
    /// The connection holding the seat; `None` while within the grace period.
    conn: Option<ConnId>,
    /// Times the seat's socket dropped: a grace timer acts only on the drop it was started for.
    drops: u32,
}

struct LiveCall {
    code: String,
    room: i64,
    /// The room is the meeting's own (not a group room or conversation).
    own_room: bool,
    host: i64,
    locked: bool,
    seats: Vec<Seat>,
}

impl LiveCall {
    fn participants_for(&self, me: SeatId) -> Vec<Participant> {
        self.seats.iter().filter(|s| s.id != me && s.stint != 0).map(|s| participant(s, me)).collect()
    }

    /// The answer to a `call_join` that got seat `seat` (its token `resume`).
    fn joined(&self, meeting: i64, seat: SeatId, resume: String, ice_servers: Vec<IceServer>) -> ServerMsg {
        ServerMsg::CallJoined {
            meeting,
            code: self.code.clone(),
            room: self.room,
            seat,
            resume,
            host_id: self.host,
            locked: self.locked,
            participants: self.participants_for(seat),
            ice_servers,
        }
    }
}

fn participant(seat: &Seat, receiver: SeatId) -> Participant {
    Participant {
        seat: seat.id,
        user_id: seat.user_id,
        name: seat.name.clone(),
        state: seat.state,
        joined_at: seat.joined_at,
        polite: polite(receiver, seat.id),
    }
}

#[derive(Default)]
struct Live {
    calls: HashMap<i64, LiveCall>,
    /// Which seat each connection holds: one per connection.
    by_conn: HashMap<ConnId, (i64, SeatId)>,
}

/// Every live call of this process.
pub struct Calls {
    db: Db,
    fanout: Arc<dyn Fanout>,
    pub config: CallConfig,
    live: Mutex<Live>,
    next_seat: AtomicU64,
    /// Meetings one user may start: 60 an hour.
    pub starts: super::limits::KeyedRate<i64>,
    /// Seats one user may take (each stores a stint): 30 a minute, over all their tabs.
    joins: super::limits::KeyedRate<i64>,
    /// Meetings one user may look up by code, over HTTP (codes are not to be guessed): 120 a
    /// minute.
    pub lookups: super::limits::KeyedRate<i64>,
    /// Set with several nodes.
    link: std::sync::OnceLock<Arc<dyn CallLink>>,
    /// Connections of this process in a call another node runs, and that node.
    away: Mutex<HashMap<ConnId, String>>,
    /// Connections of other nodes in calls this node runs: (node, connection) to stand-in.
    stand_ins: Mutex<HashMap<(String, ConnId), StandIn>>,
    next_stand_in: AtomicU64,
}

/// What a call frame came to.
enum Handled {
    Done,
    /// Boxed: a `call_joined` is large, and rare.
    Answer(Box<ServerMsg>),
    /// The call runs on another node.
    Away(String),
}

/// Who asks: the user and their connection.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub outbox: &'a Outbox,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    (code, message.into())
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "call storage failed");
    refuse(ErrorCode::Internal, crate::models::AppError::Internal.to_string())
}

const NOT_IN_CALL: &str = "You are not in this call.";

impl Calls {
    pub fn new(db: Db, fanout: Arc<dyn Fanout>, config: CallConfig) -> Arc<Self> {
        // Seat numbers start at random: a call that moves to another node never reuses a
        // number its tabs knew for someone else (below 2^53, exact in JavaScript).
        let first_seat = u64::from(rand::random::<u32>()) << 16 | 1;
        Arc::new(Self { db, fanout, config, live: Mutex::new(Live::default()), next_seat: AtomicU64::new(first_seat),
            starts: super::limits::KeyedRate::per_hour(60),
            joins: super::limits::KeyedRate::per_minute(30),
            lookups: super::limits::KeyedRate::per_minute(120),
            link: std::sync::OnceLock::new(),
            away: Mutex::default(),
            stand_ins: Mutex::default(),
            next_stand_in: AtomicU64::new(STAND_IN_IDS),
        })
    }

    /// Calls run on one node of several: `link` finds it and carries frames there.
    pub fn set_link(&self, link: Arc<dyn CallLink>) {
        let _ = self.link.set(link);
    }

    /// A call frame from a tab of this process: handled here, or carried to its call's home.
    /// Returns the answer to send the tab, if any.
    pub async fn from_tab(self: &Arc<Self>, caller: Caller<'_>, msg: ClientMsg) -> Result<Option<ServerMsg>, Refusal> {
        let conn = caller.outbox.id;
        let joining = matches!(msg, ClientMsg::CallJoin { .. });
        let away = self.away().get(&conn).cloned();
        if let (Some(node), Some(link)) = (away, self.link.get()) {
            if !joining {
                link.ask(&node, conn, caller.user_id, caller.name, &serde_json::to_string(&msg).map_err(internal)?);
                return Ok(None);
            }
            // A new join: the call this tab was in elsewhere is left behind (its seat, if the
            // tab still held one, waits out the grace and leaves as dropped).
            self.forget_away(conn);
        }
        // Kept to carry elsewhere, serialized only if the call runs there.
        let join = joining.then(|| msg.clone());
        match self.handle(caller, msg).await? {
            Handled::Done => Ok(None),
            Handled::Answer(answer) => Ok(Some(*answer)),
            Handled::Away(node) => {
                let (Some(link), Some(join)) = (self.link.get(), join) else { return Err(internal("a call away without a link")) };
                let frame = serde_json::to_string(&join).map_err(internal)?;
                self.away().insert(conn, node.clone());
                self.fanout.subscribe(Topic::Conn(conn), caller.outbox);
                link.ask(&node, conn, caller.user_id, caller.name, &frame);
                Ok(None)
            }
        }
    }

    /// Handles a call frame here, for a tab of this process or a stand-in.
    async fn handle(self: &Arc<Self>, caller: Caller<'_>, msg: ClientMsg) -> Result<Handled, Refusal> {
        let (conn, user) = (caller.outbox.id, caller.user_id);
        match msg {
            ClientMsg::CallJoin { code, resume, fresh } => return Box::pin(self.join(caller, &code, resume.as_deref(), fresh)).await,
            ClientMsg::CallLeave => self.leave(conn).await,
            ClientMsg::CallSignal { to, signal } => self.signal(conn, to, signal),
            ClientMsg::CallState { state } => self.set_state(conn, state),
            ClientMsg::CallMute { seat } => self.mute(conn, user, seat),
            ClientMsg::CallRemove { seat } => self.remove(conn, user, seat).await,
            ClientMsg::CallLock { locked } => self.lock(conn, user, locked).await,
            ClientMsg::CallEnd => self.end(conn, user).await,
            _ => Ok(()),
        }
        .map(|()| Handled::Done)
    }

    fn away(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, String>> {
        self.away.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stand_ins(&self) -> std::sync::MutexGuard<'_, HashMap<(String, ConnId), StandIn>> {
        self.stand_ins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// This tab's call elsewhere is over for it: its home is told, its frames stop.
    fn forget_away(&self, conn: ConnId) {
        let Some(node) = self.away().remove(&conn) else { return };
        self.fanout.unsubscribe(Topic::Conn(conn), conn);
        if let Some(link) = self.link.get() {
            link.gone(&node, conn);
        }
    }

    /// A call frame from connection `conn` of `node`, for a call this node runs. Frames of one
    /// connection are handled in order, by its stand-in's task.
    pub fn asked(self: &Arc<Self>, node: &str, conn: ConnId, user: i64, name: &str, frame: &str) {
        let msg = match serde_json::from_str::<ClientMsg>(frame) {
            Ok(msg) if msg.is_call() => msg,
            _ => return tracing::warn!(node, "ignored a call frame from another node that is not one"),
        };
        let mut stand_ins = self.stand_ins();
        let key = (node.to_string(), conn);
        if !stand_ins.contains_key(&key) {
            let Some(link) = self.link.get().cloned() else { return };
            let id = self.next_stand_in.fetch_add(1, Ordering::Relaxed);
            let (outbox, inbox) = Outbox::new(id, ASKS_WAITING);
            let (asks, queued) = mpsc::channel(ASKS_WAITING);
            let carry = tokio::spawn(carry_back(inbox, link, node.to_string(), conn)).abort_handle();
            tokio::spawn(handle_asks(Arc::downgrade(self), outbox, user, name.to_string(), queued, carry));
            stand_ins.insert(key.clone(), StandIn { asks });
        }
        if stand_ins[&key].asks.try_send(msg).is_err() {
            tracing::warn!(node, conn, "dropped a call frame from another node: too many waiting");
        }
    }

    /// Connection `conn` of `node` closed (or `None`: every connection of `node`, which
    /// stopped): its seats wait out the grace like any dropped socket's.
    pub fn remote_gone(&self, node: &str, conn: Option<ConnId>) {
        self.stand_ins().retain(|(n, c), _| n != node || conn.is_some_and(|conn| conn != *c));
    }

    /// `node` runs no calls any more (it stopped or died): this node's tabs in its calls
    /// reconnect, and rejoin wherever the call runs next.
    pub fn home_gone(self: &Arc<Self>, node: &str) {
        let conns: Vec<ConnId> = self.away().iter().filter(|(_, n)| n.as_str() == node).map(|(&c, _)| c).collect();
        for conn in conns {
            self.away().remove(&conn);
            self.fanout.publish(Topic::Conn(conn), Event::Restart);
            self.fanout.unsubscribe(Topic::Conn(conn), conn);
        }
        self.remote_gone(node, None);
    }

    /// This node stops running calls (it is stopping, or found itself reaped: another node
    /// may run them already): every seat's tab reconnects, the stints end as dropped, the
    /// claims are released and the other nodes are told.
    pub async fn give_up_all(self: &Arc<Self>) {
        let calls: Vec<(i64, LiveCall)> = {
            let mut live = self.live();
            live.by_conn.clear();
            live.calls.drain().collect()
        };
        let meetings: Vec<i64> = calls.iter().map(|(meeting, _)| *meeting).collect();
        if let Err(e) = db::meetings::drop_stints(&self.db, &meetings, now_ms()).await {
            tracing::error!(error = %e, "cannot store the end of the stints of the calls given up");
        }
        for (meeting, call) in calls {
            for seat in &call.seats {
                self.fanout.publish(Topic::Seat(seat.id), Event::Restart);
                if let Some(conn) = seat.conn {
                    self.fanout.unsubscribe(Topic::Meeting(meeting), conn);
                    self.fanout.unsubscribe(Topic::Seat(seat.id), conn);
                }
            }
            if let Some(link) = self.link.get() {
                link.release(meeting).await;
            }
        }
        if let Some(link) = self.link.get() {
            link.homeless();
        }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, topic: Topic, msg: &ServerMsg) {
        super::publish(&*self.fanout, topic, msg);
    }

    fn ice_servers(&self, user_id: i64) -> Vec<IceServer> {
        let mut servers = Vec::new();
        if !self.config.stun_urls.is_empty() {
            servers.push(IceServer { urls: self.config.stun_urls.clone(), username: None, credential: None });
        }
        if let Some(turn) = &self.config.turn {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
            servers.push(turn.credentials(user_id, now));
        }
        servers
    }

    /// Seats `caller` in the call of `code`, or gives back the seat `resume` names.
    async fn join(self: &Arc<Self>, caller: Caller<'_>, code: &str, resume: Option<&str>, fresh: bool) -> Result<Handled, Refusal> {
        if self.live().by_conn.contains_key(&caller.outbox.id) {
            return Err(refuse(ErrorCode::Invalid, "This tab is already in a call: leave it first."));
        }
        let no_meeting = || refuse(ErrorCode::NoMeeting, "There is no meeting with that code, or it has ended.");
        let code = MeetingCode::parse(code).map_err(|_| no_meeting())?;
        let access = crate::server::access::meeting(&self.db, &code, caller.user_id).await.map_err(internal)?.ok_or_else(no_meeting)?;
        let meeting = access.meeting;
        if meeting.ended_at.is_some() {
            return Err(no_meeting());
        }
        if let Some(link) = self.link.get() {
            match link.claim(meeting.id).await.map_err(internal)? {
                Home::Here => {}
                Home::Node(node) => return Ok(Handled::Away(node)),
                Home::Unreachable => {
                    return Err(refuse(ErrorCode::Internal, "The server running this call stopped answering: try again in a few seconds."));
                }
            }
        }
        if let Some(token) = resume
            && let Some(joined) = self.resume(caller, meeting.id, token, fresh)
        {
            return Ok(Handled::Answer(Box::new(joined)));
        }
        if self.joins.check(&caller.user_id).is_err() {
            return Err(refuse(ErrorCode::RateLimited, "Too many joins: wait a minute and try again."));
        }
        // Reserve the seat first (the limit holds however many join at once), store the stint,
        // then let the others know.
        let seat_id = self.next_seat.fetch_add(1, Ordering::Relaxed);
        {
            let mut live = self.live();
            let call = live.calls.entry(meeting.id).or_insert_with(|| LiveCall {
                code: meeting.code.clone(),
                room: meeting.room_id,
                own_room: meeting.room_kind == "meeting",
                host: meeting.host_id,
                locked: meeting.locked != 0,
                seats: Vec::new(),
            });
            let refused = if call.locked && caller.user_id != call.host {
                Some(refuse(ErrorCode::CallLocked, "The host has locked this meeting: nobody new may join."))
            } else if call.seats.len() >= self.config.max_peers {
                let max = self.config.max_peers;
                Some(refuse(ErrorCode::CallFull, format!("This call is full: at most {max} people, so that every video stays smooth.")))
            } else {
                None
            };
            if let Some(refusal) = refused {
                // A call nobody is in is not kept (the room would show it as on).
                if call.seats.is_empty() {
                    live.calls.remove(&meeting.id);
                }
                return Err(refusal);
            }
            call.seats.push(Seat {
                id: seat_id,
                user_id: caller.user_id,
                name: caller.name.to_string(),
                state: CallState::default(),
                joined_at: now_ms(),
                stint: 0,
                token: crate::server::signing::random_token(24),
                conn: Some(caller.outbox.id),
                drops: 0,
            });
            live.by_conn.insert(caller.outbox.id, (meeting.id, seat_id));
        }
        let stored = db::meetings::begin_stint(&self.db, meeting.id, caller.user_id, now_ms()).await;
        let (stint, added) = match stored {
            Ok(Some(stint)) => stint,
            outcome => {
                self.forget_seat(meeting.id, seat_id, caller.outbox.id);
                return Err(match outcome {
                    Err(e) => internal(e),
                    _ => no_meeting(),
                });
            }
        };
        if added {
            // The new member's sockets follow the meeting's chat room.
            self.fanout.publish(Topic::User(caller.user_id), super::joined(&self.db, meeting.room_id).await);
        }
        let answer = {
            let mut live = self.live();
            let seat = live.calls.get_mut(&meeting.id).and_then(|c| c.seats.iter_mut().find(|s| s.id == seat_id));
            match seat {
                Some(seat) => {
                    seat.stint = stint;
                    let (joined, token, present) = (participant(seat, 0), seat.token.clone(), seat.conn == Some(caller.outbox.id));
                    // The others hear of the newcomer before it is subscribed, so it never hears
                    // of itself; a socket that closed meanwhile is not subscribed at all (its
                    // seat waits out the grace like any dropped one).
                    self.publish(Topic::Meeting(meeting.id), &ServerMsg::CallPeerJoined { meeting: meeting.id, participant: Participant { polite: false, ..joined } });
                    if present {
                        self.fanout.subscribe(Topic::Meeting(meeting.id), caller.outbox);
                        self.fanout.subscribe(Topic::Seat(seat_id), caller.outbox);
                    }
                    let call = &live.calls[&meeting.id];
                    self.announce_in_room(call);
                    Some(call.joined(meeting.id, seat_id, token, self.ice_servers(caller.user_id)))
                }
                None => None,
            }
        };
        match answer {
            Some(answer) => Ok(Handled::Answer(Box::new(answer))),
            None => {
                // Removed, or the call ended, while the stint was being stored: close it too.
                if let Err(e) = db::meetings::end_stint(&self.db, stint, LeftBy::Removed, now_ms()).await {
                    tracing::error!(error = %e, "cannot store the end of a stint");
                }
                Err(no_meeting())
            }
        }
    }

    /// Gives a seat kept after a dropped socket back to the same user's new connection.
    fn resume(&self, caller: Caller<'_>, meeting: i64, token: &str, fresh: bool) -> Option<ServerMsg> {
        let mut live = self.live();
        let Live { calls, by_conn } = &mut *live;
        let call = calls.get_mut(&meeting)?;
        let seat = call.seats.iter_mut().find(|s| s.user_id == caller.user_id && s.stint != 0 && crate::server::signing::constant_time_eq(s.token.as_bytes(), token.as_bytes()))?;
        if let Some(old) = seat.conn.replace(caller.outbox.id) {
            by_conn.remove(&old);
            self.fanout.unsubscribe(Topic::Meeting(meeting), old);
            self.fanout.unsubscribe(Topic::Seat(seat.id), old);
        }
        if fresh {
            // A reloaded page: its connections are gone, so the others drop theirs to the old
            // seat and connect to the new one (same person, same stint).
            let old = seat.id;
            seat.id = self.next_seat.fetch_add(1, Ordering::Relaxed);
            seat.token = crate::server::signing::random_token(24);
            self.publish(Topic::Meeting(meeting), &ServerMsg::CallPeerLeft { meeting, seat: old, left_by: LeftBy::Left });
            let newcomer = Participant { polite: false, ..participant(seat, 0) };
            self.publish(Topic::Meeting(meeting), &ServerMsg::CallPeerJoined { meeting, participant: newcomer });
        }
        by_conn.insert(caller.outbox.id, (meeting, seat.id));
        self.fanout.subscribe(Topic::Meeting(meeting), caller.outbox);
        self.fanout.subscribe(Topic::Seat(seat.id), caller.outbox);
        let (seat_id, token) = (seat.id, seat.token.clone());
        Some(call.joined(meeting, seat_id, token, self.ice_servers(caller.user_id)))
    }

    /// Drops a seat whose stint could not be stored.
    fn forget_seat(&self, meeting: i64, seat: SeatId, conn: ConnId) {
        let mut live = self.live();
        live.by_conn.remove(&conn);
        if let Some(call) = live.calls.get_mut(&meeting) {
            call.seats.retain(|s| s.id != seat);
            if call.seats.is_empty() {
                live.calls.remove(&meeting);
            }
        }
    }

    /// The meeting and seat `conn` holds.
    fn seat_of(&self, conn: ConnId) -> Result<(i64, SeatId), Refusal> {
        self.live().by_conn.get(&conn).copied().ok_or_else(|| refuse(ErrorCode::NotInCall, NOT_IN_CALL))
    }

    /// Relays `signal` to seat `to` of the sender's call, and to nobody else.
    pub fn signal(&self, conn: ConnId, to: SeatId, signal: Signal) -> Result<(), Refusal> {
        signal.check().map_err(|m| refuse(ErrorCode::Invalid, m))?;
        let (meeting, from, present) = {
            let live = self.live();
            let (meeting, from) = live.by_conn.get(&conn).copied().ok_or_else(|| refuse(ErrorCode::NotInCall, NOT_IN_CALL))?;
            let present = live.calls.get(&meeting).is_some_and(|c| c.seats.iter().any(|s| s.id == to && s.id != from));
            (meeting, from, present)
        };
        if !present {
            return Err(refuse(ErrorCode::NotInCall, "That participant is not in your call."));
        }
        self.publish(Topic::Seat(to), &ServerMsg::CallSignal { meeting, from, signal });
        Ok(())
    }

    /// Records and shows what the caller shares.
    pub fn set_state(&self, conn: ConnId, state: CallState) -> Result<(), Refusal> {
        let (meeting, seat) = self.seat_of(conn)?;
        let mut live = self.live();
        let s = live.calls.get_mut(&meeting).and_then(|c| c.seats.iter_mut().find(|s| s.id == seat)).ok_or_else(|| refuse(ErrorCode::NotInCall, NOT_IN_CALL))?;
        if s.state != state {
            s.state = state;
            self.publish(Topic::Meeting(meeting), &ServerMsg::CallPeerState { meeting, seat, state });
        }
        Ok(())
    }

    /// The caller leaves the call.
    pub async fn leave(&self, conn: ConnId) -> Result<(), Refusal> {
        let (meeting, seat) = self.seat_of(conn)?;
        self.vacate(meeting, seat, LeftBy::Left).await;
        Ok(())
    }

    /// The caller's socket closed: its seat waits [`CallConfig::grace`] for it to come back.
    pub fn disconnected(self: &Arc<Self>, conn: ConnId) {
        self.forget_away(conn);
        let drop = {
            let mut live = self.live();
            let Some((meeting, seat)) = live.by_conn.remove(&conn) else { return };
            let drops = live.calls.get_mut(&meeting).and_then(|c| c.seats.iter_mut().find(|s| s.id == seat)).map(|s| {
                s.conn = None;
                s.drops += 1;
                s.drops
            });
            (meeting, seat, drops)
        };
        let (meeting, seat, drops) = drop;
        self.fanout.unsubscribe(Topic::Meeting(meeting), conn);
        self.fanout.unsubscribe(Topic::Seat(seat), conn);
        let Some(drops) = drops else { return };
        let calls = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(calls.config.grace).await;
            // Still away since this drop (not back, nor back and dropped again since).
            let gone = calls.live().calls.get(&meeting).and_then(|c| c.seats.iter().find(|s| s.id == seat)).is_some_and(|s| s.conn.is_none() && s.drops == drops);
            if gone {
                calls.vacate(meeting, seat, LeftBy::Dropped).await;
            }
        });
    }

    /// Takes a seat out of its call, stores the end of its stint, tells the others; the last
    /// one out ends the meeting.
    async fn vacate(&self, meeting: i64, seat: SeatId, by: LeftBy) {
        let (stint, conn, ended) = {
            let mut live = self.live();
            let Live { calls, by_conn } = &mut *live;
            let Some(call) = calls.get_mut(&meeting) else { return };
            let Some(at) = call.seats.iter().position(|s| s.id == seat) else { return };
            let gone = call.seats.remove(at);
            if let Some(conn) = gone.conn {
                by_conn.remove(&conn);
            }
            let ended = call.seats.is_empty();
            if !ended {
                self.announce_in_room(call);
            }
            (gone.stint, gone.conn, ended)
        };
        if let Some(conn) = conn {
            self.fanout.unsubscribe(Topic::Meeting(meeting), conn);
            self.fanout.unsubscribe(Topic::Seat(seat), conn);
        }
        // Stored first, then told: whoever hears of it and looks finds it recorded.
        let now = now_ms();
        if stint != 0
            && let Err(e) = db::meetings::end_stint(&self.db, stint, by, now).await
        {
            tracing::error!(error = %e, "cannot store the end of a stint");
        }
        self.publish(Topic::Meeting(meeting), &ServerMsg::CallPeerLeft { meeting, seat, left_by: by });
        if ended {
            self.end_if_empty(meeting, now).await;
        }
    }

    /// Ends the meeting when nobody took a seat meanwhile.
    async fn end_if_empty(&self, meeting: i64, now: i64) {
        let call = {
            let mut live = self.live();
            match live.calls.get(&meeting) {
                Some(c) if c.seats.is_empty() => live.calls.remove(&meeting),
                _ => None,
            }
        };
        let Some(call) = call else { return };
        if let Err(e) = db::meetings::end(&self.db, meeting, now).await {
            tracing::error!(error = %e, "cannot store the end of a meeting");
        }
        if let Some(link) = self.link.get() {
            link.release(meeting).await;
        }
        if !call.own_room {
            self.publish(Topic::Room(call.room), &ServerMsg::RoomCall { room: call.room, code: call.code, people: Vec::new() });
        }
    }

    /// Tells the members of the room a call was started from who is in it now.
    fn announce_in_room(&self, call: &LiveCall) {
        if !call.own_room {
            let people = call.seats.iter().filter(|s| s.stint != 0).map(|s| s.name.clone()).collect();
            self.publish(Topic::Room(call.room), &ServerMsg::RoomCall { room: call.room, code: call.code.clone(), people });
        }
    }

    /// Calls on now, and the people in them (for the metrics).
    pub fn load(&self) -> (usize, usize) {
        let live = self.live();
        (live.calls.len(), live.calls.values().map(|c| c.seats.iter().filter(|s| s.stint != 0).count()).sum())
    }

    /// The host's call and the seat it addresses, or a refusal.
    fn hosted(&self, conn: ConnId, user: i64, target: Option<SeatId>) -> Result<i64, Refusal> {
        let (meeting, _) = self.seat_of(conn)?;
        let live = self.live();
        let call = live.calls.get(&meeting).ok_or_else(|| refuse(ErrorCode::NotInCall, NOT_IN_CALL))?;
        if call.host != user {
            return Err(refuse(ErrorCode::NotInCall, "Only the host may do that."));
        }
        if let Some(t) = target
            && !call.seats.iter().any(|s| s.id == t)
        {
            return Err(refuse(ErrorCode::NotInCall, "That participant is not in your call."));
        }
        Ok(meeting)
    }

    /// Host: asks `seat` to mute; everyone sees its microphone off at once.
    pub fn mute(&self, conn: ConnId, user: i64, seat: SeatId) -> Result<(), Refusal> {
        let meeting = self.hosted(conn, user, Some(seat))?;
        let state = {
            let mut live = self.live();
            let s = live.calls.get_mut(&meeting).and_then(|c| c.seats.iter_mut().find(|s| s.id == seat)).ok_or_else(|| refuse(ErrorCode::NotInCall, NOT_IN_CALL))?;
            s.state.mic = false;
            s.state
        };
        self.publish(Topic::Seat(seat), &ServerMsg::CallMuted { meeting });
        self.publish(Topic::Meeting(meeting), &ServerMsg::CallPeerState { meeting, seat, state });
        Ok(())
    }

    /// Host: takes `seat` out of the call.
    pub async fn remove(&self, conn: ConnId, user: i64, seat: SeatId) -> Result<(), Refusal> {
        let meeting = self.hosted(conn, user, Some(seat))?;
        self.publish(Topic::Seat(seat), &ServerMsg::CallEnded { meeting, left_by: LeftBy::Removed });
        self.vacate(meeting, seat, LeftBy::Removed).await;
        Ok(())
    }

    /// Host: locks or unlocks the meeting.
    pub async fn lock(&self, conn: ConnId, user: i64, locked: bool) -> Result<(), Refusal> {
        let meeting = self.hosted(conn, user, None)?;
        db::meetings::set_locked(&self.db, meeting, locked).await.map_err(internal)?;
        if let Some(call) = self.live().calls.get_mut(&meeting) {
            call.locked = locked;
        }
        self.publish(Topic::Meeting(meeting), &ServerMsg::CallLocked { meeting, locked });
        Ok(())
    }

    /// Host: ends the call for everyone: stored first, then each seat is told.
    pub async fn end(&self, conn: ConnId, user: i64) -> Result<(), Refusal> {
        let meeting = self.hosted(conn, user, None)?;
        let seats: Vec<(SeatId, Option<ConnId>)> = {
            let mut live = self.live();
            let Live { calls, by_conn } = &mut *live;
            let seats: Vec<_> = calls.get_mut(&meeting).map(|c| c.seats.drain(..).map(|s| (s.id, s.conn)).collect()).unwrap_or_default();
            for (_, conn) in &seats {
                if let Some(conn) = conn {
                    by_conn.remove(conn);
                }
            }
            seats
        };
        // Closes every open stint as `ended`, then the meeting.
        self.end_if_empty(meeting, now_ms()).await;
        for (seat, conn) in seats {
            self.publish(Topic::Seat(seat), &ServerMsg::CallEnded { meeting, left_by: LeftBy::Ended });
            if let Some(conn) = conn {
                self.fanout.unsubscribe(Topic::Meeting(meeting), conn);
                self.fanout.unsubscribe(Topic::Seat(seat), conn);
            }
        }
        Ok(())
    }
}

/// Carries what a stand-in is sent back to its connection's node.
async fn carry_back(mut inbox: Inbox, link: Arc<dyn CallLink>, node: String, conn: ConnId) {
    loop {
        // Only frames: the stand-in's connection closes on its own node.
        if let Event::Frame(frame) = inbox.recv().await {
            link.answer(&node, conn, frame.as_str());
        }
    }
}

/// Handles a remote connection's call frames in order, as its stand-in; once the connection
/// is gone, its seat waits out the grace like a dropped socket's.
async fn handle_asks(calls: std::sync::Weak<Calls>, outbox: Outbox, user: i64, name: String, mut asks: mpsc::Receiver<ClientMsg>, carry: tokio::task::AbortHandle) {
    let _carry = AbortOnDrop(carry);
    while let Some(msg) = asks.recv().await {
        let Some(calls) = calls.upgrade() else { return };
        let caller = Caller { user_id: user, name: &name, outbox: &outbox };
        let answer = match calls.handle(caller, msg).await {
            Ok(Handled::Done) => None,
            Ok(Handled::Answer(answer)) => Some(*answer),
            // Claimed by another node meanwhile: the tab's node asks again on the next join.
            Ok(Handled::Away(_)) => Some(ServerMsg::error(ErrorCode::Internal, "The call moved to another server: try again.")),
            Err((code, message)) => Some(ServerMsg::error(code, message)),
        };
        if let Some(frame) = answer.as_ref().and_then(super::encode) {
            outbox.send(frame).await;
        }
    }
    if let Some(calls) = calls.upgrade() {
        calls.disconnected(outbox.id);
    }
}

/// Stops a task when its owner ends, however it ends.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against OpenSSL: what coturn computes for the same secret and username.
    #[test]
    fn turn_credentials_follow_coturns_scheme() {
        let turn = Turn { urls: vec!["turn:127.0.0.1:3478".into()], secret: "secret".into(), ttl: Duration::from_secs(3600) };
        let server = turn.credentials(42, 1_700_000_000);
        assert_eq!(server.username.as_deref(), Some("1700003600:42"));
        // echo -n '1700003600:42' | openssl dgst -sha1 -hmac secret -binary | base64
        assert_eq!(server.credential.as_deref(), Some(TURN_VECTOR));
    }

    const TURN_VECTOR: &str = "BiRzwDjrED4KnqX7kNBEFJ1fDaQ=";
}
