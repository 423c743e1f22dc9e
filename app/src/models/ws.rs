//! The WebSocket protocol at `/ws`: JSON text frames, one message per frame, each an object
//! whose `type` names the variant. Documented with an example per variant in `docs/protocol.md`.

use super::chat::ChatMessage;
use super::meeting::{CallState, IceServer, LeftBy, Participant, SeatId, Signal};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks. A client may ask for it with `/ws?v=1`; the server
/// states it in [`ServerMsg::Welcome`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest client frame, in bytes: a message body, or a WebRTC description up to its own limit
/// of 64 KiB ([`super::meeting::MAX_SDP`]) with room to spare, so an oversized description is
/// answered with an error rather than a closed socket. The socket closes (1009) on a larger
/// frame, so a refused frame leaves no buffer behind.
pub const MAX_CLIENT_FRAME: usize = 96 * 1024;

/// Close code sent when the access token behind the socket expires: renew over HTTP, reconnect.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;

/// Close code sent when the login behind the socket ended (logout, revoked, password changed).
pub const CLOSE_SIGNED_OUT: u16 = 4003;

/// Close code sent when this connection missed a change to the user's rooms while it was
/// behind: reconnect (and sync) to be subscribed afresh.
pub const CLOSE_RESUBSCRIBE: u16 = 4002;

/// Close code sent when a socket would pass a cap: too many for this user, from this address,
/// or in all (the reason says which). Reconnect later, not at once.
pub const CLOSE_TOO_MANY: u16 = 4008;

/// The server is restarting or stopping (RFC 6455 "service restart"): reconnect after a
/// randomized backoff, to this server or another.
pub const CLOSE_SERVICE_RESTART: u16 = 1012;

/// A room and the newest change the client already has from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomCursor {
    pub room: i64,
    pub after: i64,
}

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Post `body` to `room`. Answered with [`ServerMsg::Ack`] (also when `client_id` was seen
    /// before: the first stored message is acked again, nothing new is stored).
    Send { room: i64, client_id: String, body: String },
    /// Replace the body of one of your messages. Every member gets [`ServerMsg::Message`].
    Edit { message_id: i64, body: String },
    /// Delete one of your messages. Every member gets [`ServerMsg::Message`] with `deleted_at`.
    Delete { message_id: i64 },
    /// You are typing in `room`: the other members get [`ServerMsg::Typing`]. Send at most one
    /// every 3 seconds; receivers forget it after 5.
    Typing { room: i64 },
    /// You have read `room` up to message `seq`. The members get [`ServerMsg::Read`].
    Read { room: i64, seq: i64 },
    /// Send the changes after each cursor: answered with one [`ServerMsg::Replay`] per room. One
    /// sync replays at most 200 messages in all; a room not replayed to its end answers
    /// `complete: false` with `next`, the cursor to sync from again. Sent after (re)connecting
    /// and after [`ServerMsg::Resync`]. At most one cursor per room of yours.
    Sync { rooms: Vec<RoomCursor> },
    /// Answered with [`ServerMsg::Pong`]: lets a browser notice a dead connection.
    Ping,
    /// Take a seat in the call of meeting `code` (answered with [`ServerMsg::CallJoined`]).
    /// `resume` is the token of a seat this tab held before its socket dropped or its page was
    /// reloaded: within 30 s it gets the seat back.
    CallJoin {
        code: String,
        #[serde(default)]
        resume: Option<String>,
        /// With `resume`: this tab holds no peer connections (its page was reloaded), so the
        /// seat is taken back under a new number and the others connect to it afresh. The stint
        /// goes on.
        #[serde(default)]
        fresh: bool,
    },
    /// Leave the call.
    CallLeave,
    /// Relay a session description or ICE candidate to seat `to` of your call.
    CallSignal { to: SeatId, signal: Signal },
    /// Your microphone, camera, screen share and raised hand, as the others should see them.
    CallState { state: CallState },
    /// Host only: ask a participant to mute (they unmute themselves).
    CallMute { seat: SeatId },
    /// Host only: take a participant out of the call.
    CallRemove { seat: SeatId },
    /// Host only: let nobody new join (or allow it again).
    CallLock { locked: bool },
    /// Host only: end the call for everyone.
    CallEnd,
}

impl ClientMsg {
    /// Whether this frame is about a call (the calls handle it, wherever the call runs).
    pub fn is_call(&self) -> bool {
        matches!(
            self,
            ClientMsg::CallJoin { .. }
                | ClientMsg::CallLeave
                | ClientMsg::CallSignal { .. }
                | ClientMsg::CallState { .. }
                | ClientMsg::CallMute { .. }
                | ClientMsg::CallRemove { .. }
                | ClientMsg::CallLock { .. }
                | ClientMsg::CallEnd
        )
    }
}

/// What a client may be told went wrong with one of its frames. The connection stays up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not one of the [`ClientMsg`] shapes.
    BadFrame,
    /// A `type` this server does not know.
    UnknownType,
    /// A frame over [`MAX_CLIENT_FRAME`] bytes.
    TooLarge,
    /// A field's value is refused (the message says which and why).
    Invalid,
    /// The room does not exist or you are not a member.
    NotMember,
    /// The message does not exist or is not yours.
    NotYours,
    /// More than about 10 frames a second (bursts of 20).
    RateLimited,
    /// The server could not do it; try again.
    Internal,
    /// No such meeting, it has ended, or you may not join it.
    NoMeeting,
    /// The call has as many people as it may (the message says how many).
    CallFull,
    /// The host locked the meeting.
    CallLocked,
    /// You are not in a call, the seat addressed is not in yours, or only the host may do it.
    NotInCall,
}

/// What the server sends. The `type` key always comes first, so a client reads the fields
/// straight from the frame (see [`super::tagged`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The first frame on every connection.
    Welcome { protocol: u32, user_id: i64 },
    /// Your message `client_id` is stored as `message`.
    Ack { client_id: String, message: ChatMessage },
    /// A message was posted, edited or deleted in one of your rooms (new or changed: match on `id`).
    Message { message: ChatMessage },
    /// Changes after a [`ClientMsg::Sync`] cursor, oldest first, in pages.
    Replay {
        room: i64,
        messages: Vec<ChatMessage>,
        complete: bool,
        /// When not complete: sync this room again from this cursor.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<i64>,
    },
    /// Sent after `welcome`: the users sharing a room with you who are online now.
    Online { user_ids: Vec<i64> },
    /// A user sharing a room with you came online or went offline (all their tabs closed).
    Presence { user_id: i64, online: bool },
    /// `user_id` is typing in `room`.
    Typing { room: i64, user_id: i64, name: String },
    /// `user_id` has read `room` up to `seq`.
    Read { room: i64, user_id: i64, seq: i64 },
    /// The room's name, topic or members changed, or you joined it: fetch it again.
    RoomChanged { room: i64 },
    /// You are no longer a member of `room` (you left or were removed).
    RoomLeft { room: i64 },
    /// The shared expenses of `room` changed (added, edited, deleted, a payment recorded):
    /// fetch its ledger again.
    LedgerChanged { room: i64 },
    /// Live events were dropped because this connection fell behind: send [`ClientMsg::Sync`].
    Resync,
    /// Answers [`ClientMsg::Ping`].
    Pong,
    /// You have a seat in the call: who else is in it, and how to reach them.
    CallJoined {
        meeting: i64,
        code: String,
        /// The chat room of the call.
        room: i64,
        seat: SeatId,
        /// Present this with `call_join` after a dropped socket to keep the seat.
        resume: String,
        host_id: i64,
        locked: bool,
        /// Everyone else in the call, in join order.
        participants: Vec<Participant>,
        ice_servers: Vec<IceServer>,
    },
    /// Someone took a seat in your call (you are never the polite side towards a newcomer).
    CallPeerJoined { meeting: i64, participant: Participant },
    /// Someone's seat in your call is gone.
    CallPeerLeft { meeting: i64, seat: SeatId, left_by: LeftBy },
    /// Someone in your call changed what they share or raised a hand.
    CallPeerState { meeting: i64, seat: SeatId, state: CallState },
    /// A description or candidate from seat `from` of your call, for you alone.
    CallSignal { meeting: i64, from: SeatId, signal: Signal },
    /// The host locked or unlocked the meeting.
    CallLocked { meeting: i64, locked: bool },
    /// The host asks you to mute: turn your microphone off.
    CallMuted { meeting: i64 },
    /// You are out of the call: removed by the host, or the call ended.
    CallEnded { meeting: i64, left_by: LeftBy },
    /// The call in `room` changed: who is in it now (empty: it ended).
    RoomCall { room: i64, code: String, people: Vec<String> },
    /// One of your frames was refused. `client_id` names the message when it was a `send`.
    Error { code: ErrorCode, message: String, client_id: Option<String> },
}

crate::tag_first!(ServerMsg, "type");

impl ServerMsg {
    /// Whether this frame is about the call this tab is in (the meeting page handles those).
    pub fn is_for_call(&self) -> bool {
        match self {
            ServerMsg::CallJoined { .. }
            | ServerMsg::CallPeerJoined { .. }
            | ServerMsg::CallPeerLeft { .. }
            | ServerMsg::CallPeerState { .. }
            | ServerMsg::CallSignal { .. }
            | ServerMsg::CallLocked { .. }
            | ServerMsg::CallMuted { .. }
            | ServerMsg::CallEnded { .. } => true,
            ServerMsg::Error { code, .. } => {
                matches!(code, ErrorCode::NoMeeting | ErrorCode::CallFull | ErrorCode::CallLocked | ErrorCode::NotInCall)
            }
            _ => false,
        }
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerMsg::Error { code, message: message.into(), client_id: None }
    }
}

/// Parses a client frame, telling an unknown `type` apart from a malformed frame.
pub fn parse_client_frame(text: &str) -> Result<ClientMsg, (ErrorCode, String)> {
    if text.len() > MAX_CLIENT_FRAME {
        return Err((ErrorCode::TooLarge, format!("Frames are limited to {MAX_CLIENT_FRAME} bytes.")));
    }
    serde_json::from_str(text).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("unknown variant") {
            let name = msg.split('`').nth(1).unwrap_or("?").to_string();
            (ErrorCode::UnknownType, format!("Unknown frame type `{name}`."))
        } else {
            (ErrorCode::BadFrame, format!("Malformed frame: {}", strip_position(&msg)))
        }
    })
}

/// serde_json's messages end in " at line 1 column 9": useful, but keep them short and plain.
fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_tagged_by_type_in_snake_case() {
        let msg = ClientMsg::Send { room: 3, client_id: "c".into(), body: "hi".into() };
        let json = serde_json::to_string(&msg).unwrap();
        assert_eq!(json, r#"{"type":"send","room":3,"client_id":"c","body":"hi"}"#);
        assert_eq!(serde_json::to_string(&ServerMsg::Resync).unwrap(), r#"{"type":"resync"}"#);
        assert_eq!(parse_client_frame(r#"{"type":"ping"}"#), Ok(ClientMsg::Ping));
    }

    #[test]
    fn an_unknown_type_is_told_apart_from_a_malformed_frame() {
        assert_eq!(parse_client_frame(r#"{"type":"launch"}"#).unwrap_err().0, ErrorCode::UnknownType);
        assert_eq!(parse_client_frame("{nope").unwrap_err().0, ErrorCode::BadFrame);
        assert_eq!(parse_client_frame(r#"{"type":"send","room":"x"}"#).unwrap_err().0, ErrorCode::BadFrame);
    }

    /// The `type` of every JSON example in `text`, each checked to parse as `T`.
    fn example_types<T: serde::de::DeserializeOwned>(text: &str) -> std::collections::BTreeSet<String> {
        let blocks = text.split("```json\n").skip(1).filter_map(|b| b.split("\n```").next());
        blocks
            .map(|example| {
                serde_json::from_str::<T>(example).unwrap_or_else(|e| panic!("{example}: {e}"));
                let value: serde_json::Value = serde_json::from_str(example).unwrap();
                value["type"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn every_variant_has_an_example_in_the_protocol_document_and_every_example_parses() {
        let doc = include_str!("../../../docs/protocol.md");
        let (client, server) = doc.split_once("## Server → client").unwrap();
        assert_eq!(example_types::<ClientMsg>(client).len(), 15, "one per ClientMsg variant");
        assert_eq!(example_types::<ServerMsg>(server).len(), 23, "one per ServerMsg variant");
    }

    #[test]
    fn an_oversized_frame_is_refused_before_parsing() {
        let big = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(MAX_CLIENT_FRAME));
        assert_eq!(parse_client_frame(&big).unwrap_err().0, ErrorCode::TooLarge);
    }
}
