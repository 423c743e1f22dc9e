//! Monthly budgets per category and how far this month has used them.

use serde::{Deserialize, Serialize};

/// One category's budget and what was spent against it in the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLine {
    pub category_id: i64,
    pub category: String,
    /// `None`: no budget set for this category.
    pub budget_minor: Option<i64>,
    pub spent_minor: i64,
}

/// Where spending stands against a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetState {
    /// Below 80 %.
    Fine,
    /// 80 % to 100 %.
    Close,
    /// Over 100 %.
    Over,
}

impl BudgetState {
    pub fn of(spent: i64, budget: i64) -> Self {
        // Integer arithmetic: 80 % is spent * 5 >= budget * 4.
        if spent > budget {
            BudgetState::Over
        } else if spent.saturating_mul(5) >= budget.saturating_mul(4) {
            BudgetState::Close
        } else {
            BudgetState::Fine
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            BudgetState::Fine => "fine",
            BudgetState::Close => "close",
            BudgetState::Over => "over",
        }
    }
}

/// Whole percent of `budget` that `spent` is, rounded down.
pub fn percent(spent: i64, budget: i64) -> i64 {
    if budget <= 0 { 0 } else { spent.saturating_mul(100) / budget }
}

/// The month's budgets, with totals over the categories that have one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetMonth {
    pub month: String,
    pub currency: String,
    pub lines: Vec<BudgetLine>,
    pub total_budget_minor: i64,
    pub total_spent_minor: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_start_at_80_percent_and_over_is_past_100() {
        assert_eq!(BudgetState::of(7_999, 10_000), BudgetState::Fine);
        assert_eq!(BudgetState::of(8_000, 10_000), BudgetState::Close);
        assert_eq!(BudgetState::of(10_000, 10_000), BudgetState::Close);
        assert_eq!(BudgetState::of(10_001, 10_000), BudgetState::Over);
        assert_eq!(percent(10_001, 10_000), 100);
        assert_eq!(percent(15_000, 10_000), 150);
        assert_eq!(percent(1, 0), 0);
    }
}
