//! Premium through a payment order (docs/auth.md "Premium").
//!
//! 1. "Go premium" ([`start`]) creates an order at the provider for the configured price (never
//!    an amount from the browser), stores it, and sends the browser to its checkout.
//! 2. The checkout hands back `order_id`, `payment_id` and a signature ([`callback`]); a webhook
//!    tells the same server-to-server ([`webhook`]). Either grants premium ([`grant`]), only after
//!    verifying the signature with the key of the stored order, in the transaction that marks the
//!    order paid. A forged callback is refused and changes nothing; a payment replayed onto
//!    another order or a wrong amount (both signed by the provider) is refused and the order
//!    marked failed; a paid order stays paid; a callback and a webhook for one payment grant once.
//!
//! Providers: `demo` (offline: its own checkout page signs its callback and sends signed webhooks
//! exactly as Razorpay does, so the same verification runs) and `razorpay`.

pub mod demo;
pub mod razorpay;
pub mod routes;
pub mod signature;

use super::db::{self, Db, payments::OrderRow};
use super::hub::limits::KeyedRate;
use super::{AppState, now_ms};
use crate::models::AppError;
use crate::models::money::Currency;
use std::time::Duration;

/// What premium costs, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct Price {
    pub amount: i64,
    pub currency: &'static Currency,
}

/// Which provider sells premium.
#[derive(Clone)]
pub enum ProviderConfig {
    /// Not sold here; the admin command grants it.
    Off,
    Demo,
    Razorpay(razorpay::Keys),
}

enum Provider {
    Off,
    Demo,
    Razorpay(razorpay::Client),
}

pub struct Payments {
    provider: Provider,
    pub price: Price,
    key_secret: Vec<u8>,
    webhook_secret: Vec<u8>,
    /// Orders a user may start per hour (each one is a call to the provider).
    per_user: KeyedRate<i64>,
    /// The demo provider's side: where it sends webhooks, and how.
    demo: std::sync::Arc<demo::DemoProvider>,
}

/// The provider's name as stored with an order and shown in the history.
pub const DEMO: &str = "demo";
pub const RAZORPAY: &str = "razorpay";
/// Orders one user may start per hour.
pub const ORDERS_PER_HOUR: u32 = 10;
/// Orders shown in the history.
pub const HISTORY: i64 = 50;

impl Payments {
    /// `secret` is the server's own (the demo provider's keys are derived from it); `self_url`
    /// is where this server listens, for the demo provider's webhooks.
    pub fn new(config: ProviderConfig, price: Price, secret: &[u8], self_url: String) -> Self {
        let derived = |purpose| super::signing::tag(secret, purpose, &[], 32);
        let (provider, key_secret, webhook_secret) = match config {
            ProviderConfig::Off => (Provider::Off, derived("demo key"), derived("demo webhook")),
            ProviderConfig::Demo => (Provider::Demo, derived("demo key"), derived("demo webhook")),
            ProviderConfig::Razorpay(keys) => {
                let (k, w) = (keys.key_secret.clone().into_bytes(), keys.webhook_secret.clone().into_bytes());
                (Provider::Razorpay(razorpay::Client::new(keys)), k, w)
            }
        };
        let demo = std::sync::Arc::new(demo::DemoProvider::new(self_url, key_secret.clone(), webhook_secret.clone()));
        Self { provider, price, key_secret, webhook_secret, per_user: KeyedRate::per_hour(ORDERS_PER_HOUR), demo }
    }

    /// `demo`, `razorpay`, or `None` when premium is not sold here.
    pub fn provider_name(&self) -> Option<&'static str> {
        match self.provider {
            Provider::Off => None,
            Provider::Demo => Some(DEMO),
            Provider::Razorpay(_) => Some(RAZORPAY),
        }
    }

    /// Razorpay's key id (public: its checkout script needs it).
    pub fn razorpay_key_id(&self) -> Option<&str> {
        match &self.provider {
            Provider::Razorpay(c) => Some(&c.keys().key_id),
            _ => None,
        }
    }

    pub fn demo(&self) -> &std::sync::Arc<demo::DemoProvider> {
        &self.demo
    }

}

/// Where checkouts post their result, and providers their webhooks.
pub const CALLBACK_PATH: &str = "/premium/callback";
pub const WEBHOOK_PATH: &str = "/payments/webhook";

/// The path of an order's checkout page.
pub fn checkout_path(provider_order_id: &str) -> String {
    format!("/premium/checkout/{provider_order_id}")
}

/// Creates an order for the configured price; the path of its checkout.
pub async fn start(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let payments = &state.payments;
    let provider = payments.provider_name().ok_or(AppError::Forbidden)?;
    let user = db::users::by_id(&state.db, user_id).await?.ok_or(AppError::Unauthorized)?;
    if user.premium_since.is_some() {
        return Err(AppError::Forbidden);
    }
    payments.per_user.check(&user_id).map_err(|wait| AppError::RateLimited { retry_after_secs: wait.as_secs().max(1) })?;
    let Price { amount, currency } = payments.price;
    let provider_order_id = match &payments.provider {
        Provider::Off => return Err(AppError::Forbidden),
        Provider::Demo => format!("order_demo_{}", super::signing::random_token(12)),
        Provider::Razorpay(client) => {
            let receipt = format!("huddle-{user_id}-{}", super::signing::random_token(6));
            client.create_order(amount, currency.code, &receipt).await.map_err(|e| {
                tracing::error!(error = %e, user_id, "cannot create a premium order");
                AppError::Internal
            })?
        }
    };
    let order = db::payments::NewOrder { user_id, provider, provider_order_id: &provider_order_id, amount, currency: currency.code, now: now_ms() };
    db::payments::insert(&state.db, &order).await?;
    tracing::info!(user_id, order = %provider_order_id, provider, "premium order created");
    Ok(checkout_path(&provider_order_id))
}

/// Who may see an order's checkout: its owner only; anyone else's, like an unknown one, is not
/// found. The one place that decides it.
pub async fn own_order(db: &Db, user_id: i64, provider_order_id: &str) -> Result<OrderRow, AppError> {
    match db::payments::by_provider_id(db, provider_order_id).await? {
        Some(order) if order.user_id == user_id => Ok(order),
        _ => Err(AppError::NotFound),
    }
}

/// How a payment report (callback or webhook) ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Outcome {
    /// Premium granted now.
    Granted,
    /// This payment had already paid this order: nothing more to do.
    AlreadyPaid,
    /// Refused; the order is marked failed unless it was paid.
    Refused,
}

/// Grants premium for `payment_id` paying `order`, in the transaction that marks the order paid.
/// The caller has verified the provider's signature over the stored order's id.
async fn grant(db: &Db, order: &OrderRow, payment_id: &str, event_id: Option<&str>) -> Result<Outcome, sqlx::Error> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    if let Some(event) = event_id
        && !db::payments::first_delivery(&mut tx, event, now).await?
    {
        return Ok(Outcome::AlreadyPaid);
    }
    match db::payments::mark_paid(&mut tx, order, payment_id, now).await? {
        db::payments::Paid::Now => {
            tx.commit().await?;
            tracing::info!(user_id = order.user_id, order = %order.provider_order_id, "premium granted");
            Ok(Outcome::Granted)
        }
        db::payments::Paid::Already => {
            tx.commit().await?;
            Ok(Outcome::AlreadyPaid)
        }
        db::payments::Paid::Conflict => {
            drop(tx);
            refuse(db, order, "This payment belongs to another order.").await?;
            Ok(Outcome::Refused)
        }
    }
}

async fn refuse(db: &Db, order: &OrderRow, why: &str) -> Result<(), sqlx::Error> {
    tracing::warn!(order = %order.provider_order_id, why, "payment refused");
    db::payments::mark_failed(db, order.id, why, now_ms()).await
}

/// What the checkout posted back: `razorpay_order_id`, `razorpay_payment_id`, `razorpay_signature`.
#[derive(serde::Deserialize, Debug, Default)]
pub struct CallbackForm {
    #[serde(default)]
    pub razorpay_order_id: String,
    #[serde(default)]
    pub razorpay_payment_id: String,
    #[serde(default)]
    pub razorpay_signature: String,
}

/// Handles the checkout's callback. The signature is checked against the stored order's id
/// (the callback's only finds it); the order's owner need not be signed in in this browser.
pub async fn callback(state: &AppState, form: &CallbackForm) -> Result<Outcome, AppError> {
    let order = db::payments::by_provider_id(&state.db, &form.razorpay_order_id).await?.ok_or(AppError::NotFound)?;
    let payment_id = form.razorpay_payment_id.trim();
    let signed = !payment_id.is_empty()
        && payment_id.len() <= 64
        && signature::verify_callback(&state.payments.key_secret, &order.provider_order_id, payment_id, &form.razorpay_signature);
    if !signed {
        // Nothing changes: the callback needs no session, so anyone who knew an order's id could
        // otherwise mark it failed. A real payment's callback or webhook still pays it.
        tracing::warn!(order = %order.provider_order_id, "a payment callback's signature did not verify");
        return Ok(Outcome::Refused);
    }
    Ok(grant(&state.db, &order, payment_id, None).await?)
}

/// A webhook's answer: the provider retries anything but a 2xx.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookAnswer {
    /// Handled, or nothing to do (an event seen before, an order not ours, an event we ignore).
    Done,
    /// The signature did not verify or the body is not an event: 400, nothing changed.
    BadRequest,
    /// The database failed: 500, the provider tries again later.
    Retry,
}

#[derive(serde::Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    payload: EventPayload,
}

#[derive(serde::Deserialize, Default)]
struct EventPayload {
    payment: Option<Wrapped<PaymentEntity>>,
}

#[derive(serde::Deserialize)]
struct Wrapped<T> {
    entity: T,
}

#[derive(serde::Deserialize)]
struct PaymentEntity {
    id: String,
    order_id: Option<String>,
    amount: i64,
    currency: String,
}

/// Handles a webhook: the signature over the raw body with the webhook secret, then the event
/// once per event id. `payment.captured` and `order.paid` grant; `payment.failed` fails an
/// unpaid order.
pub async fn webhook(state: &AppState, body: &[u8], signature: Option<&str>, event_id: Option<&str>) -> WebhookAnswer {
    let Some(signature) = signature.filter(|s| signature::verify_webhook(&state.payments.webhook_secret, body, s)) else {
        tracing::warn!("webhook with a missing or wrong signature refused");
        return WebhookAnswer::BadRequest;
    };
    let Ok(event) = serde_json::from_slice::<Event>(body) else {
        return WebhookAnswer::BadRequest;
    };
    // Razorpay names each delivery; without a name, the signature itself tells repeats apart.
    let event_id = event_id.filter(|e| !e.is_empty() && e.len() <= 100).unwrap_or(signature);
    match apply(state, &event, event_id).await {
        Ok(()) => WebhookAnswer::Done,
        Err(e) => {
            tracing::error!(error = %e, event = %event.event, "cannot handle a payment webhook");
            WebhookAnswer::Retry
        }
    }
}

async fn apply(state: &AppState, event: &Event, event_id: &str) -> Result<(), sqlx::Error> {
    let Some(payment) = event.payload.payment.as_ref().map(|p| &p.entity) else { return Ok(()) };
    let Some(order_id) = payment.order_id.as_deref() else { return Ok(()) };
    let Some(order) = db::payments::by_provider_id(&state.db, order_id).await? else {
        tracing::info!(order = order_id, "webhook for an order this server does not have");
        return Ok(());
    };
    match event.event.as_str() {
        "payment.captured" | "order.paid" => {
            if payment.amount != order.amount || !payment.currency.eq_ignore_ascii_case(&order.currency) {
                return refuse(&state.db, &order, "The amount paid does not match the order.").await;
            }
            grant(&state.db, &order, &payment.id, Some(event_id)).await.map(drop)
        }
        "payment.failed" => refuse(&state.db, &order, "The payment was declined.").await,
        _ => Ok(()),
    }
}

/// How long the demo provider waits before reporting a pending payment as captured.
pub const DEMO_PENDING_DELAY: Duration = Duration::from_secs(3);

/// The user's premium status, the price and their order history.
pub async fn view(state: &AppState, user_id: i64) -> Result<crate::models::premium::PremiumView, AppError> {
    use crate::models::money::money;
    use crate::models::premium::{OrderStatus, OrderView, PremiumView};
    use db::payments::Status;
    let user = db::users::by_id(&state.db, user_id).await?.ok_or(AppError::Unauthorized)?;
    let orders = db::payments::for_user(&state.db, user_id, HISTORY).await?;
    let payments = &state.payments;
    Ok(PremiumView {
        since: user.premium_since,
        on_leaderboard: user.on_leaderboard == 1,
        price: payments.provider_name().map(|_| payments.price.currency.format(payments.price.amount)),
        demo: payments.provider_name() == Some(DEMO),
        orders: orders
            .into_iter()
            .map(|o| OrderView {
                amount: money(&o.currency, o.amount),
                status: match o.status() {
                    Status::Created => OrderStatus::Created,
                    Status::Paid => OrderStatus::Paid,
                    Status::Failed => OrderStatus::Failed,
                },
                id: o.provider_order_id,
                created_at: o.created_at,
                failure: o.failure,
            })
            .collect(),
    })
}

/// Places per currency on each board.
pub const BOARD_SIZE: usize = 20;

/// The leaderboard for a premium user; `None` for anyone else (premium is what shows it).
pub async fn leaderboard(state: &AppState, user_id: i64) -> Result<Option<crate::models::premium::Leaderboard>, AppError> {
    use crate::models::premium::Leaderboard;
    let user = db::users::by_id(&state.db, user_id).await?.ok_or(AppError::Unauthorized)?;
    if user.premium_since.is_none() {
        return Ok(None);
    }
    let today = super::clock::today_in(&user.time_zone);
    let this_month = boards(db::totals::leaderboard(&state.db, &today.month_key(), BOARD_ROWS).await?, user_id);
    let all_time = boards(db::totals::leaderboard(&state.db, db::totals::ALL, BOARD_ROWS).await?, user_id);
    let me_on = user.on_leaderboard == 1;
    Ok(Some(Leaderboard { month: today.month_label(), this_month, all_time, me_on }))
}

/// Rows read for one board: enough for a few currencies' top places.
const BOARD_ROWS: i64 = 500;

/// Standings (ordered by currency, then total) into one board per currency, the top places each.
fn boards(standings: Vec<db::totals::Standing>, me: i64) -> Vec<crate::models::premium::Board> {
    use crate::models::money::money;
    use crate::models::premium::{Board, Place};
    let mut boards: Vec<Board> = Vec::new();
    for s in standings {
        if boards.last().is_none_or(|b| b.currency != s.currency) {
            boards.push(Board { currency: s.currency.clone(), places: Vec::new() });
        }
        let board = boards.last_mut().expect("pushed above");
        if board.places.len() < BOARD_SIZE {
            let rank = board.places.len() as u32 + 1;
            board.places.push(Place { rank, total: money(&s.currency, s.total), name: s.name, username: s.username, me: s.user_id == me });
        }
    }
    boards
}
