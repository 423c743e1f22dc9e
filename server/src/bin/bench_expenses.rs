//! Expense list and report timings on 1,000,000 seeded expenses.
//!
//! `cargo run -p server --release --bin bench_expenses [-- DATABASE_URL]` (default: a fresh
//! SQLite file in a temporary folder). Seeds 999 users with 500 expenses each and one heavy
//! user with 500,500, then prints one JSON line of median milliseconds over 7 runs.

use app::models::expense::Cursor;
use app::models::time::Day;
use app::server::db::{self, Db, expenses::{Direction, ExpenseFilter, Grouping}};
use std::time::Instant;

const LIGHT_USERS: i64 = 999;
const LIGHT_ROWS: i64 = 500;
const HEAVY_ROWS: i64 = 500_500;
const PAGE: i64 = 50;
const RUNS: usize = 7;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("huddle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let pool = db::connect_and_migrate(&url).await?;
    let started = Instant::now();
    let heavy = seed(&pool).await?;
    if url.starts_with("postgres") {
        // After a bulk load, as autovacuum would later: statistics for the planner and a
        // visibility map so index-only scans need not visit the table.
        sqlx::query("vacuum analyze expenses").execute(&pool).await?;
    }
    let seed_secs = started.elapsed().as_secs_f64();

    let food = category_of(&pool, heavy, "food").await?;
    let all = ExpenseFilter::default();
    let food_only = ExpenseFilter { category_id: Some(food), ..Default::default() };
    let year = ExpenseFilter {
        from: Day::parse("2025-01-01").ok(),
        to: Day::parse("2025-12-31").ok(),
        ..Default::default()
    };
    let page_1000 = cursor_before_page(&pool, heavy, &all, 1000).await?;
    let page_1000_food = cursor_before_page(&pool, heavy, &food_only, 1000).await?;

    let mut out = serde_json::Map::new();
    out.insert("expenses".into(), (LIGHT_USERS * LIGHT_ROWS + HEAVY_ROWS).into());
    out.insert("seed_seconds".into(), format!("{seed_secs:.1}").parse::<f64>()?.into());
    out.insert("page_1_ms".into(), time(|| db::expenses::page(&pool, heavy, &all, None, Direction::Older, PAGE)).await?.into());
    out.insert("page_1000_ms".into(), time(|| db::expenses::page(&pool, heavy, &all, page_1000, Direction::Older, PAGE)).await?.into());
    out.insert("page_1_category_ms".into(), time(|| db::expenses::page(&pool, heavy, &food_only, None, Direction::Older, PAGE)).await?.into());
    out.insert(
        "page_1000_category_ms".into(),
        time(|| db::expenses::page(&pool, heavy, &food_only, page_1000_food, Direction::Older, PAGE)).await?.into(),
    );
    out.insert("year_by_month_ms".into(), time(|| db::expenses::totals_by(&pool, heavy, &year, Grouping::Month)).await?.into());
    out.insert("all_by_category_ms".into(), time(|| db::expenses::totals_by(&pool, heavy, &all, Grouping::Category)).await?.into());
    out.insert("filtered_total_ms".into(), time(|| db::expenses::totals(&pool, heavy, &food_only)).await?.into());
    let size: u64 = std::fs::read_dir(&dir)?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    out.insert("sqlite_files_mib".into(), (size / (1024 * 1024)).into());
    println!("{}", serde_json::Value::Object(out));
    pool.close().await;
    std::fs::remove_dir_all(dir)?;
    Ok(())
}

/// Median wall time of `RUNS` runs, in milliseconds with two decimals.
async fn time<T, F, Fut>(f: F) -> Result<f64, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut ms = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        f().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok((ms[RUNS / 2] * 100.0).round() / 100.0)
}

/// The cursor a reader holds after paging `n - 1` times (found once, not timed).
async fn cursor_before_page(pool: &Db, user: i64, filter: &ExpenseFilter, n: i64) -> Result<Option<Cursor>, sqlx::Error> {
    let category = filter.category_id.unwrap_or(0);
    let row: (String, i64) = sqlx::query_as(
        "select spent_on, id from expenses where user_id = $1 and ($2 = 0 or category_id = $2)
         order by spent_on desc, id desc limit 1 offset $3",
    )
    .bind(user)
    .bind(category)
    .bind((n - 1) * PAGE - 1)
    .fetch_one(pool)
    .await?;
    Ok(Some(Cursor { spent_on: Day::parse(&row.0).expect("stored days parse"), id: row.1 }))
}

async fn category_of(pool: &Db, user: i64, key: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select id from categories where user_id = $1 and name_key = $2").bind(user).bind(key).fetch_one(pool).await
}

/// Creates the users and their expenses; returns the heavy user's id.
async fn seed(pool: &Db) -> Result<i64, sqlx::Error> {
    let mut heavy = 0;
    for u in 0..=LIGHT_USERS {
        let name = format!("user{u}");
        let email = format!("{name}@example.org");
        let new = db::users::NewUser {
            name: &name,
            username: &name,
            username_key: &name,
            email: &email,
            email_key: &email,
            password_hash: "not-a-real-hash",
            currency: "EUR",
            created_at: 0,
        };
        let id = db::users::create(pool, &new).await?;
        let categories: Vec<i64> =
            sqlx::query_scalar("select id from categories where user_id = $1 order by id").bind(id).fetch_all(pool).await?;
        let rows = if u == LIGHT_USERS { HEAVY_ROWS } else { LIGHT_ROWS };
        if u == LIGHT_USERS {
            heavy = id;
        }
        insert_expenses(pool, id, &categories, rows).await?;
    }
    Ok(heavy)
}

/// `rows` expenses spread over 2024-2026, in multi-row inserts of 500.
async fn insert_expenses(pool: &Db, user: i64, categories: &[i64], rows: i64) -> Result<(), sqlx::Error> {
    const BATCH: i64 = 500;
    let days = calendar(Day::parse("2024-01-01").expect("a valid day"), 1096);
    let mut tx = pool.begin().await?;
    let mut i = 0;
    while i < rows {
        let n = BATCH.min(rows - i);
        let values: Vec<String> = (0..n)
            .map(|k| {
                let b = k * 6;
                format!("(${}, ${}, ${}, ${}, ${}, ${}, 0, 0)", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6)
            })
            .collect();
        let sql = format!(
            "insert into expenses (user_id, category_id, amount_minor, description, note, spent_on, created_at, updated_at) values {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in 0..n {
            let x = i + k;
            let day = days[(x * 7919 % 1096) as usize];
            q = q
                .bind(user)
                .bind(categories[(x % categories.len() as i64) as usize])
                .bind(100 + (x * 37 % 10_000))
                .bind(format!("expense {x}"))
                .bind(None::<String>)
                .bind(day.to_string());
        }
        q.execute(&mut *tx).await?;
        i += n;
    }
    tx.commit().await
}

/// `n` consecutive days from `start`.
fn calendar(start: Day, n: usize) -> Vec<Day> {
    std::iter::successors(Some(start), |d| {
        Some(if d.day < app::models::time::days_in_month(d.year, d.month) { Day { day: d.day + 1, ..*d } } else { d.add_months(1) })
    })
    .take(n)
    .collect()
}
