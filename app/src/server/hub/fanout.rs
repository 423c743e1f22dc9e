//! Fan-out: the one interface between the hub and whatever carries events to sockets.
//!
//! The hub publishes an event to a topic (a room, or all of one user's connections) and
//! subscribes its connections to topics. [`LocalFanout`] delivers within this process; a Redis
//! implementation (one node's publish reaching every node's subscribers) plugs in behind the same
//! trait. Nothing here orders or keeps messages: order and replay come from the database.

use super::socket::{Frame, Out, ReadSide, Sent, Wire};
use crate::server::metrics;
use futures::task::AtomicWaker;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, MutexGuard, RwLock};
use std::task::Poll;
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every connection of every member of the room.
    Room(i64),
    /// Every connection of one user.
    User(i64),
    /// Every seat of a live call (by meeting id).
    Meeting(i64),
    /// The one connection holding a seat in a call.
    Seat(u64),
    /// One connection of this process, in a call another node runs: what that node sends it.
    Conn(ConnId),
}

/// A connection's id, unique within this process.
pub type ConnId = u64;

/// What travels through the fan-out.
#[derive(Debug, Clone)]
pub enum Event {
    /// A serialized `ServerMsg`, encoded once for all receivers (a 16-byte pointer).
    Frame(Frame),
    /// The user joined a room: their connections subscribe to it.
    Joined(Box<Joining>),
    /// The user left this room: their connections unsubscribe.
    Left(i64),
    /// Logins of the user ended: their connections close.
    SignedOut(Box<Logins>),
    /// This process is stopping: the connection closes with 1012 (service restart) and its
    /// client reconnects, to another node or to this one restarted.
    Restart,
}

/// A room joined, and its last change when it was joined: a node that starts serving the room
/// for this connection delivers the changes after it (the client loads what came before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Joining {
    pub room: i64,
    pub baseline: i64,
}

/// Which of a user's logins ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logins {
    One(i64),
    /// All of them, except the one named (a password change keeps the login it was made in).
    AllBut(Option<i64>),
}

impl Logins {
    pub fn include(self, session: i64) -> bool {
        match self {
            Logins::One(s) => s == session,
            Logins::AllBut(keep) => keep != Some(session),
        }
    }
}

/// The receiving end of one connection: its socket, and one bounded queue for everything the
/// connection writes (fanned-out frames, membership changes, and its own answers), so an idle
/// socket holds one small queue. A frame offered while nothing waits is written to the socket at
/// once ([`super::socket`]); the rest waits in the queue for the connection's task. A full queue
/// never blocks the publisher: a dropped frame marks the connection lagged (it is told to resync
/// from the database), a dropped membership change marks it stale (it is closed so the client
/// reconnects with fresh subscriptions).
#[derive(Clone)]
pub struct Outbox {
    pub id: ConnId,
    queue: Arc<Queue>,
}

const LAGGED: u8 = 1;
const STALE: u8 = 2;

/// One connection's queue. A `VecDeque` behind a lock, not a channel: an idle socket's queue
/// is this struct and no buffer (tokio's channel allocated 1 KiB per connection up front, its
/// first block of 32 slots and a cache-padded header), and it grows only while frames wait.
struct Queue {
    events: std::sync::Mutex<VecDeque<Event>>,
    capacity: usize,
    flags: AtomicU8,
    /// The connection's writer, waiting for an event.
    reader: AtomicWaker,
    /// Senders waiting for room ([`Outbox::send`]), and how many there are.
    room: Notify,
    waiting: AtomicUsize,
    /// The socket, for a connection's queue (not for a call's stand-in, whose frames are carried
    /// to another node).
    wire: Option<Wire>,
}

/// Capacity a queue keeps once it is empty again (a burst's buffer is given back).
const KEPT_CAPACITY: usize = 8;

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Event>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event` if there is room; the writer wakes.
    fn push(&self, event: Event) -> Result<(), Event> {
        let mut events = self.lock();
        if events.len() >= self.capacity {
            return Err(event);
        }
        events.push_back(event);
        drop(events);
        self.reader.wake();
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Writes `frame` to the socket now if nothing waits before it; false when it must queue.
    fn write_now(&self, frame: &Frame) -> bool {
        let Some(wire) = &self.wire else { return false };
        let Some(mut out) = wire.try_lock() else { return false };
        if out.is_gone() {
            // The connection is over: nobody reads what would queue.
            return true;
        }
        // Lock order: the wire, then the queue (the connection's task takes from the queue
        // only under the wire's lock, so an empty queue here means nothing is in between).
        if !out.is_idle() || !self.is_empty() {
            return false;
        }
        let sent = out.write_now(frame.bytes());
        drop(out);
        wire.count(1);
        if sent != Sent::Done {
            self.wake_writer(wire);
        }
        true
    }

    fn wake_writer(&self, wire: &Wire) {
        wire.wants_writer.store(true, Ordering::SeqCst);
        self.reader.wake();
    }

    fn pop(&self) -> Option<Event> {
        let mut events = self.lock();
        let event = events.pop_front()?;
        if events.is_empty() && events.capacity() > KEPT_CAPACITY {
            events.shrink_to(KEPT_CAPACITY);
        }
        drop(events);
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.room.notify_one();
        }
        Some(event)
    }
}

/// What a connection reads its events from.
pub struct Inbox {
    queue: Arc<Queue>,
}

impl Inbox {
    /// The next event, waiting for one.
    pub async fn recv(&mut self) -> Event {
        std::future::poll_fn(|cx| {
            if let Some(event) = self.queue.pop() {
                return Poll::Ready(event);
            }
            self.queue.reader.register(cx.waker());
            // An event queued between the pop and the registration woke nobody: look again.
            self.queue.pop().map_or(Poll::Pending, Poll::Ready)
        })
        .await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        self.queue.pop()
    }

    /// True once after frames were dropped for this connection.
    pub fn take_lagged(&self) -> bool {
        self.queue.flags.fetch_and(!LAGGED, Ordering::AcqRel) & LAGGED != 0
    }

    /// True when a membership change was dropped: the subscriptions can no longer be trusted.
    pub fn is_stale(&self) -> bool {
        self.queue.flags.load(Ordering::Acquire) & STALE != 0
    }

    /// Waits until the connection's task has something to write: an event in the queue, or
    /// bytes a publisher left on the wire (or a socket that broke under it).
    pub async fn ready(&mut self) {
        let queue = &*self.queue;
        let wants = || queue.wire.as_ref().is_some_and(|w| w.wants_writer.load(Ordering::SeqCst)) || !queue.is_empty();
        std::future::poll_fn(|cx| {
            if wants() {
                return Poll::Ready(());
            }
            queue.reader.register(cx.waker());
            if wants() { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// The socket's write side, to move waiting events onto it: publishers queue meanwhile.
    /// Held between awaits, never across one. `None` for a queue without a socket.
    pub fn writing(&mut self) -> Option<Writing<'_>> {
        let wire = self.queue.wire.as_ref()?;
        let out = wire.lock();
        wire.wants_writer.store(false, Ordering::SeqCst);
        Some(Writing { queue: &self.queue, wire, out })
    }

    /// Writes what waits on the wire, waiting for the socket to drain; false once it is gone.
    pub async fn drain(&mut self) -> bool {
        loop {
            let socket = {
                let Some(mut writing) = self.writing() else { return false };
                match writing.out.flush() {
                    Sent::Done => return true,
                    Sent::Gone => return false,
                    Sent::Left => writing.out.socket(),
                }
            };
            match socket {
                Some(socket) if socket.writable().await.is_ok() => {}
                _ => return false,
            }
        }
    }

    /// The connection ended: nothing more is written to its socket, which closes once its
    /// reader lets go (however long a call's seat keeps this queue).
    pub fn close(&mut self) {
        if let Some(wire) = &self.queue.wire {
            wire.lock().close();
        }
    }
}

/// The connection's task holding its socket's write side.
pub struct Writing<'a> {
    queue: &'a Queue,
    wire: &'a Wire,
    out: MutexGuard<'a, Out>,
}

impl Writing<'_> {
    /// The next waiting event.
    pub fn pop(&mut self) -> Option<Event> {
        self.queue.pop()
    }

    /// Puts `frame` on the wire, behind what waits there; it goes out with the next drain.
    pub fn put(&mut self, frame: &Frame) {
        self.out.put(frame.bytes());
    }

    /// Counts frames written (for the metrics).
    pub fn count(&self, frames: u64) {
        self.wire.count(frames);
    }

    /// True once after frames were dropped for this connection.
    pub fn take_lagged(&self) -> bool {
        self.queue.flags.fetch_and(!LAGGED, Ordering::AcqRel) & LAGGED != 0
    }

    /// True when a membership change was dropped: the subscriptions can no longer be trusted.
    pub fn is_stale(&self) -> bool {
        self.queue.flags.load(Ordering::Acquire) & STALE != 0
    }
}

impl Outbox {
    /// A queue holding up to `capacity` unwritten events, with no socket (a call's stand-in).
    pub fn new(id: ConnId, capacity: usize) -> (Outbox, Inbox) {
        Self::with_wire(id, capacity, None)
    }

    /// A connection's queue and its socket's write side (its read side is the third part).
    /// `first` goes out first, when the connection's task starts writing; whatever is offered
    /// before then queues behind it.
    pub fn on_socket(id: ConnId, capacity: usize, socket: TcpStream, first: &Frame, frames_out: ::metrics::Counter) -> (Outbox, Inbox, ReadSide) {
        let socket = Arc::new(socket);
        let (outbox, inbox) = Self::with_wire(id, capacity, Some(Wire::new(socket.clone(), first, frames_out)));
        let read = ReadSide::new(socket, outbox.clone());
        (outbox, inbox, read)
    }

    fn with_wire(id: ConnId, capacity: usize, wire: Option<Wire>) -> (Outbox, Inbox) {
        let queue = Arc::new(Queue {
            events: std::sync::Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            flags: AtomicU8::new(0),
            reader: AtomicWaker::new(),
            room: Notify::new(),
            waiting: AtomicUsize::new(0),
            wire,
        });
        (Outbox { id, queue: queue.clone() }, Inbox { queue })
    }

    /// Bytes the WebSocket codec writes on its own (a pong, the answer to a close): onto the
    /// wire at once, or behind what waits there.
    pub(super) fn write_raw(&self, bytes: &[u8]) {
        let Some(wire) = &self.queue.wire else { return };
        let mut out = wire.lock();
        out.put(bytes);
        let sent = out.flush();
        drop(out);
        if sent != Sent::Done {
            self.queue.wake_writer(wire);
        }
    }

    /// Hands an event to the connection without waiting.
    pub fn offer(&self, event: &Event) {
        if let Event::Frame(frame) = event
            && self.queue.write_now(frame)
        {
            return;
        }
        if let Err(event) = self.queue.push(event.clone()) {
            let flag = if matches!(event, Event::Frame(_)) { LAGGED } else { STALE };
            self.queue.flags.fetch_or(flag, Ordering::AcqRel);
        }
    }

    /// Hands a frame for this connection alone to its own task's next write rather than to the
    /// socket at once: called from that task, so what else it is about to offer this socket (a
    /// post's ack, then the post fanned out to the room, this socket included) goes out in the
    /// same `write`. Behind whatever waits, like any frame, and waiting for room as [`Outbox::send`].
    pub async fn send_with_next(&self, frame: Frame) {
        if let Some(wire) = &self.queue.wire {
            let mut out = wire.lock();
            // Lock order as in `Queue::write_now`: with the wire held, an empty queue stays
            // empty of anything offered before this frame. Only onto an idle wire: behind bytes
            // a slow reader has not taken, it waits in the bounded queue like any answer (a
            // client that posts and never reads would otherwise grow the wire by an ack a post).
            if self.queue.is_empty() && out.is_idle() {
                out.put(frame.bytes());
                drop(out);
                wire.count(1);
                self.queue.wake_writer(wire);
                return;
            }
        }
        self.send(frame).await;
    }

    /// Queues a frame for this connection alone, waiting for room: a client that reads slowly
    /// slows down only its own requests.
    pub async fn send(&self, frame: Frame) {
        if self.queue.write_now(&frame) {
            return;
        }
        let mut event = Event::Frame(frame);
        // Counted as waiting before looking, so a pop that makes room after the look notifies.
        self.queue.waiting.fetch_add(1, Ordering::SeqCst);
        loop {
            let room = self.queue.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.queue.push(event) {
                Ok(()) => break,
                Err(back) => event = back,
            }
            room.await;
        }
        self.queue.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Publish and subscribe, plus who is online.
///
/// Presence counts connections per user; with several nodes the Redis implementation keeps the
/// counts in Redis. A user is online while any of their tabs is connected anywhere.
pub trait Fanout: Send + Sync + 'static {
    fn publish(&self, topic: Topic, event: Event);
    /// Publishes `event` to several topics, reaching each connection once however many of them
    /// it is subscribed to (a user's presence goes to every room they are in; a contact sharing
    /// three of them gets one frame, not three).
    fn publish_once(&self, topics: &[Topic], event: Event);
    /// Hands `event` to every connection of this process, once each.
    fn publish_local(&self, event: Event);
    fn subscribe(&self, topic: Topic, outbox: &Outbox);
    /// Subscribes to a room whose changes up to `baseline` the connection has (or will load):
    /// a node that delivers changes in order starts counting there.
    fn subscribe_room(&self, room: i64, baseline: i64, outbox: &Outbox) {
        let _ = baseline;
        self.subscribe(Topic::Room(room), outbox);
    }
    fn unsubscribe(&self, topic: Topic, conn: ConnId);
    /// Publishes a room's stored change (a post, edit, delete or card) numbered `change`. Every
    /// node delivers a room's changes in order, each once, whatever the transport loses.
    fn publish_change(&self, room: i64, change: i64, event: Event) {
        let _ = change;
        self.publish(Topic::Room(room), event);
    }
    /// Counts a new connection of `user`; true when it is their first (they came online).
    fn connected(&self, user: i64) -> bool;
    /// Counts a closed connection of `user`; true when it was their last (they went offline).
    fn disconnected(&self, user: i64) -> bool;
    /// Which of `users` are online.
    fn online(&self, users: &[i64]) -> Vec<i64>;
    /// Logins that ended at `at` (their access tokens are refused): other nodes are told.
    fn logins_ended(&self, logins: &[i64], at: i64) {
        let _ = (logins, at);
    }
    /// Whether the transport works (readiness): a process's own fan-out always does.
    fn is_ready(&self) -> bool {
        true
    }
}

/// Fan-out within one process: a subscriber list per topic, a connection count per user.
pub struct LocalFanout {
    topics: RwLock<HashMap<Topic, Vec<Outbox>>>,
    connections: RwLock<HashMap<i64, usize>>,
    deliveries: ::metrics::Counter,
}

impl Default for LocalFanout {
    fn default() -> Self {
        Self { topics: RwLock::default(), connections: RwLock::default(), deliveries: metrics::deliveries() }
    }
}

impl LocalFanout {
    /// Whether any connection of this process is subscribed to `topic`.
    pub fn has(&self, topic: Topic) -> bool {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).contains_key(&topic)
    }

    /// The connections `user` has open in this process.
    pub fn count(&self, user: i64) -> usize {
        self.connections.read().unwrap_or_else(|e| e.into_inner()).get(&user).copied().unwrap_or(0)
    }

    /// Every user with a connection in this process, with how many.
    pub fn counts(&self) -> Vec<(i64, usize)> {
        self.connections.read().unwrap_or_else(|e| e.into_inner()).iter().map(|(&u, &n)| (u, n)).collect()
    }

    /// The topics this process's connections are subscribed to.
    pub fn topics(&self) -> Vec<Topic> {
        self.topics.read().unwrap_or_else(|e| e.into_inner()).keys().copied().collect()
    }
}

impl Fanout for LocalFanout {
    fn publish(&self, topic: Topic, event: Event) {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let outboxes = topics.get(&topic).map_or(&[][..], Vec::as_slice);
        for outbox in outboxes {
            outbox.offer(&event);
        }
        self.deliveries.increment(outboxes.len() as u64);
    }

    fn publish_once(&self, topics: &[Topic], event: Event) {
        let subscribed = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let reached = offer_once(topics.iter().filter_map(|t| subscribed.get(t)).flatten(), &event);
        self.deliveries.increment(reached);
    }

    fn publish_local(&self, event: Event) {
        let subscribed = self.topics.read().unwrap_or_else(|e| e.into_inner());
        let reached = offer_once(subscribed.values().flatten(), &event);
        self.deliveries.increment(reached);
    }

    fn subscribe(&self, topic: Topic, outbox: &Outbox) {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        let list = topics.entry(topic).or_default();
        if !list.iter().any(|o| o.id == outbox.id) {
            list.push(outbox.clone());
        }
    }

    fn unsubscribe(&self, topic: Topic, conn: ConnId) {
        let mut topics = self.topics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = topics.get_mut(&topic) {
            list.retain(|o| o.id != conn);
            if list.is_empty() {
                topics.remove(&topic);
            }
        }
    }

    fn connected(&self, user: i64) -> bool {
        let mut counts = self.connections.write().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(user).or_default();
        *n += 1;
        *n == 1
    }

    fn disconnected(&self, user: i64) -> bool {
        let mut counts = self.connections.write().unwrap_or_else(|e| e.into_inner());
        match counts.get_mut(&user) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                counts.remove(&user);
                true
            }
            None => false,
        }
    }

    fn online(&self, users: &[i64]) -> Vec<i64> {
        let counts = self.connections.read().unwrap_or_else(|e| e.into_inner());
        users.iter().copied().filter(|u| counts.contains_key(u)).collect()
    }
}

/// Offers `event` to each connection among `outboxes` once, however often it is listed;
/// returns how many it reached.
fn offer_once<'a>(outboxes: impl Iterator<Item = &'a Outbox>, event: &Event) -> u64 {
    let mut reached = std::collections::HashSet::new();
    for outbox in outboxes {
        if reached.insert(outbox.id) {
            outbox.offer(event);
        }
    }
    reached.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Event {
        Event::Frame(Frame::text(s))
    }

    #[test]
    fn an_event_is_small() {
        assert_eq!(std::mem::size_of::<Event>(), 16);
    }

    #[test]
    fn a_room_event_reaches_each_subscriber_once() {
        let fanout = LocalFanout::default();
        let (a, mut a_in) = Outbox::new(1, 8);
        let (b, mut b_in) = Outbox::new(2, 8);
        fanout.subscribe(Topic::Room(7), &a);
        fanout.subscribe(Topic::Room(7), &a);
        fanout.subscribe(Topic::Room(7), &b);
        fanout.publish(Topic::Room(7), frame("hi"));
        fanout.publish(Topic::Room(8), frame("elsewhere"));
        let text = |e: Event| match e {
            Event::Frame(f) => f.as_str().to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(text(a_in.try_recv().unwrap()), "hi");
        assert!(a_in.try_recv().is_none());
        assert_eq!(text(b_in.try_recv().unwrap()), "hi");
    }

    #[test]
    fn an_event_for_several_topics_reaches_each_connection_once() {
        let fanout = LocalFanout::default();
        let (a, mut a_in) = Outbox::new(1, 8);
        let (b, mut b_in) = Outbox::new(2, 8);
        for room in [7, 8, 9] {
            fanout.subscribe(Topic::Room(room), &a);
        }
        fanout.subscribe(Topic::Room(9), &b);
        fanout.publish_once(&[Topic::Room(7), Topic::Room(8), Topic::Room(9)], frame("online"));
        assert!(a_in.try_recv().is_some());
        assert!(a_in.try_recv().is_none(), "one frame, not three");
        assert!(b_in.try_recv().is_some());
        assert!(b_in.try_recv().is_none());
    }

    fn text(e: Event) -> String {
        match e {
            Event::Frame(f) => f.as_str().to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_send_to_a_full_queue_waits_for_room_and_loses_nothing() {
        let (a, mut a_in) = Outbox::new(1, 1);
        a.send(Frame::text("one")).await;
        let waiting = tokio::spawn({
            let a = a.clone();
            async move { a.send(Frame::text("two")).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the queue is full: the sender waits");
        assert_eq!(text(a_in.recv().await), "one");
        waiting.await.unwrap();
        assert_eq!(text(a_in.recv().await), "two");
        assert!(a_in.try_recv().is_none());
    }

    #[tokio::test]
    async fn the_writer_wakes_for_an_event_offered_while_it_waits() {
        let (a, mut a_in) = Outbox::new(1, 8);
        let writer = tokio::spawn(async move { text(a_in.recv().await) });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        a.offer(&frame("late"));
        assert_eq!(writer.await.unwrap(), "late");
    }

    #[test]
    fn a_full_queue_marks_the_connection_lagged_instead_of_blocking() {
        let fanout = LocalFanout::default();
        let (a, a_in) = Outbox::new(1, 2);
        fanout.subscribe(Topic::User(1), &a);
        for _ in 0..3 {
            fanout.publish(Topic::User(1), frame("x"));
        }
        assert!(a_in.take_lagged());
        assert!(!a_in.take_lagged(), "told once");
        assert!(!a_in.is_stale());
        fanout.publish(Topic::User(1), Event::Joined(Box::new(Joining { room: 9, baseline: 0 })));
        assert!(a_in.is_stale(), "a lost membership change is never silent");
    }

    type Client = tokio_tungstenite::WebSocketStream<TcpStream>;

    /// A connection's socket, its first frame `hello`, and the client's end, on loopback.
    async fn socket_pair(capacity: usize) -> (Outbox, Inbox, ReadSide, Client) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (outbox, inbox, read) = Outbox::on_socket(1, capacity, server, &Frame::text("hello"), ::metrics::Counter::noop());
        let client = tokio_tungstenite::WebSocketStream::from_raw_socket(client, tokio_tungstenite::tungstenite::protocol::Role::Client, None).await;
        (outbox, inbox, read, client)
    }

    async fn next_text(client: &mut Client) -> String {
        match futures::StreamExt::next(client).await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => t.as_str().to_string(),
            other => panic!("{other:?}"),
        }
    }

    /// What the connection's task does (`connection::write_loop`, frames only).
    async fn write_until_empty(inbox: &mut Inbox) {
        loop {
            inbox.ready().await;
            {
                let mut out = inbox.writing().unwrap();
                while let Some(event) = out.pop() {
                    if let Event::Frame(frame) = event {
                        out.put(&frame);
                    }
                }
            }
            assert!(inbox.drain().await, "the socket is open");
            if inbox.queue.is_empty() {
                return;
            }
        }
    }

    #[tokio::test]
    async fn the_first_frame_waits_for_the_connection_then_frames_are_written_at_once() {
        let (outbox, mut inbox, _read, mut client) = socket_pair(8).await;
        outbox.offer(&frame("early"));
        assert!(!inbox.queue.is_empty(), "offered before the connection writes: queued behind the first frame");
        write_until_empty(&mut inbox).await;
        assert_eq!(next_text(&mut client).await, "hello");
        assert_eq!(next_text(&mut client).await, "early");
        outbox.offer(&frame("live"));
        assert!(inbox.try_recv().is_none(), "nothing waits: written by the publisher, not queued");
        assert_eq!(next_text(&mut client).await, "live");
    }

    #[tokio::test]
    async fn frames_behind_a_full_socket_wait_and_arrive_whole_and_in_order() {
        let (outbox, mut inbox, _read, mut client) = socket_pair(256).await;
        write_until_empty(&mut inbox).await;
        assert_eq!(next_text(&mut client).await, "hello");
        // 20 MiB: more than loopback's buffers take while nobody reads.
        let body = "x".repeat(100 * 1024);
        for i in 0..200 {
            outbox.offer(&frame(&format!("{i} {body}")));
        }
        assert!(!inbox.queue.is_empty(), "the socket filled up: frames queued behind it");
        let reader = tokio::spawn(async move {
            let mut seen = Vec::new();
            while seen.len() < 200 {
                let text = next_text(&mut client).await;
                let (n, rest) = text.split_once(' ').unwrap();
                assert_eq!(rest.len(), 100 * 1024, "frame {n} arrived whole");
                seen.push(n.parse::<usize>().unwrap());
            }
            seen
        });
        write_until_empty(&mut inbox).await;
        assert_eq!(reader.await.unwrap(), (0..200).collect::<Vec<_>>(), "in order, each once");
    }

    #[tokio::test]
    async fn an_answer_held_for_the_next_write_goes_out_with_what_follows_it_in_order() {
        let (outbox, mut inbox, _read, mut client) = socket_pair(8).await;
        write_until_empty(&mut inbox).await;
        assert_eq!(next_text(&mut client).await, "hello");
        outbox.send_with_next(Frame::text("ack")).await;
        outbox.offer(&frame("post"));
        assert!(inbox.try_recv().is_some_and(|e| matches!(e, Event::Frame(f) if f.as_str() == "post")), "the post queues behind the held ack instead of overtaking it");
        outbox.offer(&frame("post"));
        write_until_empty(&mut inbox).await;
        assert_eq!(next_text(&mut client).await, "ack");
        assert_eq!(next_text(&mut client).await, "post");

        // Behind frames already waiting, not before them.
        outbox.send_with_next(Frame::text("ack 2")).await;
        outbox.offer(&frame("post 2"));
        outbox.send_with_next(Frame::text("ack 3")).await;
        write_until_empty(&mut inbox).await;
        assert_eq!(next_text(&mut client).await, "ack 2");
        assert_eq!(next_text(&mut client).await, "post 2");
        assert_eq!(next_text(&mut client).await, "ack 3");
        outbox.offer(&frame("live"));
        assert!(inbox.try_recv().is_none(), "nothing waits: written at once again");
        assert_eq!(next_text(&mut client).await, "live");
    }

    #[tokio::test]
    async fn an_answer_for_a_socket_that_does_not_read_waits_in_the_bounded_queue() {
        let (outbox, mut inbox, _read, _client) = socket_pair(4).await;
        write_until_empty(&mut inbox).await;
        let body = "x".repeat(1024 * 1024);
        while inbox.try_recv().is_none() {
            outbox.offer(&frame(&body));
        }
        // The socket is full and the client reads nothing: the wire holds the bytes it did not
        // take, and frames queue behind them.
        assert!(inbox.writing().is_some_and(|w| !w.out.is_idle()), "bytes left over on the wire");
        outbox.send_with_next(Frame::text("ack")).await;
        assert!(inbox.try_recv().is_some_and(|e| matches!(e, Event::Frame(f) if f.as_str() == "ack")), "queued, not piled onto the wire");
    }

    #[test]
    fn a_user_is_online_while_any_connection_is_open() {
        let fanout = LocalFanout::default();
        assert!(fanout.connected(5));
        assert!(!fanout.connected(5));
        assert_eq!(fanout.online(&[5, 6]), vec![5]);
        assert!(!fanout.disconnected(5));
        assert!(fanout.disconnected(5));
        assert!(fanout.online(&[5]).is_empty());
    }
}
