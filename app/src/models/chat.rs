//! Chat: rooms, direct conversations and their messages, as the server stores and sends them.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A group room or a direct conversation between two users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoomKind {
    Group,
    Direct,
    /// The chat of a meeting started on its own (by code): its members are the people who
    /// joined the call. Not listed with the user's rooms; reached from the meeting.
    Meeting,
}

impl RoomKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomKind::Group => "group",
            RoomKind::Direct => "direct",
            RoomKind::Meeting => "meeting",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "direct" => RoomKind::Direct,
            "meeting" => RoomKind::Meeting,
            _ => RoomKind::Group,
        }
    }
}

/// Who may find and join a group room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Joined only through its invite link or by being added; to anyone else it does not exist.
    Private,
    /// Listed in the room directory; anyone signed in may join.
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Public => "public",
        }
    }

    /// Anything but `public` is private: the safe reading of a missing or unknown value.
    pub fn from_db(s: &str) -> Self {
        if s == "public" { Visibility::Public } else { Visibility::Private }
    }
}

/// A room's current invite link, as shown to those who may invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// `/chat/join/<token>`: the token is unguessable and dies when the link is regenerated.
    pub path: String,
    /// The same link in full (`https://host/chat/join/<token>`), to copy and send.
    pub url: String,
    /// The link stops working at this time (milliseconds), if set.
    pub expires_at: Option<i64>,
    /// The link stops working after this many joins, if set.
    pub max_uses: Option<i64>,
    /// Joins made with this link so far.
    pub uses: i64,
}

/// What an invite link shows before joining: enough to decide, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub room: i64,
    pub name: String,
    pub topic: String,
    pub members: i64,
    /// The viewer is already in the room.
    pub is_member: bool,
}

/// One line of the public room directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct PublicRoom {
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub members: i64,
    /// 1 when the viewer is a member (an integer: it decodes the same from both databases).
    pub joined: i64,
}

/// One message. `seq` is its position in the room (1, 2, 3… without gaps); `change` is the
/// room's change counter when it was last written (created, edited or deleted): replay after a
/// reconnect sends every message whose `change` is above the client's cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ChatMessage {
    pub id: i64,
    pub room: i64,
    pub seq: i64,
    pub change: i64,
    pub sender_id: i64,
    pub sender_name: String,
    /// The id the sender's client gave the message (a UUID).
    pub client_id: String,
    /// Empty once deleted.
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// A shared expense or payment shown as a card (the body then says it in one line, for
    /// previews). Written by the ledger, never by a chat edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<BillCard>,
}

/// A shared expense or a recorded payment as its card in the room's timeline: the entry as it
/// was last written (the room's ledger holds the entry itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillCard {
    /// The entry in the room's ledger.
    pub entry: i64,
    pub settlement: bool,
    pub description: String,
    pub amount_minor: i64,
    pub currency: String,
    pub paid_by: i64,
    pub paid_by_name: String,
    /// Who owes what (for a payment: the one who was paid): the first [`CARD_PARTS`]; the
    /// ledger lists them all.
    pub parts: Vec<CardPart>,
    /// Parts not on the card.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_parts: usize,
    /// The entry was deleted: the card stays, struck through.
    #[serde(default)]
    pub deleted: bool,
}

/// Parts a card lists at most: a bill split among a whole large room stays a small message
/// (in every member's timeline, in every replay page), however many members it names.
pub const CARD_PARTS: usize = 12;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardPart {
    pub user_id: i64,
    pub name: String,
    pub amount_minor: i64,
}

/// Stored as JSON text in `messages.card`.
#[cfg(feature = "ssr")]
impl sqlx::Type<sqlx::Any> for BillCard {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <String as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

#[cfg(feature = "ssr")]
impl<'r> sqlx::Decode<'r, sqlx::Any> for BillCard {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
        Ok(serde_json::from_str(text)?)
    }
}

impl ChatMessage {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A member of a room as the member list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: i64,
    pub name: String,
    pub username: String,
    /// The newest message this member has read.
    pub last_read_seq: i64,
    pub online: bool,
}

/// One line of the chat home: a room or conversation with its latest message and unread count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub id: i64,
    pub kind: RoomKind,
    /// The room's name, or for a direct conversation the other user's name.
    pub title: String,
    pub topic: String,
    /// For a direct conversation: the other user.
    pub peer_id: Option<i64>,
    pub peer_online: bool,
    pub last_message: Option<ChatMessage>,
    pub last_activity_at: i64,
    pub unread: i64,
    /// A call is on in this room now.
    #[serde(default)]
    pub call_on: bool,
}

/// Everything the page of one room shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomView {
    pub id: i64,
    pub kind: RoomKind,
    pub title: String,
    pub topic: String,
    pub created_by: i64,
    pub visibility: Visibility,
    /// Every member may invite (not only the creator).
    pub members_invite: bool,
    /// The invite link, for members who may invite; `None` for everyone else.
    pub invite: Option<Invite>,
    /// False when the viewer may see the room exists but has not joined it (a public room).
    pub is_member: bool,
    pub members: Vec<Member>,
    /// The viewer's read mark before this view marked the room read: where "new messages" start.
    pub read_before: i64,
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// Whether messages older than the first shown exist.
    pub has_older: bool,
    /// The room's change counter when this view was read: the socket's replay cursor.
    pub cursor: i64,
    pub last_seq: i64,
    /// The viewer's time zone offset now: times of day are shown in it.
    pub utc_offset_minutes: i32,
    /// The call on in this room now: its meeting code and who is in it.
    #[serde(default)]
    pub call: Option<(String, Vec<String>)>,
    /// The last call that ended here.
    #[serde(default)]
    pub last_call: Option<super::meeting::CallRecap>,
}

/// The chat home: the viewer's rooms and conversations, most recent activity first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomList {
    pub rooms: Vec<RoomSummary>,
    pub utc_offset_minutes: i32,
}

/// `HH:MM` of a millisecond timestamp at a UTC offset.
pub fn time_of_day(ms: i64, utc_offset_minutes: i32) -> String {
    let minutes = ms.div_euclid(60_000) + i64::from(utc_offset_minutes);
    format!("{:02}:{:02}", minutes.div_euclid(60).rem_euclid(24), minutes.rem_euclid(60))
}

/// A room's name: 1 to 80 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub const FIELD: &'static str = "name";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(Self::FIELD, "Give the room a name."));
        }
        if s.chars().count() > 80 {
            return Err(FieldError::new(Self::FIELD, "A room name has at most 80 characters."));
        }
        if let Some(problem) = super::text::name_problem(s) {
            return Err(FieldError::new(Self::FIELD, problem));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A room's topic: up to 200 characters, may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomTopic(String);

impl RoomTopic {
    pub const FIELD: &'static str = "topic";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.chars().count() > 200 {
            return Err(FieldError::new(Self::FIELD, "A topic has at most 200 characters."));
        }
        if let Some(problem) = super::text::name_problem(s) {
            return Err(FieldError::new(Self::FIELD, problem));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message body: 1 to 4,000 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

impl MessageBody {
    pub const FIELD: &'static str = "body";
    pub const MAX_CHARS: usize = 4000;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(Self::FIELD, "Write something first."));
        }
        let n = s.chars().count();
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(Self::FIELD, format!("A message has at most 4,000 characters (this one has {n}).")));
        }
        if let Some(problem) = super::text::body_problem(s) {
            return Err(FieldError::new(Self::FIELD, problem));
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id a client gives each message it sends: a UUID in its canonical text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub const FIELD: &'static str = "client_id";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let groups: Vec<&str> = raw.split('-').collect();
        let shape_ok = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]);
        if !shape_ok || !groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(FieldError::new(Self::FIELD, "A message id must be a UUID."));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A piece of a message body as shown: plain text, or a link the user can follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment<'a> {
    Text(&'a str),
    Link(&'a str),
}

/// Splits a body into text and `http(s)://` links; nothing else in it is interpreted.
pub fn linkify(body: &str) -> Vec<Fragment<'_>> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = find_link_start(rest) {
        let len = rest[start..].find(char::is_whitespace).unwrap_or(rest.len() - start);
        // A sentence's closing punctuation is not part of the link.
        let link = rest[start..start + len].trim_end_matches(['.', ',', ')', '!', '?', ';', ':', '"', '\'']);
        let scheme = if link.starts_with("https://") { 8 } else { 7 };
        if link.len() <= scheme {
            out.push(Fragment::Text(&rest[..start + len]));
        } else {
            if start > 0 {
                out.push(Fragment::Text(&rest[..start]));
            }
            out.push(Fragment::Link(link));
            rest = &rest[start + link.len()..];
            continue;
        }
        rest = &rest[start + len..];
    }
    if !rest.is_empty() {
        out.push(Fragment::Text(rest));
    }
    out
}

fn find_link_start(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_trimmed_and_must_not_be_empty() {
        assert_eq!(MessageBody::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(MessageBody::parse(" \n\t ").is_err());
    }

    #[test]
    fn a_body_counts_characters_not_bytes() {
        assert!(MessageBody::parse(&"é".repeat(4000)).is_ok());
        let err = MessageBody::parse(&"a".repeat(4001)).unwrap_err();
        assert!(err.message.contains("4001"), "{}", err.message);
    }

    #[test]
    fn a_client_id_must_be_a_uuid() {
        assert!(ClientId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert_eq!(ClientId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E").unwrap().as_str(), "0f8fad5b-d9cb-469f-a165-70867728950e");
        for bad in ["", "x", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5b-d9cb-469f-a165-70867728950g", "0f8fad5bd9cb469fa16570867728950e"] {
            assert!(ClientId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_time_of_day_follows_the_offset_across_midnight() {
        let ms = 1_795_305_600_000 + 23 * 3_600_000 + 30 * 60_000; // 23:30 UTC
        assert_eq!(time_of_day(ms, 0), "23:30");
        assert_eq!(time_of_day(ms, 60), "00:30");
        assert_eq!(time_of_day(ms, -330), "18:00");
    }

    #[test]
    fn room_names_are_one_line_and_short() {
        assert_eq!(RoomName::parse(" Team ").unwrap().as_str(), "Team");
        assert!(RoomName::parse("").is_err());
        assert!(RoomName::parse("a\nb").is_err());
        assert!(RoomName::parse("\u{202E}maet").is_err());
        assert!(RoomTopic::parse("\u{200B}").is_err());
        assert!(MessageBody::parse("hi\u{0}").is_err());
        assert!(RoomName::parse(&"x".repeat(81)).is_err());
    }

    #[test]
    fn links_are_found_and_nothing_else_is_interpreted() {
        let parts = linkify("see https://example.org/a?b=1. <b>bold</b> http:// x");
        assert_eq!(
            parts,
            vec![
                Fragment::Text("see "),
                Fragment::Link("https://example.org/a?b=1"),
                Fragment::Text(". <b>bold</b> http://"),
                Fragment::Text(" x"),
            ]
        );
        assert_eq!(linkify("plain"), vec![Fragment::Text("plain")]);
    }
}
