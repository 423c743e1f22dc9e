//! The `categories` aggregate: the built-in set per user plus their own.

use super::Db;
use crate::models::expense::{BUILTIN_CATEGORIES, Category};
use sqlx::FromRow;

/// Gives a new user the built-in categories.
#[tracing::instrument(skip(tx))]
pub async fn seed_builtin(tx: &mut sqlx::Transaction<'_, sqlx::Any>, user_id: i64, now: i64) -> Result<(), sqlx::Error> {
    for name in BUILTIN_CATEGORIES {
        sqlx::query("insert into categories (user_id, name, name_key, builtin, created_at) values ($1, $2, $3, 1, $4)")
            .bind(user_id)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(now)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[derive(FromRow)]
struct CategoryRow {
    id: i64,
    name: String,
    builtin: i64,
    expenses: i64,
}

/// The user's categories with how many expenses each has; `Other` last.
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<Category>, sqlx::Error> {
    let rows: Vec<CategoryRow> = sqlx::query_as(
        "select c.id, c.name, c.builtin, count(e.id) as expenses
         from categories c left join expenses e on e.category_id = c.id
         where c.user_id = $1
         group by c.id, c.name, c.builtin, c.name_key
         order by case when c.name_key = 'other' then 1 else 0 end, c.name_key",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Category { id: r.id, name: r.name, builtin: r.builtin != 0, expenses: r.expenses })
        .collect())
}

/// Does `category_id` belong to `user_id`?
#[tracing::instrument(skip(db))]
pub async fn is_owned(db: &Db, user_id: i64, category_id: i64) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar("select count(*) from categories where id = $1 and user_id = $2")
        .bind(category_id)
        .bind(user_id)
        .fetch_one(db)
        .await?;
    Ok(n == 1)
}

#[tracing::instrument(skip(db))]
pub async fn create(db: &Db, user_id: i64, name: &str, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into categories (user_id, name, name_key, builtin, created_at) values ($1, $2, $3, 0, $4) returning id",
    )
    .bind(user_id)
    .bind(name)
    .bind(name.to_lowercase())
    .bind(now)
    .fetch_one(db)
    .await
}

/// Renames one of the user's own categories. False if there is no such (non-built-in) category.
#[tracing::instrument(skip(db))]
pub async fn rename(db: &Db, user_id: i64, id: i64, name: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update categories set name = $1, name_key = $2 where id = $3 and user_id = $4 and builtin = 0")
        .bind(name)
        .bind(name.to_lowercase())
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes one of the user's own categories, moving its expenses to `Other` first.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let moved = sqlx::query(
        "update expenses set category_id = (select o.id from categories o where o.user_id = $1 and o.name_key = 'other')
         where user_id = $1 and category_id = $2
           and exists (select 1 from categories c where c.id = $2 and c.user_id = $1 and c.builtin = 0)",
    )
    .bind(user_id)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let deleted = sqlx::query("delete from categories where id = $1 and user_id = $2 and builtin = 0")
        .bind(id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::debug!(moved = moved.rows_affected(), "category deleted");
    Ok(deleted.rows_affected() == 1)
}
