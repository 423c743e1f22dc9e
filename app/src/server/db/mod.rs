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
    Ok(pool)
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
