//! Chat history timings on a room of 1,000,000 messages.
//!
//! `cargo run -p server --release --bin bench_chat_history [-- DATABASE_URL]` (default: a fresh
//! SQLite file in a temporary folder). Seeds one room with 1,000,000 messages, then prints one
//! JSON line of median milliseconds over 7 runs: the newest page of 50, a page in the middle, the
//! oldest page, a replay after a cursor near the end, and the chat home of a member.

use app::server::db::{self, Db};
use std::time::Instant;

const MESSAGES: i64 = 1_000_000;
const PAGE: i64 = 51;
const RUNS: usize = 7;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("huddle-bench-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()));
    let pool = db::connect_and_migrate(&url).await?;
    let started = Instant::now();
    let (room, user) = seed(&pool).await?;
    if url.starts_with("postgres") {
        sqlx::query("vacuum analyze messages").execute(&pool).await?;
    }
    let seed_secs = started.elapsed().as_secs_f64();

    let newest = median(|| async { db::chat::history(&pool, room, None, PAGE).await.map(|p| p.len()) }).await?;
    let middle = median(|| async { db::chat::history(&pool, room, Some(MESSAGES / 2), PAGE).await.map(|p| p.len()) }).await?;
    let oldest = median(|| async { db::chat::history(&pool, room, Some(PAGE), PAGE).await.map(|p| p.len()) }).await?;
    let replay = median(|| async { db::chat::changes_after(&pool, room, MESSAGES - 200, 200).await.map(|p| p.len()) }).await?;
    let home = median(|| async { db::chat::summaries(&pool, user).await.map(|p| p.len()) }).await?;
    println!(
        r#"{{"messages":{MESSAGES},"seed_s":{seed_secs:.1},"newest_page_ms":{newest:.3},"middle_page_ms":{middle:.3},"oldest_page_ms":{oldest:.3},"replay_200_ms":{replay:.3},"chat_home_ms":{home:.3}}}"#
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One user, one room, 1,000,000 messages numbered 1… (one recursive insert).
async fn seed(pool: &Db) -> Result<(i64, i64), sqlx::Error> {
    let (user,): (i64,) = sqlx::query_as(
        "insert into users (name, username, username_key, email, email_key, password_hash, created_at)
         values ('Bench', 'bench', 'bench', 'bench@example.org', 'bench@example.org', 'x', 0) returning id",
    )
    .fetch_one(pool)
    .await?;
    let room = db::chat::create_group(pool, user, "History", "", app::models::chat::Visibility::Private, 0).await?;
    sqlx::query(
        "insert into messages (room_id, seq, change, sender_id, client_id, body, created_at)
         with recursive n(i) as (select 1 union all select i + 1 from n where i < $3)
         select $1, i, i, $2, 'c' || cast(i as text), 'message number ' || cast(i as text), i * 1000 from n",
    )
    .bind(room)
    .bind(user)
    .bind(MESSAGES)
    .execute(pool)
    .await?;
    sqlx::query("update rooms set last_seq = $2, last_change = $2 where id = $1").bind(room).bind(MESSAGES).execute(pool).await?;
    Ok((room, user))
}

/// Median wall time of `RUNS` runs, in milliseconds; each run must return rows.
async fn median<F, Fut>(run: F) -> Result<f64, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, sqlx::Error>>,
{
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let t = Instant::now();
        let rows = run().await?;
        assert!(rows > 0, "the query returned nothing");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[RUNS / 2])
}
