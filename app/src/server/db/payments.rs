//! The `payment_orders` aggregate: premium bought through a provider's order, and the
//! webhook events already handled.

use super::Db;
use sqlx::{Any, FromRow, Transaction};

/// Where an order stands. `Paid` is final: nothing moves an order back from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Paid,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Paid => "paid",
            Status::Failed => "failed",
        }
    }

    pub fn from_db(s: &str) -> Self {
        match s {
            "paid" => Status::Paid,
            "failed" => Status::Failed,
            _ => Status::Created,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub user_id: i64,
    pub provider: String,
    pub provider_order_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub payment_id: Option<String>,
    pub failure: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl OrderRow {
    pub fn status(&self) -> Status {
        Status::from_db(&self.status)
    }
}

/// `select` of every `OrderRow` column from `payment_orders`, followed by the rest of the query.
macro_rules! select_orders {
    ($rest:literal) => {
        concat!(
            "select id, user_id, provider, provider_order_id, amount, currency, status, payment_id, failure, created_at, updated_at from payment_orders ",
            $rest
        )
    };
}

pub struct NewOrder<'a> {
    pub user_id: i64,
    pub provider: &'a str,
    pub provider_order_id: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub now: i64,
}

#[tracing::instrument(skip_all, fields(user_id = o.user_id))]
pub async fn insert(db: &Db, o: &NewOrder<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into payment_orders (user_id, provider, provider_order_id, amount, currency, status, created_at, updated_at)
         values ($1, $2, $3, $4, $5, 'created', $6, $6) returning id",
    )
    .bind(o.user_id)
    .bind(o.provider)
    .bind(o.provider_order_id)
    .bind(o.amount)
    .bind(o.currency)
    .bind(o.now)
    .fetch_one(db)
    .await
}

/// The order the provider knows as `provider_order_id`.
#[tracing::instrument(skip(db))]
pub async fn by_provider_id(db: &Db, provider_order_id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    sqlx::query_as(select_orders!("where provider_order_id = $1"))
        .bind(provider_order_id)
        .fetch_optional(db)
        .await
}

/// The user's orders, newest first (at most `limit`).
#[tracing::instrument(skip(db))]
pub async fn for_user(db: &Db, user_id: i64, limit: i64) -> Result<Vec<OrderRow>, sqlx::Error> {
    sqlx::query_as(select_orders!("where user_id = $1 order by id desc limit $2"))
        .bind(user_id)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// What [`mark_paid`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Paid {
    /// This call paid the order and made its user premium.
    Now,
    /// The order was already paid by this same payment (a callback and a webhook for one payment).
    Already,
    /// The order was already paid by another payment, or the payment paid another order.
    Conflict,
}

/// Marks the order paid by `payment_id` and makes its owner premium, in `tx`. Writes first
/// (SQLite lets one writer in; a read before it could go stale), so of two concurrent calls for
/// one order exactly one gets `Now`.
pub async fn mark_paid(tx: &mut Transaction<'static, Any>, order: &OrderRow, payment_id: &str, now: i64) -> Result<Paid, sqlx::Error> {
    let updated = sqlx::query(
        "update payment_orders set status = 'paid', payment_id = $1, failure = null, updated_at = $2
         where id = $3 and status <> 'paid'",
    )
    .bind(payment_id)
    .bind(now)
    .bind(order.id)
    .execute(&mut **tx)
    .await;
    match updated {
        Ok(r) if r.rows_affected() == 1 => {
            sqlx::query("update users set premium_since = coalesce(premium_since, $1) where id = $2")
                .bind(now)
                .bind(order.user_id)
                .execute(&mut **tx)
                .await?;
            Ok(Paid::Now)
        }
        Ok(_) => {
            let current: Option<String> = sqlx::query_scalar("select payment_id from payment_orders where id = $1")
                .bind(order.id)
                .fetch_one(&mut **tx)
                .await?;
            Ok(if current.as_deref() == Some(payment_id) { Paid::Already } else { Paid::Conflict })
        }
        // The payment already paid another order: a payment id replayed onto this one.
        Err(e) if super::violated_unique(&e).is_some() => Ok(Paid::Conflict),
        Err(e) => Err(e),
    }
}

/// Marks the order failed with `why`, unless it is paid (nothing moves an order back from paid).
#[tracing::instrument(skip(db))]
pub async fn mark_failed(db: &Db, order_id: i64, why: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update payment_orders set status = 'failed', failure = $1, updated_at = $2 where id = $3 and status <> 'paid'")
        .bind(why)
        .bind(now)
        .bind(order_id)
        .execute(db)
        .await
        .map(|_| ())
}

/// Records a webhook event id in `tx`; `false` when it was handled before.
pub async fn first_delivery(tx: &mut Transaction<'static, Any>, event_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    match sqlx::query("insert into payment_events (event_id, received_at) values ($1, $2)")
        .bind(event_id)
        .bind(now)
        .execute(&mut **tx)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if super::violated_unique(&e).is_some() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Grants or revokes premium by hand (the admin command); `false` when no such user.
#[tracing::instrument(skip(db))]
pub async fn set_premium(db: &Db, user_id: i64, premium: bool, now: i64) -> Result<bool, sqlx::Error> {
    let done = if premium {
        sqlx::query("update users set premium_since = coalesce(premium_since, $1) where id = $2").bind(now).bind(user_id).execute(db).await?
    } else {
        sqlx::query("update users set premium_since = null where id = $1").bind(user_id).execute(db).await?
    };
    Ok(done.rows_affected() == 1)
}
