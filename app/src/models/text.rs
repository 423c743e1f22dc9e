//! What text typed by users may contain, checked by every newtype that takes a name or a body.
//!
//! Names (display names, room names and topics, category names) are one line of visible text:
//! no control characters, no invisible or direction-changing format characters (U+202E could
//! make a name read backwards, U+200B could make it look like another), and at least one
//! character that shows. Bodies (messages, expense descriptions and notes) may span lines but
//! carry no control characters other than newline, carriage return and tab, and no
//! direction overrides. Both keep the joiners emoji and some scripts need (U+200C, U+200D)
//! and the tag characters of subdivision flags.

/// A Unicode format character (general category Cf): invisible, and some change direction.
pub fn is_format(c: char) -> bool {
    matches!(
        c as u32,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// Format characters that text needs: zero-width (non-)joiners and emoji tag characters.
fn is_needed_format(c: char) -> bool {
    matches!(c as u32, 0x200C | 0x200D | 0xE0020..=0xE007F)
}

/// Embeddings, overrides and isolates: they reorder the text around them.
pub fn is_direction_override(c: char) -> bool {
    matches!(c as u32, 0x202A..=0x202E | 0x2066..=0x2069)
}

/// Shows as nothing: spaces, format characters, fillers and blank patterns, variation selectors.
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || is_format(c)
        || matches!(c as u32, 0x34F | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x2800 | 0x3164 | 0xFE00..=0xFE0F | 0xFFA0)
}

/// Why a name cannot be used, if it cannot.
pub fn name_problem(s: &str) -> Option<&'static str> {
    if s.chars().any(|c| c.is_control() || (is_format(c) && !is_needed_format(c))) {
        return Some("Use visible characters only: no control, invisible or direction-changing characters.");
    }
    if !s.is_empty() && s.chars().all(is_blank) {
        return Some("Use at least one visible character.");
    }
    None
}

/// Why a body cannot be used, if it cannot.
pub fn body_problem(s: &str) -> Option<&'static str> {
    let bad = |c: char| (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_direction_override(c);
    s.chars().any(bad).then_some("Remove the control or direction-changing characters from the text.")
}

/// Text a spreadsheet would run as a formula, with a leading apostrophe (OWASP CSV injection).
/// Spreadsheets skip leading controls, a byte-order mark and spaces before deciding, and read
/// the full-width and small forms of = + - @ as the ASCII ones: so does this.
pub fn defuse_formula(s: &str) -> String {
    let skipped = |c: &char| c.is_control() || c.is_whitespace() || is_format(*c);
    let first = s.chars().find(|c| !skipped(c));
    let formula = matches!(first, Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠' | '﹦' | '﹢' | '﹣' | '﹫'));
    if formula || s.starts_with(['\t', '\r']) { format!("'{s}") } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_invisible_reversing_and_control_characters() {
        for bad in ["evil\u{202E}gnp.exe", "a\u{200B}b", "\u{2066}x", "nul\u{0}", "esc\u{1b}[31m", "soft\u{AD}hyphen", "x\u{FEFF}"] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        for blank in ["\u{3164}", "\u{2800}\u{2800}", "\u{115F}", "\u{200D}"] {
            assert_eq!(name_problem(blank), Some("Use at least one visible character."), "{blank:?}");
        }
    }

    #[test]
    fn names_keep_what_real_names_and_emoji_need() {
        for good in ["Ada Lovelace", "Zoë", "李雷", "محمد", "👩\u{200D}💻 team", "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}", "می\u{200C}خواهم"] {
            assert_eq!(name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn formulas_are_defused_behind_whatever_hides_them() {
        assert_eq!(defuse_formula("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(defuse_formula("Lunch"), "Lunch");
        assert_eq!(defuse_formula("-5 refund"), "'-5 refund");
        for sneaky in ["\u{1}=1+1", "\u{feff}=1+1", "\u{0}=1", "＝1+1", "  @SUM(A1)", "\t=1", "\r+1", "\u{200b}=1", "﹦1"] {
            assert!(defuse_formula(sneaky).starts_with('\''), "{sneaky:?}");
        }
        assert_eq!(defuse_formula("Lunch = good"), "Lunch = good");
    }

    #[test]
    fn bodies_keep_lines_and_tabs_and_refuse_other_controls() {
        assert_eq!(body_problem("line one\r\nline two\tend 👨\u{200D}👩\u{200D}👧"), None);
        for bad in ["nul \u{0}", "esc \u{1b}[2J", "bell \u{7}", "rtl \u{202E}txt.exe", "del \u{7f}", "c1 \u{9b}"] {
            assert!(body_problem(bad).is_some(), "{bad:?}");
        }
    }
}
