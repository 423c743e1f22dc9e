//! The `expenses` aggregate: owner-only reads and writes, keyset pages, filtered totals.

use super::Db;
use crate::models::expense::{Cursor, Expense, ExpenseInput};
use crate::models::time::Day;
use sqlx::FromRow;
use sqlx::any::AnyArguments;
use sqlx::query::QueryAs;

/// What the list is narrowed to. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpenseFilter {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub category_id: Option<i64>,
    /// Matched case-insensitively inside the description and the note.
    pub text: Option<String>,
}

/// Which way a page goes from its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Older rows than the cursor (or the newest rows without one).
    Older,
    /// Newer rows than the cursor.
    Newer,
}

#[derive(FromRow)]
struct ExpenseRow {
    id: i64,
    amount_minor: i64,
    description: String,
    note: Option<String>,
    category_id: i64,
    category: String,
    spent_on: String,
}

impl From<ExpenseRow> for Expense {
    fn from(r: ExpenseRow) -> Self {
        Expense {
            id: r.id,
            amount_minor: r.amount_minor,
            description: r.description,
            note: r.note,
            category_id: r.category_id,
            category: r.category,
            spent_on: r.spent_on,
        }
    }
}

/// Stores an expense and counts it in the user's totals, in one transaction. The category must
/// be checked as the user's own before.
#[tracing::instrument(skip(db, e))]
pub async fn insert(db: &Db, user_id: i64, e: &ExpenseInput, now: i64) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = sqlx::query_scalar(
        "insert into expenses (user_id, category_id, amount_minor, description, note, spent_on, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(user_id)
    .bind(e.category_id)
    .bind(e.amount.minor())
    .bind(&e.description)
    .bind(e.note.as_deref())
    .bind(e.spent_on.to_string())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    super::totals::add(&mut tx, user_id, &e.spent_on.to_string(), e.amount.minor()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Rewrites one of the user's expenses and moves its amount in the totals, in one transaction.
/// False when it is not theirs or does not exist.
#[tracing::instrument(skip(db, e))]
pub async fn update(db: &Db, user_id: i64, id: i64, e: &ExpenseInput, now: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    // Writes only, the old amount taken out first (SQLite: a read before the first write
    // could see a stale snapshot).
    super::totals::remove_expense(&mut tx, user_id, id).await?;
    let done = sqlx::query(
        "update expenses set category_id = $1, amount_minor = $2, description = $3, note = $4, spent_on = $5,
         updated_at = $6 where id = $7 and user_id = $8",
    )
    .bind(e.category_id)
    .bind(e.amount.minor())
    .bind(&e.description)
    .bind(e.note.as_deref())
    .bind(e.spent_on.to_string())
    .bind(now)
    .bind(id)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    super::totals::add(&mut tx, user_id, &e.spent_on.to_string(), e.amount.minor()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes one of the user's expenses and takes it out of the totals, in one transaction.
#[tracing::instrument(skip(db))]
pub async fn delete(db: &Db, user_id: i64, id: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    super::totals::remove_expense(&mut tx, user_id, id).await?;
    let done = sqlx::query("delete from expenses where id = $1 and user_id = $2").bind(id).bind(user_id).execute(&mut *tx).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

const SELECT: &str = "select e.id, e.amount_minor, e.description, e.note, e.category_id, c.name as category, e.spent_on
     from expenses e join categories c on c.id = e.category_id";

#[tracing::instrument(skip(db))]
pub async fn get(db: &Db, user_id: i64, id: i64) -> Result<Option<Expense>, sqlx::Error> {
    let sql = format!("{SELECT} where e.id = $1 and e.user_id = $2");
    let row: Option<ExpenseRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).bind(user_id).fetch_optional(db).await?;
    Ok(row.map(Expense::from))
}

/// A value for a numbered placeholder.
enum Arg {
    Int(i64),
    Text(String),
}

/// A `where` clause over `e` with its arguments, numbered from `$1`. Only placeholders are
/// ever formatted into the SQL.
struct Conditions {
    sql: String,
    args: Vec<Arg>,
}

impl Conditions {
    fn for_user(user_id: i64, filter: &ExpenseFilter) -> Self {
        let mut c = Conditions { sql: String::new(), args: Vec::new() };
        c.push("e.user_id = {}", Arg::Int(user_id));
        if let Some(from) = filter.from {
            c.push("e.spent_on >= {}", Arg::Text(from.to_string()));
        }
        if let Some(to) = filter.to {
            c.push("e.spent_on <= {}", Arg::Text(to.to_string()));
        }
        if let Some(id) = filter.category_id {
            c.push("e.category_id = {}", Arg::Int(id));
        }
        if let Some(text) = filter.text.as_deref() {
            let pattern = format!("%{}%", super::escape_like(&text.to_lowercase()));
            let n = c.placeholder(Arg::Text(pattern));
            c.sql.push_str(&format!(
                " and (lower(e.description) like {n} escape '\\' or lower(coalesce(e.note, '')) like {n} escape '\\')"
            ));
        }
        c
    }

    fn placeholder(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds `and <template>` with `{}` replaced by the next placeholder.
    fn push(&mut self, template: &str, arg: Arg) {
        let n = self.placeholder(arg);
        let joiner = if self.sql.is_empty() { "" } else { " and " };
        self.sql.push_str(joiner);
        self.sql.push_str(&template.replace("{}", &n));
    }

    fn bind<'q, O>(self, mut q: QueryAs<'q, sqlx::Any, O, AnyArguments>) -> QueryAs<'q, sqlx::Any, O, AnyArguments> {
        for arg in self.args {
            q = match arg {
                Arg::Int(v) => q.bind(v),
                Arg::Text(v) => q.bind(v),
            };
        }
        q
    }
}

/// Up to `limit` rows of the filtered list next to `cursor` in `direction`, newest first.
#[tracing::instrument(skip(db))]
pub async fn page(
    db: &Db,
    user_id: i64,
    filter: &ExpenseFilter,
    cursor: Option<Cursor>,
    direction: Direction,
    limit: i64,
) -> Result<Vec<Expense>, sqlx::Error> {
    let mut c = Conditions::for_user(user_id, filter);
    let order = match direction {
        Direction::Older => "desc",
        Direction::Newer => "asc",
    };
    if let Some(cursor) = cursor {
        let day = c.placeholder(Arg::Text(cursor.spent_on.to_string()));
        let id = c.placeholder(Arg::Int(cursor.id));
        let cmp = if direction == Direction::Older { "<" } else { ">" };
        c.sql.push_str(&format!(" and (e.spent_on, e.id) {cmp} ({day}, {id})"));
    }
    let limit_arg = c.placeholder(Arg::Int(limit));
    let sql = format!("{SELECT} where {} order by e.spent_on {order}, e.id {order} limit {limit_arg}", c.sql);
    let rows: Vec<ExpenseRow> = c.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql))).fetch_all(db).await?;
    let mut items: Vec<Expense> = rows.into_iter().map(Expense::from).collect();
    if direction == Direction::Newer {
        items.reverse();
    }
    Ok(items)
}

/// Sum (minor units) and count of the filtered list.
#[tracing::instrument(skip(db))]
pub async fn totals(db: &Db, user_id: i64, filter: &ExpenseFilter) -> Result<(i64, i64), sqlx::Error> {
    let c = Conditions::for_user(user_id, filter);
    let sql = format!("select cast(coalesce(sum(e.amount_minor), 0) as bigint), count(*) from expenses e where {}", c.sql);
    c.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql))).fetch_one(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_number_their_placeholders_in_order() {
        let filter = ExpenseFilter {
            from: Day::parse("2026-01-01").ok(),
            to: None,
            category_id: Some(4),
            text: Some("50%_off".into()),
        };
        let c = Conditions::for_user(7, &filter);
        assert_eq!(
            c.sql,
            "e.user_id = $1 and e.spent_on >= $2 and e.category_id = $3 and (lower(e.description) like $4 escape '\\' \
             or lower(coalesce(e.note, '')) like $4 escape '\\')"
        );
        assert!(matches!(&c.args[3], Arg::Text(p) if p == "%50\\%\\_off%"));
    }
}

/// Sum (minor units) and count per group of the filtered list.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct GroupTotal {
    pub label: String,
    pub total_minor: i64,
    pub count: i64,
}

/// How `totals_by` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Day,
    Month,
    Category,
}

/// Totals of the filtered list per day, month (`YYYY-MM`) or category; categories biggest first.
#[tracing::instrument(skip(db))]
pub async fn totals_by(db: &Db, user_id: i64, filter: &ExpenseFilter, by: Grouping) -> Result<Vec<GroupTotal>, sqlx::Error> {
    let c = Conditions::for_user(user_id, filter);
    let sql = match by {
        Grouping::Day | Grouping::Month => {
            let label = if by == Grouping::Day { "e.spent_on" } else { "substr(e.spent_on, 1, 7)" };
            format!(
                "select {label} as label, cast(sum(e.amount_minor) as bigint) as total_minor, count(*) as count
                 from expenses e where {} group by {label} order by 1",
                c.sql
            )
        }
        // Sum per category id over the index first; names are looked up for the few groups.
        Grouping::Category => format!(
            "select c.name as label, t.total_minor, t.count
             from (select e.category_id, cast(sum(e.amount_minor) as bigint) as total_minor, count(*) as count
                   from expenses e where {} group by e.category_id) t
             join categories c on c.id = t.category_id
             order by t.total_minor desc, c.name",
            c.sql
        ),
    };
    c.bind(sqlx::query_as(sqlx::AssertSqlSafe(sql))).fetch_all(db).await
}

/// The category of the user's most recently recorded expense.
#[tracing::instrument(skip(db))]
pub async fn last_used_category(db: &Db, user_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("select category_id from expenses where user_id = $1 order by id desc limit 1")
        .bind(user_id)
        .fetch_optional(db)
        .await
}
