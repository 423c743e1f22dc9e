//! What a tab knows about its chats, and how each server frame changes it. Plain Rust with no
//! browser types, so the rules (dedupe by id, cursor only forward, pending until acked) are
//! unit-tested on the host.

use crate::models::chat::{ChatMessage, RoomKind, RoomView};
use crate::models::ws::{RoomCursor, ServerMsg};
use std::collections::{BTreeMap, HashMap};

/// How long a typing indicator lasts without a new typing frame, in milliseconds.
pub const TYPING_TTL_MS: f64 = 5000.0;

/// The connection as the user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Connecting,
    Live,
    /// Lost: retrying.
    Offline,
}

/// A message shown at once as "sending…" until the server acks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub client_id: String,
    pub body: String,
    /// Set when the server refused it (then it is not resent).
    pub error: Option<String>,
}

/// One room as this tab knows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomLive {
    /// By position; an edited or deleted message replaces its entry.
    pub messages: BTreeMap<i64, ChatMessage>,
    /// The newest change held: replay resumes after it.
    pub cursor: i64,
    /// While a replay is paging: where the next page starts (live messages may already have
    /// moved `cursor` past changes not replayed yet).
    pub replay_from: Option<i64>,
    pub pending: Vec<Pending>,
    /// Who is typing, with the time (ms) their indicator ends.
    pub typing: Vec<(i64, String, f64)>,
    /// Each member's read mark.
    pub reads: HashMap<i64, i64>,
    /// The newest position this tab has told the server it read.
    pub read_sent: i64,
    /// Messages older than the first held exist on the server.
    pub has_older: bool,
}

/// Everything the tab knows; one signal holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveState {
    pub me: Option<i64>,
    pub status: Status,
    pub rooms: HashMap<i64, RoomLive>,
    /// Which rooms are direct conversations, as the pages listed them (kept apart from
    /// `rooms`: a room there is replayed on reconnect, and knowing its kind is not a reason).
    pub kinds: HashMap<i64, RoomKind>,
    /// Presence as this connection was told it; users it was not told about keep what the
    /// server rendered.
    pub presence: HashMap<i64, bool>,
    /// The calls on in the user's rooms: the meeting code and who is in it.
    pub calls: HashMap<i64, (String, Vec<String>)>,
    /// Rooms whose call this tab has heard of (on or ended): for the others, the page's word holds.
    pub calls_known: std::collections::HashSet<i64>,
    /// Bumped whenever the chat home (latest messages, unread counts) should be fetched again.
    pub revision: u64,
    /// Bumped when a room's name, topic or members changed: its page is fetched again.
    pub structure: u64,
    /// Per room, bumped when its shared expenses changed: its open ledger is fetched again.
    pub ledger_changes: HashMap<i64, u64>,
    /// Bumped by every `welcome`: what was missed while offline and is not replayed (ledgers)
    /// is fetched again.
    pub welcomes: u64,
    /// The latest refusal not tied to a pending message.
    pub notice: Option<String>,
}

/// What the socket must do after a frame was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followup {
    None,
    /// Ask for everything after these cursors.
    Sync(Vec<RoomCursor>),
    /// A direct message from someone else arrived (notify if the tab is hidden).
    DirectMessage { from: String, body: String },
    /// A frame for the call this tab is in (the meeting page handles it).
    Call(Box<ServerMsg>),
}

impl LiveState {
    /// Whether a call is on in `room`; `from_page` is what the page said, used until this tab
    /// hears otherwise.
    pub fn call_on(&self, room: i64, from_page: bool) -> bool {
        if self.calls_known.contains(&room) { self.calls.contains_key(&room) } else { from_page }
    }

    /// Takes what a server-rendered room page showed; never moves anything backwards.
    pub fn seed(&mut self, view: &RoomView) {
        self.kinds.insert(view.id, view.kind);
        self.calls_known.insert(view.id);
        match &view.call {
            Some(call) => self.calls.insert(view.id, call.clone()),
            None => self.calls.remove(&view.id),
        };
        let room = self.rooms.entry(view.id).or_default();
        for m in &view.messages {
            upsert(room, m.clone());
        }
        if view.messages.first().map(|m| m.seq) == room.messages.keys().next().copied() {
            room.has_older = view.has_older;
        }
        room.cursor = room.cursor.max(view.cursor);
        for member in &view.members {
            let mark = room.reads.entry(member.user_id).or_default();
            *mark = (*mark).max(member.last_read_seq);

        }
    }

    /// Takes a page of older messages loaded as the reader scrolled up.
    pub fn add_older(&mut self, room: i64, messages: Vec<ChatMessage>, has_older: bool) {
        let r = self.rooms.entry(room).or_default();
        let first = messages.first().map(|m| m.seq);
        // Not through `upsert`: a page of history says nothing about which changes this tab
        // has, so the replay cursor stays where it is.
        for m in messages {
            if r.messages.get(&m.seq).is_none_or(|held| held.change < m.change) {
                r.messages.insert(m.seq, m);
            }
        }
        if first.is_some() && first == r.messages.keys().next().copied() {
            r.has_older = has_older;
        } else if first.is_none() {
            r.has_older = false;
        }
    }

    /// The newest message `me` wrote in `room` that can still be edited.
    pub fn last_editable(&self, room: i64, me: i64) -> Option<&ChatMessage> {
        self.rooms.get(&room)?.messages.values().rev().find(|m| m.sender_id == me && !m.is_deleted() && m.card.is_none())
    }

    /// Whether `user` is online: what this connection was told, else what the server rendered.
    pub fn is_online(&self, user: i64, rendered: bool) -> bool {
        match self.status {
            Status::Live => self.presence.get(&user).copied().unwrap_or(rendered),
            _ => rendered,
        }
    }

    /// Where replay should resume, per known room.
    pub fn cursors(&self) -> Vec<RoomCursor> {
        self.rooms.iter().map(|(room, r)| RoomCursor { room: *room, after: r.replay_from.unwrap_or(r.cursor) }).collect()
    }

    /// Adds a message typed in this tab, before it is sent.
    pub fn add_pending(&mut self, room: i64, client_id: String, body: String) {
        self.rooms.entry(room).or_default().pending.push(Pending { client_id, body, error: None });
    }

    /// Messages to (re)send after connecting: every pending one not refused.
    pub fn unacked(&self) -> Vec<(i64, Pending)> {
        let mut out = Vec::new();
        for (room, r) in &self.rooms {
            out.extend(r.pending.iter().filter(|p| p.error.is_none()).map(|p| (*room, p.clone())));
        }
        out
    }

    /// Forgets typing indicators that ended before `now_ms`.
    pub fn expire_typing(&mut self, now_ms: f64) {
        for r in self.rooms.values_mut() {
            r.typing.retain(|(_, _, until)| *until > now_ms);
        }
    }

    /// Applies one server frame at time `now_ms`.
    pub fn apply(&mut self, msg: ServerMsg, now_ms: f64) -> Followup {
        if msg.is_for_call() {
            return Followup::Call(Box::new(msg));
        }
        match msg {
            ServerMsg::Welcome { user_id, .. } => {
                self.me = Some(user_id);
                self.status = Status::Live;
                self.presence.clear();
                self.presence.insert(user_id, true);
                self.welcomes += 1;
                return Followup::Sync(self.cursors());
            }
            ServerMsg::Ack { client_id, message } => {
                let room = self.rooms.entry(message.room).or_default();
                room.pending.retain(|p| p.client_id != client_id);
                upsert(room, message);
            }
            ServerMsg::Message { message } => return self.message(message),
            ServerMsg::Replay { room, messages, complete, next } => {
                let r = self.rooms.entry(room).or_default();
                for m in messages {
                    r.pending.retain(|p| p.client_id != m.client_id || Some(m.sender_id) != self.me);
                    upsert(r, m);
                }
                r.replay_from = if complete { None } else { next };
                self.revision += 1;
                // The server replays a page at a time: ask for the next one from there.
                if let (false, Some(after)) = (complete, next) {
                    return Followup::Sync(vec![RoomCursor { room, after }]);
                }
            }
            ServerMsg::Online { user_ids } => {
                for user_id in user_ids {
                    self.presence.insert(user_id, true);
                }
            }
            ServerMsg::Presence { user_id, online } => {
                if Some(user_id) != self.me {
                    self.presence.insert(user_id, online);
                }
            }
            ServerMsg::Typing { room, user_id, name } if Some(user_id) != self.me => {
                let r = self.rooms.entry(room).or_default();
                r.typing.retain(|(u, _, _)| *u != user_id);
                r.typing.push((user_id, name, now_ms + TYPING_TTL_MS));
            }
            ServerMsg::Typing { .. } | ServerMsg::Pong => {}
            ServerMsg::Read { room, user_id, seq } => {
                let r = self.rooms.entry(room).or_default();
                let mark = r.reads.entry(user_id).or_default();
                *mark = (*mark).max(seq);
                if Some(user_id) == self.me {
                    r.read_sent = r.read_sent.max(seq);
                }
                self.revision += 1;
            }
            ServerMsg::RoomChanged { .. } => {
                self.revision += 1;
                self.structure += 1;
            }
            ServerMsg::RoomLeft { room } => {
                self.rooms.remove(&room);
                self.revision += 1;
                self.structure += 1;
            }
            ServerMsg::LedgerChanged { room } => *self.ledger_changes.entry(room).or_default() += 1,
            ServerMsg::Resync => return Followup::Sync(self.cursors()),
            ServerMsg::RoomCall { room, code, people } => {
                self.calls_known.insert(room);
                if people.is_empty() {
                    self.calls.remove(&room);
                    // The room's page fetches its "call ended" line.
                    self.structure += 1;
                } else {
                    self.calls.insert(room, (code, people));
                }
                self.revision += 1;
            }
            // Routed to the call above.
            ServerMsg::CallJoined { .. }
            | ServerMsg::CallPeerJoined { .. }
            | ServerMsg::CallPeerLeft { .. }
            | ServerMsg::CallPeerState { .. }
            | ServerMsg::CallSignal { .. }
            | ServerMsg::CallLocked { .. }
            | ServerMsg::CallMuted { .. }
            | ServerMsg::CallEnded { .. } => {}
            ServerMsg::Error { message, client_id, .. } => self.refused(message, client_id),
        }
        Followup::None
    }

    fn message(&mut self, message: ChatMessage) -> Followup {
        let mine = Some(message.sender_id) == self.me;
        let r = self.rooms.entry(message.room).or_default();
        let fresh = !r.messages.contains_key(&message.seq);
        r.typing.retain(|(u, _, _)| *u != message.sender_id);
        if mine {
            r.pending.retain(|p| p.client_id != message.client_id);
        }
        let direct = self.kinds.get(&message.room) == Some(&RoomKind::Direct);
        let followup = match fresh && !mine && direct && !message.is_deleted() {
            true => Followup::DirectMessage { from: message.sender_name.clone(), body: message.body.clone() },
            false => Followup::None,
        };
        upsert(r, message);
        self.revision += 1;
        followup
    }

    fn refused(&mut self, message: String, client_id: Option<String>) {
        let pending = client_id.as_ref().and_then(|id| {
            self.rooms.values_mut().flat_map(|r| r.pending.iter_mut()).find(|p| &p.client_id == id)
        });
        match pending {
            Some(p) => p.error = Some(message),
            None => self.notice = Some(message),
        }
    }
}

/// Keeps the newer version of a message (edits and deletes come with a higher `change`).
fn upsert(room: &mut RoomLive, message: ChatMessage) {
    room.cursor = room.cursor.max(message.change);
    match room.messages.get(&message.seq) {
        Some(held) if held.change >= message.change => {}
        _ => {
            room.messages.insert(message.seq, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(room: i64, seq: i64, change: i64, sender: i64, body: &str) -> ChatMessage {
        ChatMessage {
            id: seq * 100,
            room,
            seq,
            change,
            sender_id: sender,
            sender_name: format!("user{sender}"),
            client_id: format!("c{seq}"),
            body: body.into(),
            created_at: 0,
            edited_at: None,
            deleted_at: None,
            card: None,
        }
    }

    #[test]
    fn older_pages_join_the_room_without_moving_the_replay_cursor() {
        let mut s = live(1);
        s.rooms.entry(5).or_default().has_older = true;
        s.apply(ServerMsg::Message { message: msg(5, 10, 10, 2, "new") }, 0.0);
        // An old message edited lately comes with a high change number.
        s.add_older(5, vec![msg(5, 8, 40, 2, "old, edited"), msg(5, 9, 9, 1, "mine")], true);
        let r = &s.rooms[&5];
        assert_eq!(r.messages.keys().copied().collect::<Vec<_>>(), vec![8, 9, 10]);
        assert_eq!(r.cursor, 10);
        assert!(r.has_older);
        assert_eq!(s.last_editable(5, 1).map(|m| m.seq), Some(9));
        s.add_older(5, vec![], false);
        assert!(!s.rooms[&5].has_older);
    }

    fn live(me: i64) -> LiveState {
        let mut s = LiveState::default();
        s.apply(ServerMsg::Welcome { protocol: 1, user_id: me }, 0.0);
        s
    }

    #[test]
    fn a_paged_replay_asks_for_the_next_page_from_where_it_stopped_not_from_live_messages() {
        let mut s = live(1);
        // A live message (change 50) arrives while changes 3.. are still being replayed.
        s.apply(ServerMsg::Message { message: msg(5, 9, 50, 2, "live") }, 0.0);
        let page = ServerMsg::Replay { room: 5, messages: vec![msg(5, 1, 3, 2, "old")], complete: false, next: Some(3) };
        assert_eq!(s.apply(page, 0.0), Followup::Sync(vec![RoomCursor { room: 5, after: 3 }]));
        assert_eq!(s.cursors(), vec![RoomCursor { room: 5, after: 3 }], "a reconnect resumes the replay too");
        let last = ServerMsg::Replay { room: 5, messages: vec![msg(5, 2, 4, 2, "older")], complete: true, next: None };
        assert_eq!(s.apply(last, 0.0), Followup::None);
        assert_eq!(s.cursors(), vec![RoomCursor { room: 5, after: 50 }]);
    }

    #[test]
    fn a_message_seen_twice_is_shown_once_and_an_older_version_never_wins() {
        let mut s = live(1);
        s.apply(ServerMsg::Message { message: msg(5, 1, 1, 2, "hi") }, 0.0);
        s.apply(ServerMsg::Message { message: msg(5, 1, 3, 2, "hi (edited)") }, 0.0);
        s.apply(ServerMsg::Replay { room: 5, messages: vec![msg(5, 1, 1, 2, "hi")], complete: true, next: None }, 0.0);
        let room = &s.rooms[&5];
        assert_eq!(room.messages.len(), 1);
        assert_eq!(room.messages[&1].body, "hi (edited)");
        assert_eq!(room.cursor, 3);
    }

    #[test]
    fn a_pending_message_stays_until_acked_and_is_resent_until_then() {
        let mut s = live(1);
        s.add_pending(5, "c1".into(), "hello".into());
        assert_eq!(s.unacked().len(), 1);
        s.apply(ServerMsg::Ack { client_id: "c1".into(), message: msg(5, 1, 1, 1, "hello") }, 0.0);
        assert!(s.unacked().is_empty());
        assert_eq!(s.rooms[&5].messages[&1].body, "hello");
    }

    #[test]
    fn a_refused_message_is_marked_and_not_resent() {
        let mut s = live(1);
        s.add_pending(5, "c9".into(), "x".into());
        s.apply(ServerMsg::Error { code: crate::models::ws::ErrorCode::NotMember, message: "no".into(), client_id: Some("c9".into()) }, 0.0);
        assert_eq!(s.rooms[&5].pending[0].error.as_deref(), Some("no"));
        assert!(s.unacked().is_empty());
    }

    #[test]
    fn resync_and_welcome_ask_for_everything_after_the_cursors() {
        let mut s = live(1);
        s.apply(ServerMsg::Message { message: msg(5, 4, 7, 2, "x") }, 0.0);
        assert_eq!(s.apply(ServerMsg::Resync, 0.0), Followup::Sync(vec![RoomCursor { room: 5, after: 7 }]));
        let again = s.apply(ServerMsg::Welcome { protocol: 1, user_id: 1 }, 0.0);
        assert_eq!(again, Followup::Sync(vec![RoomCursor { room: 5, after: 7 }]));
    }

    #[test]
    fn typing_expires_and_ends_when_the_typist_posts() {
        let mut s = live(1);
        s.apply(ServerMsg::Typing { room: 5, user_id: 2, name: "Bo".into() }, 1000.0);
        s.apply(ServerMsg::Typing { room: 5, user_id: 1, name: "me".into() }, 1000.0);
        assert_eq!(s.rooms[&5].typing.len(), 1, "my own typing is not shown");
        s.expire_typing(1000.0 + TYPING_TTL_MS + 1.0);
        assert!(s.rooms[&5].typing.is_empty());
        s.apply(ServerMsg::Typing { room: 5, user_id: 2, name: "Bo".into() }, 0.0);
        s.apply(ServerMsg::Message { message: msg(5, 1, 1, 2, "done") }, 0.0);
        assert!(s.rooms[&5].typing.is_empty());
    }

    #[test]
    fn a_new_direct_message_from_someone_else_asks_for_a_notification() {
        let mut s = live(1);
        s.kinds.insert(9, RoomKind::Direct);
        let followup = s.apply(ServerMsg::Message { message: msg(9, 1, 1, 2, "psst") }, 0.0);
        assert_eq!(followup, Followup::DirectMessage { from: "user2".into(), body: "psst".into() });
        assert_eq!(s.apply(ServerMsg::Message { message: msg(9, 2, 2, 1, "mine") }, 0.0), Followup::None);
    }

    #[test]
    fn presence_events_override_what_the_page_was_rendered_with() {
        let mut s = live(1);
        assert!(s.is_online(2, true), "not told otherwise: the rendered value");
        s.apply(ServerMsg::Presence { user_id: 2, online: false }, 0.0);
        assert!(!s.is_online(2, true));
        s.status = Status::Offline;
        assert!(s.is_online(2, true), "while disconnected, events may be stale");
    }

    #[test]
    fn read_marks_only_move_forward() {
        let mut s = live(1);
        s.apply(ServerMsg::Read { room: 5, user_id: 2, seq: 4 }, 0.0);
        s.apply(ServerMsg::Read { room: 5, user_id: 2, seq: 2 }, 0.0);
        assert_eq!(s.rooms[&5].reads[&2], 4);
    }
}
