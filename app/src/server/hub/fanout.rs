//! Fan-out: the one interface between the hub and whatever carries events to sockets.
//!
//! The hub publishes an event to a topic (a room, or all of one user's connections) and
//! subscribes its connections to topics. [`LocalFanout`] delivers within this process; a Redis
//! implementation (one node's publish reaching every node's subscribers) plugs in behind the same
//! trait. Nothing here orders or keeps messages: order and replay come from the database.

use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::mpsc;

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every connection of every member of the room.
    Room(i64),
    /// Every connection of one user.
    User(i64),
}

/// A connection's id, unique within this process.
pub type ConnId = u64;

/// What travels through the fan-out.
#[derive(Debug, Clone)]
pub enum Event {
    /// A serialized `ServerMsg`, serialized once for all receivers.
    Frame(Utf8Bytes),
    /// The user joined this room: their connections subscribe to it.
    Joined(i64),
    /// The user left this room: their connections unsubscribe.
    Left(i64),
}

/// The receiving end of one connection. Frames go through a bounded queue: a connection that
/// cannot keep up loses live frames and is told to resync from the database (never blocks the
/// publisher, never grows without bound). Membership changes are rare and never dropped.
#[derive(Clone)]
pub struct Outbox {
    pub id: ConnId,
    frames: mpsc::Sender<Utf8Bytes>,
    control: mpsc::UnboundedSender<Event>,
    lagged: Arc<AtomicBool>,
}

/// What a connection reads its fanned-out events from.
pub struct Inbox {
    pub frames: mpsc::Receiver<Utf8Bytes>,
    pub control: mpsc::UnboundedReceiver<Event>,
    lagged: Arc<AtomicBool>,
}

impl Inbox {
    /// True once after frames were dropped for this connection.
    pub fn take_lagged(&self) -> bool {
        self.lagged.swap(false, Ordering::AcqRel)
    }
}

impl Outbox {
    /// A connection's queue pair holding up to `capacity` undelivered frames.
    pub fn new(id: ConnId, capacity: usize) -> (Outbox, Inbox) {
        let (frames, frames_rx) = mpsc::channel(capacity.max(1));
        let (control, control_rx) = mpsc::unbounded_channel();
        let lagged = Arc::new(AtomicBool::new(false));
        let outbox = Outbox { id, frames, control, lagged: lagged.clone() };
        (outbox, Inbox { frames: frames_rx, control: control_rx, lagged })
    }

    /// Hands an event to the connection without waiting.
    pub fn offer(&self, event: &Event) {
        match event {
            Event::Frame(frame) => {
                if let Err(mpsc::error::TrySendError::Full(_)) = self.frames.try_send(frame.clone()) {
                    self.lagged.store(true, Ordering::Release);
                }
            }
            control => {
                let _ = self.control.send(control.clone());
            }
        }
    }
}

/// Publish and subscribe, plus who is online.
///
/// Presence counts connections per user; with several nodes the Redis implementation keeps the
/// counts in Redis. A user is online while any of their tabs is connected anywhere.
pub trait Fanout: Send + Sync + 'static {
    fn publish(&self, topic: Topic, event: Event);
    fn subscribe(&self, topic: Topic, outbox: &Outbox);
    fn unsubscribe(&self, topic: Topic, conn: ConnId);
    /// Counts a new connection of `user`; true when it is their first (they came online).
    fn connected(&self, user: i64) -> bool;
    /// Counts a closed connection of `user`; true when it was their last (they went offline).
    fn disconnected(&self, user: i64) -> bool;
    /// Which of `users` are online.
    fn online(&self, users: &[i64]) -> Vec<i64>;
}

/// Fan-out within one process: a subscriber list per topic, a connection count per user.
#[derive(Default)]
pub struct LocalFanout {
    topics: RwLock<HashMap<Topic, Vec<Outbox>>>,
    connections: RwLock<HashMap<i64, usize>>,
}

impl Fanout for LocalFanout {
    fn publish(&self, topic: Topic, event: Event) {
        let topics = self.topics.read().unwrap_or_else(|e| e.into_inner());
        for outbox in topics.get(&topic).into_iter().flatten() {
            outbox.offer(&event);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: &str) -> Event {
        Event::Frame(Utf8Bytes::from(s.to_string()))
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
        assert_eq!(a_in.frames.try_recv().unwrap().as_str(), "hi");
        assert!(a_in.frames.try_recv().is_err());
        assert_eq!(b_in.frames.try_recv().unwrap().as_str(), "hi");
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
