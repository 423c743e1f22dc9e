//! CSV defusing: the text comes back whole, and whatever a spreadsheet would read as a formula
//! (after leading controls, marks and spaces, in any width) starts with an apostrophe.
#![no_main]
use app::models::text::{defuse_formula, is_format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let out = defuse_formula(text);
    assert!(out == text || out.strip_prefix('\'') == Some(text));
    let first = text.chars().find(|c| !(c.is_control() || c.is_whitespace() || is_format(*c)));
    let formula = first.is_some_and(|c| "=+-@＝＋－＠﹦﹢﹣﹫".contains(c));
    if formula {
        assert!(out.starts_with('\''), "{text:?}");
    }
});
