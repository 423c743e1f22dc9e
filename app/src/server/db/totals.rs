//! Each user's total spend per calendar month and in all (`spend_totals`), kept in the
//! transaction of every expense change, and the leaderboard read from it.

use super::Db;
use sqlx::{Any, FromRow, Transaction};

/// The period of all time; months are `YYYY-MM`.
pub const ALL: &str = "all";

/// `spent_on` (`YYYY-MM-DD`) counted in its month and in all time.
pub async fn add(tx: &mut Transaction<'static, Any>, user_id: i64, spent_on: &str, amount: i64) -> Result<(), sqlx::Error> {
    let month = spent_on.get(..7).unwrap_or(spent_on);
    for period in [month, ALL] {
        sqlx::query(
            "insert into spend_totals (user_id, period, total) values ($1, $2, $3)
             on conflict (user_id, period) do update set total = spend_totals.total + excluded.total",
        )
        .bind(user_id)
        .bind(period)
        .bind(amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Takes the stored expense `id` of `user_id` (if it is theirs) out of its month and all time.
/// Writes only: the amount and month are read inside the updates.
pub async fn remove_expense(tx: &mut Transaction<'static, Any>, user_id: i64, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update spend_totals set total = total - (select e.amount_minor from expenses e where e.id = $1 and e.user_id = $2)
         where user_id = $2
           and exists (select 1 from expenses e where e.id = $1 and e.user_id = $2)
           and (period = 'all' or period = (select substr(e.spent_on, 1, 7) from expenses e where e.id = $1 and e.user_id = $2))",
    )
    .bind(id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One place on a leaderboard.
#[derive(Debug, FromRow)]
pub struct Standing {
    pub user_id: i64,
    pub name: String,
    pub username: String,
    pub currency: String,
    pub total: i64,
}

/// Everyone who chose to appear, with their total for `period`, by currency then highest total
/// (at most `limit` rows in all).
#[tracing::instrument(skip(db))]
pub async fn leaderboard(db: &Db, period: &str, limit: i64) -> Result<Vec<Standing>, sqlx::Error> {
    sqlx::query_as(
        "select u.id as user_id, u.name, u.username, u.currency, t.total from spend_totals t
         join users u on u.id = t.user_id
         where t.period = $1 and u.on_leaderboard = 1 and t.total > 0
         order by u.currency, t.total desc, u.id limit $2",
    )
    .bind(period)
    .bind(limit)
    .fetch_all(db)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn set_on_leaderboard(db: &Db, user_id: i64, on: bool) -> Result<(), sqlx::Error> {
    sqlx::query("update users set on_leaderboard = $1 where id = $2").bind(i64::from(on)).bind(user_id).execute(db).await.map(drop)
}

