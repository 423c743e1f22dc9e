//! Usernames, emails, display names, room names and topics, category names, login names: any
//! text is accepted or refused with a field error; what is accepted is trimmed, bounded, one
//! line, and free of control and direction-changing characters.
#![no_main]
use app::models::chat::{RoomName, RoomTopic};
use app::models::expense::parse_category_name;
use app::models::text::is_direction_override;
use app::models::{DisplayName, Email, LoginName, Username};
use libfuzzer_sys::fuzz_target;

fn clean(s: &str) {
    assert_eq!(s, s.trim());
    assert!(!s.chars().any(|c| c.is_control() || is_direction_override(c)), "{s:?}");
}

fuzz_target!(|text: &str| {
    if let Ok(u) = Username::parse(text) {
        clean(u.as_str());
        assert!(u.as_str().chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
    if let Ok(e) = Email::parse(text) {
        clean(e.as_str());
        assert!(e.as_str().len() <= 254);
    }
    if let Ok(n) = DisplayName::parse(text) {
        clean(n.as_str());
        assert!(!n.as_str().is_empty() && n.as_str().chars().count() <= 100);
    }
    if let Ok(n) = RoomName::parse(text) {
        clean(n.as_str());
        assert!(!n.as_str().is_empty() && n.as_str().chars().count() <= 80);
    }
    if let Ok(t) = RoomTopic::parse(text) {
        clean(t.as_str());
    }
    if let Ok(c) = parse_category_name(text) {
        clean(&c);
    }
    let _ = LoginName::parse(text);
});
