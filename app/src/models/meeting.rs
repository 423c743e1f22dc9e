//! Meetings: codes, who is in a call and in what state, the signals peers relay to each other,
//! and the history the server keeps.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A meeting's code, `abc-defg-hij`: ten lowercase letters in groups of 3, 4 and 3 (26^10,
/// about 1.4 × 10^14 codes). Typed or pasted, it may be upper case, without dashes, or the
/// end of a meeting link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MeetingCode(String);

/// Letters in a code.
const CODE_LETTERS: usize = 10;

impl MeetingCode {
    /// A code from 10 random bytes (each reduced to a letter; the bias of 256 mod 26 is small
    /// and a code is no secret: joining also needs an account, and the host can lock).
    pub fn from_random(bytes: [u8; CODE_LETTERS]) -> Self {
        let letters: String = bytes.iter().map(|b| (b'a' + b % 26) as char).collect();
        Self(format!("{}-{}-{}", &letters[..3], &letters[3..7], &letters[7..]))
    }

    /// A code as typed or pasted: `abc-defg-hij`, `ABCDEFGHIJ`, or a link ending in one.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let last = input.trim().trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let last = last.split(['?', '#']).next().unwrap_or("");
        let letters: String = last.chars().filter(|c| *c != '-' && *c != ' ').collect::<String>().to_ascii_lowercase();
        if letters.len() != CODE_LETTERS || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(FieldError::new("code", "A meeting code is 10 letters, like abc-defg-hij."));
        }
        Ok(Self(format!("{}-{}-{}", &letters[..3], &letters[3..7], &letters[7..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `/meetings/abc-defg-hij`.
    pub fn path(&self) -> String {
        format!("/meetings/{}", self.0)
    }
}

impl std::fmt::Display for MeetingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A place in a live call. One tab holds one seat; the same user may hold seats from two
/// devices. Numbered by the server, never chosen by a client.
pub type SeatId = u64;

/// What a participant shares and asks for, as everyone sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct CallState {
    pub mic: bool,
    pub camera: bool,
    pub screen: bool,
    pub hand: bool,
}

/// Someone in a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    pub seat: SeatId,
    pub user_id: i64,
    pub name: String,
    pub state: CallState,
    /// When this seat was taken (milliseconds): raised hands are listed in this order.
    pub joined_at: i64,
    /// Whether the receiver of this frame is the polite side towards this participant (see
    /// [`polite`]).
    pub polite: bool,
}

/// Perfect negotiation needs one polite side per pair, agreed by both: the later seat is
/// polite (it yields when both offer at once), the earlier one is not.
pub fn polite(me: SeatId, other: SeatId) -> bool {
    me > other
}

/// A WebRTC session description or ICE candidate, relayed untouched between two seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An offer or answer (`sdp_type` is `offer`, `answer`, `pranswer` or `rollback`).
    Description { sdp_type: String, sdp: String },
    /// A trickled candidate; an empty `candidate` marks the end of candidates.
    Candidate { candidate: String, sdp_mid: Option<String>, sdp_m_line_index: Option<u16> },
}

/// Largest SDP relayed, in bytes.
pub const MAX_SDP: usize = 64 * 1024;

impl Signal {
    /// Refuses what no browser sends: an unknown description type, an oversized SDP or
    /// candidate.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Signal::Description { sdp_type, sdp } => {
                if !matches!(sdp_type.as_str(), "offer" | "answer" | "pranswer" | "rollback") {
                    return Err(format!("Unknown description type `{}`.", truncate(sdp_type, 20)));
                }
                if sdp.len() > MAX_SDP {
                    return Err(format!("A session description is limited to {MAX_SDP} bytes."));
                }
            }
            Signal::Candidate { candidate, sdp_mid, .. } => {
                if candidate.len() > 1024 || sdp_mid.as_ref().is_some_and(|m| m.len() > 64) {
                    return Err("An ICE candidate is limited to 1024 bytes.".into());
                }
            }
        }
        Ok(())
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A STUN or TURN server the browser may use, as `RTCIceServer` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// Why someone is no longer in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftBy {
    /// They left.
    Left,
    /// The host removed them.
    Removed,
    /// Their connection was lost and did not come back within the grace period.
    Dropped,
    /// The meeting ended.
    Ended,
}

impl LeftBy {
    pub fn as_str(self) -> &'static str {
        match self {
            LeftBy::Left => "left",
            LeftBy::Removed => "removed",
            LeftBy::Dropped => "dropped",
            LeftBy::Ended => "ended",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Some(match s {
            "left" => LeftBy::Left,
            "removed" => LeftBy::Removed,
            "dropped" => LeftBy::Dropped,
            "ended" => LeftBy::Ended,
            _ => return None,
        })
    }
}

/// A meeting as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingInfo {
    pub id: i64,
    pub code: String,
    /// The chat room the call's chat is kept in.
    pub room: i64,
    /// The room's name when the call was started from a room; `None` for a meeting by code.
    pub room_name: Option<String>,
    pub host_id: i64,
    pub host_name: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub locked: bool,
    /// The full link to share (`https://host/meetings/abc-defg-hij`).
    pub url: String,
}

/// One stint of one person in a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stint {
    pub user_id: i64,
    pub name: String,
    pub joined_at: i64,
    /// `None` while still in the call.
    pub left_at: Option<i64>,
    pub left_by: Option<LeftBy>,
}

/// Each attendee's time in a meeting, from their stints (overlapping stints, from two devices,
/// are counted once).
pub fn time_in_call(stints: &[Stint], user_id: i64, now: i64) -> i64 {
    let mut spans: Vec<(i64, i64)> = stints
        .iter()
        .filter(|s| s.user_id == user_id)
        .map(|s| (s.joined_at, s.left_at.unwrap_or(now).max(s.joined_at)))
        .collect();
    spans.sort_unstable();
    let (mut total, mut end) = (0, i64::MIN);
    for (from, to) in spans {
        let from = from.max(end);
        if to > from {
            total += to - from;
            end = to;
        }
    }
    total
}

/// A meeting in someone's history: when, how long, who came and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRecord {
    pub meeting: MeetingInfo,
    /// Every stint, in the order people joined.
    pub stints: Vec<Stint>,
}

impl MeetingRecord {
    /// From the first join to the end (or now); 0 before anyone joined.
    pub fn duration(&self, now: i64) -> i64 {
        match self.meeting.started_at {
            Some(start) => self.meeting.ended_at.unwrap_or(now).saturating_sub(start).max(0),
            None => 0,
        }
    }

    /// Each attendee once, in order of first join, with their total time.
    pub fn attendees(&self, now: i64) -> Vec<(i64, String, i64)> {
        let mut seen = Vec::<(i64, String, i64)>::new();
        for s in &self.stints {
            if !seen.iter().any(|(id, ..)| *id == s.user_id) {
                seen.push((s.user_id, s.name.clone(), time_in_call(&self.stints, s.user_id, now)));
            }
        }
        seen
    }
}

/// A room's last call, as the room shows it: "Call ended · 12 min · Ada, Bob".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecap {
    pub code: String,
    pub ended_at: i64,
    pub duration_ms: i64,
    /// Everyone who took part, in order of first join.
    pub people: Vec<String>,
}

impl MeetingRecord {
    /// The recap of an ended call; `None` while it is on.
    pub fn recap(&self) -> Option<CallRecap> {
        let ended_at = self.meeting.ended_at?;
        Some(CallRecap {
            code: self.meeting.code.clone(),
            ended_at,
            duration_ms: self.duration(ended_at),
            people: self.attendees(ended_at).into_iter().map(|(_, name, _)| name).collect(),
        })
    }
}

/// `1 h 05 min`, `12 min`, `40 s`.
pub fn format_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_groups_of_lowercase_letters() {
        let code = MeetingCode::from_random([0, 1, 2, 3, 4, 5, 6, 7, 8, 255]);
        assert_eq!(code.as_str(), "abc-defg-hiv");
        assert_eq!(code.path(), "/meetings/abc-defg-hiv");
    }

    #[test]
    fn a_code_is_read_however_it_is_pasted() {
        for input in ["abc-defg-hij", " ABC-DEFG-HIJ ", "abcdefghij", "abc defg hij", "https://h.example/meetings/abc-defg-hij/", "/meetings/abc-defg-hij?x=1"] {
            assert_eq!(MeetingCode::parse(input).unwrap().as_str(), "abc-defg-hij", "{input}");
        }
        for bad in ["", "abc-defg-hi", "abc-defg-hijk", "abc-defg-hi1", "ábc-defg-hij", "<script>", "abc-defg-hij/../x"] {
            assert!(MeetingCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn exactly_one_side_of_a_pair_is_polite() {
        for (a, b) in [(1, 2), (7, 3), (100, 101)] {
            assert_ne!(polite(a, b), polite(b, a));
        }
        assert!(polite(5, 2), "the later seat yields");
    }

    #[test]
    fn signals_no_browser_sends_are_refused() {
        let ok = Signal::Description { sdp_type: "offer".into(), sdp: "v=0".into() };
        assert!(ok.check().is_ok());
        assert!(Signal::Description { sdp_type: "bogus".into(), sdp: String::new() }.check().is_err());
        assert!(Signal::Description { sdp_type: "answer".into(), sdp: "x".repeat(MAX_SDP + 1) }.check().is_err());
        assert!(Signal::Candidate { candidate: "c".repeat(2000), sdp_mid: None, sdp_m_line_index: None }.check().is_err());
        let json = serde_json::to_string(&ok).unwrap();
        assert_eq!(json, r#"{"kind":"description","sdp_type":"offer","sdp":"v=0"}"#);
    }

    fn stint(user_id: i64, joined_at: i64, left_at: Option<i64>) -> Stint {
        Stint { user_id, name: format!("u{user_id}"), joined_at, left_at, left_by: left_at.map(|_| LeftBy::Left) }
    }

    #[test]
    fn time_in_call_adds_stints_and_counts_overlaps_once() {
        let stints = [stint(1, 0, Some(10_000)), stint(2, 1_000, Some(4_000)), stint(1, 20_000, Some(25_000)), stint(1, 22_000, None)];
        assert_eq!(time_in_call(&stints, 2, 99_000), 3_000);
        // 0-10 s, then 20-25 s and 22 s-now (30 s) overlapping: 10 + 10.
        assert_eq!(time_in_call(&stints, 1, 30_000), 20_000);
        assert_eq!(time_in_call(&stints, 3, 30_000), 0);
    }

    #[test]
    fn a_record_lists_each_attendee_once_in_join_order() {
        let meeting = MeetingInfo {
            id: 1, code: "abc-defg-hij".into(), room: 1, room_name: None, host_id: 1, host_name: "a".into(),
            created_at: 0, started_at: Some(0), ended_at: Some(60_000), locked: false, url: String::new(),
        };
        let record = MeetingRecord { meeting, stints: vec![stint(2, 0, Some(5_000)), stint(1, 1_000, Some(60_000)), stint(2, 10_000, Some(15_000))] };
        assert_eq!(record.attendees(0), vec![(2, "u2".into(), 10_000), (1, "u1".into(), 59_000)]);
        assert_eq!(record.duration(0), 60_000);
        assert_eq!(format_duration(record.duration(0)), "1 min");
        assert_eq!(format_duration(3_900_000), "1 h 05 min");
        assert_eq!(format_duration(40_000), "40 s");
    }
}
