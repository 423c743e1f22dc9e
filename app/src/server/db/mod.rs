//! Storage: one `AnyPool` and one set of portable queries for SQLite and PostgreSQL.
//!
//! Rules that keep the SQL portable: `$n` placeholders, `returning id`, integer ids and
//! millisecond timestamps, no backend-specific types, columns always listed.

pub mod account_tokens;
pub mod budgets;
pub mod categories;
pub mod chat;
pub mod direct;
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

/// The turn a process's chat writers take (see `hub::Hub::write_turn`). It belongs to the
/// database: SQLite has one writer, and its checkpoints ([`checkpoints`]) take the turn too.
pub type WriteTurn = std::sync::Arc<tokio::sync::Mutex<()>>;

/// Opens the pool, creating a SQLite file if missing, and brings the schema up to date.
pub async fn connect_and_migrate(url: &str) -> Result<Db, sqlx::Error> {
    Ok(connect(url).await?.0)
}

/// [`connect_and_migrate`], with the write turn of this process's writers. On SQLite the
/// checkpoints start here, for as long as the pool is open, taking that turn.
pub async fn connect(url: &str) -> Result<(Db, WriteTurn), sqlx::Error> {
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
    let turn = WriteTurn::default();
    if backend == Backend::Sqlite {
        tokio::spawn(checkpoints(pool.clone(), turn.clone()));
    }
    Ok((pool, turn))
}

/// How often SQLite's log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// Pages of log (4 MiB, SQLite's own checkpoint size) past which the log is made to start over.
const RESTART_AFTER: i64 = 1000;

/// Keeps SQLite's write-ahead log short, beside the writers, until the pool closes.
///
/// Left to itself SQLite checkpoints inside whichever commit crosses 1,000 pages of log: that
/// commit then copies and syncs the pages first, and every chat message waiting behind it waits
/// too (about one post in a hundred at 1,000 posts a second: the p99). Checkpoints therefore run
/// here, in two steps every [`CHECKPOINT_EVERY`]:
///
/// 1. A passive checkpoint copies the log into the database file, blocking no reader and no
///    writer. But the log only starts over from its beginning when a writer finds it all copied
///    and nobody reading it, which under writes that never pause did not happen even when these
///    checkpoints completed: the log grew without end (500 MB in 20 s at 1,000 posts a second,
///    every write to new pages of the file).
/// 2. Past [`RESTART_AFTER`] pages, a restart checkpoint, holding `write_turn` (the chat's
///    writers wait for it), copies the little committed since step 1 and makes the next writer
///    start the log over (1 to 15 ms at 1,000 posts a second, mostly its two syncs). It never
///    waits: its connection has no busy timeout, so a reader still on the log (or another
///    writer) makes it give up until the next round, instead of holding up the chat's writes.
async fn checkpoints(pool: Db, write_turn: WriteTurn) {
    let mut conn = None;
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if conn.is_none() {
            conn = match checkpointer(&pool).await {
                Ok(c) => Some(c),
                Err(error) => {
                    tracing::warn!(%error, "no connection for checkpoints; the next round tries again");
                    continue;
                }
            };
        }
        let Some(c) = conn.as_mut() else { continue };
        let done = async {
            let (_, log, _copied): (i64, i64, i64) = sqlx::query_as("pragma wal_checkpoint(passive)").fetch_one(&mut *c).await?;
            if log >= RESTART_AFTER {
                let _turn = write_turn.lock().await;
                sqlx::query("pragma wal_checkpoint(restart)").execute(&mut *c).await?;
            }
            Ok::<_, sqlx::Error>(())
        };
        if let Err(error) = done.await {
            tracing::warn!(%error, "checkpoint failed; the next round tries again");
            conn = None;
        }
    }
}

/// A connection of its own for the checkpoints, out of the pool: it must not wait on locks,
/// which every other connection does.
async fn checkpointer(pool: &Db) -> Result<sqlx::AnyConnection, sqlx::Error> {
    let mut conn = pool.acquire().await?.detach();
    conn.execute("pragma busy_timeout = 0").await?;
    Ok(conn)
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
