//! Expenses and categories as the browser sees them, and the parsed form inputs.

use super::money::Amount;
use super::time::Day;
use super::FieldError;
use serde::{Deserialize, Serialize};

/// The categories every account starts with. `Other` takes the expenses of a deleted category.
pub const BUILTIN_CATEGORIES: [&str; 10] =
    ["Food", "Transport", "Housing", "Utilities", "Health", "Entertainment", "Shopping", "Education", "Travel", "Other"];

/// Rows per page the list offers.
pub const PAGE_SIZES: [i64; 4] = [10, 25, 50, 100];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expense {
    pub id: i64,
    pub amount_minor: i64,
    pub description: String,
    pub note: Option<String>,
    pub category_id: i64,
    pub category: String,
    /// `YYYY-MM-DD`
    pub spent_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub builtin: bool,
    pub expenses: i64,
}

/// Where a page of the list starts: strictly after (older than) or before (newer than) a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub spent_on: Day,
    pub id: i64,
}

impl Cursor {
    /// `2026-11-21.42`, the form it takes in links.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.spent_on, self.id)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (day, id) = s.split_once('.')?;
        Some(Self { spent_on: Day::parse(day).ok()?, id: id.parse().ok()? })
    }
}

/// One page of the filtered list, with the filtered totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpensePage {
    pub items: Vec<Expense>,
    /// Sum and count over the whole filtered range, not just this page.
    pub total_minor: i64,
    pub count: i64,
    /// Links to the neighbouring pages, when there are any.
    pub newer: Option<String>,
    pub older: Option<String>,
    pub page_size: i64,
    pub currency: String,
}

/// A validated expense form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseInput {
    pub amount: Amount,
    pub description: String,
    pub category_id: i64,
    pub spent_on: Day,
    pub note: Option<String>,
}

impl ExpenseInput {
    pub fn parse(
        amount: &str,
        description: &str,
        category_id: &str,
        spent_on: &str,
        note: &str,
        decimals: u32,
    ) -> Result<Self, FieldError> {
        let amount = Amount::parse(amount, decimals)?;
        let description = parse_description(description)?;
        let category_id = category_id
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| FieldError::new("category_id", "Choose a category."))?;
        let spent_on = Day::parse(spent_on)?;
        let note = parse_note(note)?;
        Ok(Self { amount, description, category_id, spent_on, note })
    }
}

pub fn parse_description(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    match s.chars().count() {
        0 => Err(FieldError::new("description", "Say what it was for.")),
        n if n > 200 => Err(FieldError::new("description", "A description has at most 200 characters.")),
        _ => match super::text::body_problem(s) {
            Some(problem) => Err(FieldError::new("description", problem)),
            None => Ok(s.to_string()),
        },
    }
}

fn parse_note(raw: &str) -> Result<Option<String>, FieldError> {
    let s = raw.trim();
    match s.chars().count() {
        0 => Ok(None),
        n if n > 2000 => Err(FieldError::new("note", "A note has at most 2,000 characters.")),
        _ => match super::text::body_problem(s) {
            Some(problem) => Err(FieldError::new("note", problem)),
            None => Ok(Some(s.to_string())),
        },
    }
}

/// A category name: 1 to 40 characters.
pub fn parse_category_name(raw: &str) -> Result<String, FieldError> {
    let s = raw.trim();
    match s.chars().count() {
        0 => Err(FieldError::new("name", "Name the category.")),
        n if n > 40 => Err(FieldError::new("name", "A category name has at most 40 characters.")),
        _ => match super::text::name_problem(s) {
            Some(problem) => Err(FieldError::new("name", problem)),
            None => Ok(s.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_form_parses_and_an_empty_note_is_none() {
        let e = ExpenseInput::parse("12,50", " Lunch ", "3", "2026-11-21", "  ", 2).unwrap();
        assert_eq!((e.amount.minor(), e.description.as_str(), e.category_id, e.note), (1250, "Lunch", 3, None));
        assert_eq!(e.spent_on.to_string(), "2026-11-21");
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |a, d, c, s| ExpenseInput::parse(a, d, c, s, "", 2).unwrap_err().field;
        assert_eq!(field("0", "x", "1", "2026-01-01"), "amount");
        assert_eq!(field("1", " ", "1", "2026-01-01"), "description");
        assert_eq!(field("1", "x", "abc", "2026-01-01"), "category_id");
        assert_eq!(field("1", "x", "1", "2026-02-30"), "spent_on");
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor { spent_on: Day::parse("2026-11-21").unwrap(), id: 42 };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("2026-11-21"), None);
        assert_eq!(Cursor::decode("x.1"), None);
    }
}
