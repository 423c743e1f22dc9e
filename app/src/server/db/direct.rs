//! The chat post committer's own SQLite connection, run on the committer's own thread.
//!
//! sqlx's SQLite driver runs every connection on a thread of its own, reached through a channel:
//! each statement crosses to that thread, which sleeps between posts, and back to a tokio worker.
//! At an everyday chat load (a post every millisecond, one statement each) those crossings cost
//! as much CPU as the statement itself and doubled the median latency (docs/BENCHMARKS.md, "What
//! the commit costs, measured by taking it away"). So on SQLite the committer runs the post's
//! statement ([`chat::INSERT_MESSAGE`], the trigger of migration 0016 included) on a connection
//! it owns, in place.
//!
//! It never waits for a lock there: its busy timeout is zero, and a batch that finds the
//! database locked by a writer outside the chat's write turn (an expense, a sign-in) gets
//! [`Direct::Busy`] with nothing stored, for the caller to store through sqlx, which waits without
//! holding a tokio worker. Checkpoints take the write turn, as the committer does, so they never
//! meet. PostgreSQL, and SQLite databases that are not a file, keep the sqlx path.

use super::Db;
use super::chat::{self, NewMessage, Posted};
use rusqlite::{ErrorCode, TransactionBehavior, named_params};

/// What a batch came to on the direct connection.
#[derive(Debug)]
pub enum Direct {
    /// Committed: one outcome per message, in order. [`Posted::NotMember`] is also what a
    /// repeated client id gives; see [`chat::answer_repeats`].
    Stored(Vec<Posted>),
    /// The database was locked by another writer: nothing stored.
    Busy,
}

/// The committer's connection.
pub struct DirectPoster {
    conn: rusqlite::Connection,
}

impl DirectPoster {
    /// A connection to the SQLite file behind `db`, set up as the pool's connections are
    /// ([`super::connect`]); `None` on PostgreSQL or an in-memory database.
    pub async fn open(db: &Db) -> Result<Option<Self>, Box<dyn std::error::Error + Send + Sync>> {
        let mut pooled = db.acquire().await?;
        if pooled.backend_name() != "SQLite" {
            return Ok(None);
        }
        let (file,): (String,) = sqlx::query_as("select file from pragma_database_list where name = 'main'").fetch_one(&mut *pooled).await?;
        if file.is_empty() {
            return Ok(None);
        }
        let conn = rusqlite::Connection::open_with_flags(&file, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        // Checkpoints run beside the writers (`super::checkpoints`), never inside a commit.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(Some(Self { conn }))
    }

    /// Stores `messages` as [`chat::post_all_on`] does: one statement for one post, one
    /// transaction for several.
    pub fn post_all(&mut self, messages: &[NewMessage], now: i64) -> rusqlite::Result<Direct> {
        match self.try_post_all(messages, now) {
            Ok(out) => Ok(Direct::Stored(out)),
            Err(rusqlite::Error::SqliteFailure(e, _)) if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Ok(Direct::Busy),
            Err(e) => Err(e),
        }
    }

    fn try_post_all(&mut self, messages: &[NewMessage], now: i64) -> rusqlite::Result<Vec<Posted>> {
        if let [m] = messages {
            return Ok(vec![insert_one(&self.conn, m, now)?]);
        }
        // Dropped without a commit (an error), the transaction rolls back: nothing is stored.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = messages.iter().map(|m| insert_one(&tx, m, now)).collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(out)
    }
}

fn insert_one(conn: &rusqlite::Connection, m: &NewMessage, now: i64) -> rusqlite::Result<Posted> {
    let mut insert = conn.prepare_cached(chat::INSERT_MESSAGE)?;
    let mut rows = insert.query(named_params! {
        "$1": m.room, "$2": m.sender_id, "$3": m.client_id, "$4": m.body, "$5": now,
        "$6": None::<i64>, "$7": None::<String>,
    })?;
    Ok(match rows.next()? {
        Some(row) => Posted::New(m.stored((row.get(0)?, row.get(1)?, row.get(2)?), now, None)),
        None => Posted::NotMember,
    })
}
