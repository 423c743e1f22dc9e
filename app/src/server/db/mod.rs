//! Storage: one `AnyPool` and one set of portable queries for SQLite and PostgreSQL.
//!
//! Rules that keep the SQL portable: `$n` placeholders, `returning id`, integer ids and
//! millisecond timestamps, no backend-specific types, columns always listed.

pub mod account_tokens;
pub mod budgets;
pub mod categories;
pub mod chat;
pub mod expenses;
pub mod meetings;
pub mod payments;
pub mod saved_reports;
pub mod sessions;
pub mod shared;
pub mod totals;
pub mod users;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

pub type Db = AnyPool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Opens the pool, creating a SQLite file if missing, and brings the schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<Db, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let backend = Backend::of_url(url)
        .ok_or_else(|| sqlx::Error::Configuration("unsupported database URL scheme".into()))?;
    let options = AnyConnectOptions::from_str(url)?;
    let pool = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute("pragma journal_mode = wal").await?;
                    conn.execute("pragma synchronous = normal").await?;
                    conn.execute("pragma foreign_keys = on").await?;
                    conn.execute("pragma busy_timeout = 5000").await?;
                    // Checkpoints run in a task of their own (`checkpoints`), never inside a commit.
                    conn.execute("pragma wal_autocheckpoint = 0").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    let migrator = match backend {
        Backend::Sqlite => &SQLITE_MIGRATIONS,
        Backend::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator.run(&pool).await?;
    if backend == Backend::Sqlite {
        tokio::spawn(checkpoints(pool.clone()));
    }
    Ok(pool)
}

/// How often SQLite's log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Copies SQLite's write-ahead log into the database file every [`CHECKPOINT_EVERY`], beside the
/// writers. Left to itself SQLite checkpoints inside whichever commit crosses 1,000 pages of
/// log: that commit then copies and syncs the pages first, and every chat message waiting
/// behind it waits too (about one post in a hundred at 1,000 posts a second: the p99). A
/// passive checkpoint blocks no reader and no writer.
async fn checkpoints(pool: Db) {
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("pragma wal_checkpoint(passive)").execute(&pool).await {
            tracing::warn!(%error, "checkpoint failed; the next one tries again");
        }
    }
}

/// The unique constraint an error broke, e.g. `users_username_key`, on either backend.
pub fn violated_unique(e: &sqlx::Error) -> Option<String> {
    let db = e.as_database_error()?;
    if !db.is_unique_violation() {
        return None;
    }
    if let Some(c) = db.constraint() {
        return Some(c.to_string());
    }
    // SQLite names the column instead: "UNIQUE constraint failed: users.username_key".
    let column = db.message().rsplit(": ").next()?;
    Some(column.replace('.', "_"))
}

/// `s` with the wildcards of `like` taken literally (the query says `escape '\\'`).
pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
