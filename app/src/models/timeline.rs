//! How a room's messages are laid out: grouped by sender, split by day, with a line where the
//! reader's unread messages start. Plain functions of the messages, so the server render and the
//! live page agree and the rules are tested on the host.

use super::chat::ChatMessage;
use super::time::civil_from_days;

/// Consecutive messages from one sender this close together share one name and avatar.
pub const GROUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// One message as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub message: ChatMessage,
    /// Shown under the previous message's name and avatar.
    pub continues: bool,
    /// A day separator goes above this message.
    pub day: Option<String>,
    /// The "new messages" line goes above this message.
    pub first_unread: bool,
}

/// Lays out `messages` (oldest first). `read_mark` is the newest position the reader had read
/// when the room was opened (their own messages are never "new"); `today` is the reader's local
/// day number (days since 1970-01-01 at `offset` minutes from UTC).
pub fn rows(messages: impl IntoIterator<Item = ChatMessage>, offset: i32, read_mark: i64, me: i64, today: i64) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    let mut unread_marked = false;
    for message in messages {
        let day_number = local_day(message.created_at, offset);
        let prev = out.last().map(|r| &r.message);
        let new_day = prev.is_none_or(|p| local_day(p.created_at, offset) != day_number);
        let first_unread = !unread_marked && message.seq > read_mark && message.sender_id != me && read_mark > 0;
        unread_marked |= first_unread;
        let continues = !new_day
            && !first_unread
            && prev.is_some_and(|p| p.sender_id == message.sender_id && message.created_at - p.created_at <= GROUP_WINDOW_MS);
        out.push(Row { day: new_day.then(|| day_label(day_number, today)), continues, first_unread, message });
    }
    out
}

/// The day number of a timestamp at a UTC offset.
pub fn local_day(ms: i64, offset: i32) -> i64 {
    (ms + i64::from(offset) * 60_000).div_euclid(86_400_000)
}

/// "Today", "Yesterday", or a date such as "Saturday 21 November 2026".
pub fn day_label(day: i64, today: i64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
    use super::time::MONTHS;
    match today - day {
        0 => "Today".into(),
        1 => "Yesterday".into(),
        _ => {
            let (y, m, d) = civil_from_days(day);
            format!("{} {d} {} {y}", WEEKDAYS[day.rem_euclid(7) as usize], MONTHS[m as usize - 1])
        }
    }
}

/// Up to two initials of a name, for its avatar ("Ada Lovelace" → "AL", "bob" → "B").
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

/// Which of the stylesheet's avatar colours a user gets (the same everywhere, from their id).
pub fn avatar_colour(user_id: i64) -> u8 {
    // A multiplicative hash spreads consecutive ids over the palette.
    (user_id.wrapping_mul(2_654_435_761).rem_euclid(1 << 16) % 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    // 2026-11-28 00:00 UTC.
    const DAY0: i64 = 1_795_824_000_000;

    fn msg(seq: i64, sender: i64, at: i64) -> ChatMessage {
        ChatMessage {
            id: seq,
            room: 1,
            seq,
            change: seq,
            sender_id: sender,
            sender_name: format!("user {sender}"),
            client_id: String::new(),
            body: "hi".into(),
            created_at: at,
            edited_at: None,
            deleted_at: None,
            card: None,
        }
    }

    fn shape(rows: &[Row]) -> Vec<(i64, bool, Option<&str>, bool)> {
        rows.iter().map(|r| (r.message.seq, r.continues, r.day.as_deref(), r.first_unread)).collect()
    }

    #[test]
    fn messages_group_by_sender_within_five_minutes() {
        let today = local_day(DAY0, 0);
        let list = vec![
            msg(1, 7, DAY0 + 10 * MIN),
            msg(2, 7, DAY0 + 14 * MIN),
            msg(3, 7, DAY0 + 19 * MIN + 1),
            msg(4, 8, DAY0 + 20 * MIN),
            msg(5, 7, DAY0 + 21 * MIN),
        ];
        let rows = rows(list, 0, 5, 7, today);
        assert_eq!(
            shape(&rows),
            vec![(1, false, Some("Today"), false), (2, true, None, false), (3, false, None, false), (4, false, None, false), (5, false, None, false)]
        );
    }

    #[test]
    fn a_new_local_day_starts_a_new_group_with_a_separator() {
        // 23:58 and 00:01 UTC are the same day two hours west of Greenwich, not at UTC.
        let list = || vec![msg(1, 7, DAY0 - 2 * MIN), msg(2, 7, DAY0 + MIN)];
        let at_utc = rows(list(), 0, 2, 7, local_day(DAY0, 0));
        assert_eq!(shape(&at_utc), vec![(1, false, Some("Yesterday"), false), (2, false, Some("Today"), false)]);
        let west = rows(list(), -120, 2, 7, local_day(DAY0, -120));
        assert_eq!(shape(&west), vec![(1, false, Some("Today"), false), (2, true, None, false)]);
    }

    #[test]
    fn the_new_messages_line_is_above_the_first_unread_from_someone_else() {
        let list = vec![msg(1, 8, DAY0), msg(2, 7, DAY0 + MIN), msg(3, 8, DAY0 + 2 * MIN), msg(4, 8, DAY0 + 3 * MIN)];
        let rows = rows(list, 0, 1, 7, local_day(DAY0, 0));
        assert_eq!(
            shape(&rows),
            vec![(1, false, Some("Today"), false), (2, false, None, false), (3, false, None, true), (4, true, None, false)]
        );
        // Someone who never read the room sees no line (everything would be "new").
        assert!(super::rows(vec![msg(1, 8, DAY0)], 0, 0, 7, 0).iter().all(|r| !r.first_unread));
    }

    #[test]
    fn older_days_are_named_in_full() {
        assert_eq!(day_label(local_day(DAY0, 0) - 7, local_day(DAY0, 0)), "Saturday 21 November 2026");
        assert_eq!(day_label(0, 5), "Thursday 1 January 1970");
    }

    #[test]
    fn initials_and_colours() {
        assert_eq!(initials("Ada Lovelace King"), "AL");
        assert_eq!(initials("  bob "), "B");
        assert_eq!(initials("élodie"), "É");
        assert_eq!(initials(""), "");
        let colours: std::collections::HashSet<u8> = (1..=40).map(avatar_colour).collect();
        assert!(colours.len() >= 6 && colours.iter().all(|c| *c < 8));
        assert_eq!(avatar_colour(-3), avatar_colour(-3));
    }
}
