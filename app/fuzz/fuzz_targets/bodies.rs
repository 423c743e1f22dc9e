//! Message bodies, expense descriptions and notes: accepted text keeps no control character
//! but newlines and tabs; links found in a body cover it exactly, text and links in order.
#![no_main]
use app::models::chat::{Fragment, MessageBody, linkify};
use app::models::expense::ExpenseInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (body, note) = input;
    if let Ok(b) = MessageBody::parse(body) {
        assert!(b.as_str().chars().all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')));
        let rebuilt: String = linkify(b.as_str())
            .into_iter()
            .map(|f| match f {
                Fragment::Text(t) => t,
                Fragment::Link(l) => {
                    assert!(l.starts_with("http://") || l.starts_with("https://"));
                    assert!(!l.contains(char::is_whitespace));
                    l
                }
            })
            .collect();
        assert_eq!(rebuilt, b.as_str());
    }
    if let Ok(e) = ExpenseInput::parse("12.50", body, "1", "2026-01-31", note, 2) {
        assert!(!e.description.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')));
    }
});
