//! The `budgets` aggregate: one monthly amount per category.

use super::Db;
use crate::models::budget::BudgetLine;
use crate::models::time::Day;
use sqlx::FromRow;

/// Sets (or replaces) the monthly budget of one of the user's categories.
#[tracing::instrument(skip(db))]
pub async fn set(db: &Db, user_id: i64, category_id: i64, amount_minor: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into budgets (user_id, category_id, amount_minor) values ($1, $2, $3)
         on conflict (user_id, category_id) do update set amount_minor = excluded.amount_minor",
    )
    .bind(user_id)
    .bind(category_id)
    .bind(amount_minor)
    .execute(db)
    .await?;
    Ok(())
}

#[tracing::instrument(skip(db))]
pub async fn remove(db: &Db, user_id: i64, category_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("delete from budgets where user_id = $1 and category_id = $2")
        .bind(user_id)
        .bind(category_id)
        .execute(db)
        .await?;
    Ok(())
}

#[derive(FromRow)]
struct LineRow {
    category_id: i64,
    category: String,
    budget_minor: Option<i64>,
    spent_minor: i64,
}

/// Every category of the user with its budget (if any) and what was spent in `from..=to`.
#[tracing::instrument(skip(db))]
pub async fn month(db: &Db, user_id: i64, from: Day, to: Day) -> Result<Vec<BudgetLine>, sqlx::Error> {
    let rows: Vec<LineRow> = sqlx::query_as(
        "select c.id as category_id, c.name as category, b.amount_minor as budget_minor,
                cast(coalesce((select sum(e.amount_minor) from expenses e
                               where e.user_id = $1 and e.category_id = c.id
                                 and e.spent_on >= $2 and e.spent_on <= $3), 0) as bigint) as spent_minor
         from categories c left join budgets b on b.category_id = c.id and b.user_id = $1
         where c.user_id = $1
         order by case when b.amount_minor is null then 1 else 0 end, c.name_key",
    )
    .bind(user_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BudgetLine {
            category_id: r.category_id,
            category: r.category,
            budget_minor: r.budget_minor,
            spent_minor: r.spent_minor,
        })
        .collect())
}
