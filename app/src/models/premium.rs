//! Premium as the profile shows it: status, price and the order history.

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PremiumView {
    /// Milliseconds since the Unix epoch when the account became premium; `None` when it is not.
    pub since: Option<i64>,
    /// What premium costs, written out (`€5.00`); `None` when this server does not sell it.
    pub price: Option<String>,
    /// Whether the seller is the demo provider (no money moves).
    pub demo: bool,
    /// Newest first.
    pub orders: Vec<OrderView>,
    /// Whether the user chose to appear on the leaderboard.
    pub on_leaderboard: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OrderView {
    /// The provider's order id.
    pub id: String,
    pub created_at: i64,
    /// The amount, written out.
    pub amount: String,
    pub status: OrderStatus,
    /// Why it failed, in our words.
    pub failure: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    Created,
    Paid,
    Failed,
}

impl OrderStatus {
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Created => "Waiting for payment",
            OrderStatus::Paid => "Paid",
            OrderStatus::Failed => "Failed",
        }
    }
}

/// The spending leaderboard, for premium accounts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Leaderboard {
    /// "November 2026": the viewer's current month.
    pub month: String,
    /// One board per currency.
    pub this_month: Vec<Board>,
    pub all_time: Vec<Board>,
    /// Whether the viewer chose to appear on it.
    pub me_on: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Board {
    pub currency: String,
    pub places: Vec<Place>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Place {
    pub rank: u32,
    pub name: String,
    pub username: String,
    /// The total, written out in the board's currency.
    pub total: String,
    pub me: bool,
}

/// A kept CSV export (premium), downloadable until it expires.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SavedReport {
    pub id: i64,
    /// Range and filters, in words.
    pub description: String,
    pub file_name: String,
    pub rows: i64,
    /// Bytes.
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
}
