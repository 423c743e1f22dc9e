//! One-time links sent by mail (password reset, email verification), by hash only.

use super::Db;
use sqlx::{Any, FromRow, Transaction};

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    Verify,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::Verify => "verify",
        }
    }
}

/// A link that can still be used.
#[derive(Debug, FromRow)]
pub struct LiveToken {
    pub user_id: i64,
    /// For verification: the address the link confirms.
    pub email: Option<String>,
}

/// Stores a new link for `user_id` and voids the user's earlier unused links of this purpose:
/// only the newest one works.
#[tracing::instrument(skip(db, token_hash))]
pub async fn issue(
    db: &Db,
    user_id: i64,
    purpose: Purpose,
    token_hash: &str,
    email: Option<&str>,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    // Lock the user's row first (a portable `for update`): two links issued at once for one user
    // then take turns, and the second voids the first (under PostgreSQL's read committed, two
    // concurrent transactions would each miss the other's uncommitted link).
    // (A column no foreign key points at: rewriting `id` would make SQLite check every table
    // that references users.)
    sqlx::query("update users set email_verified_at = email_verified_at where id = $1").bind(user_id).execute(&mut *tx).await?;
    void_all(&mut tx, user_id, purpose, now).await?;
    sqlx::query(
        "insert into account_tokens (token_hash, user_id, purpose, email, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(email)
    .bind(now)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The link with this hash, if it exists, is for `purpose`, unused and unexpired.
#[tracing::instrument(skip_all)]
pub async fn find_live(db: &Db, token_hash: &str, purpose: Purpose, now: i64) -> Result<Option<LiveToken>, sqlx::Error> {
    sqlx::query_as(
        "select user_id, email from account_tokens
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > $3",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(db)
    .await
}

/// Uses the link inside `tx`: of two concurrent uses exactly one gets it. `None` when it is
/// unknown, used, expired or for another purpose; then nothing is changed.
#[tracing::instrument(skip_all)]
pub async fn claim(tx: &mut Transaction<'_, Any>, token_hash: &str, purpose: Purpose, now: i64) -> Result<Option<LiveToken>, sqlx::Error> {
    sqlx::query_as(
        "update account_tokens set used_at = $1
         where token_hash = $2 and purpose = $3 and used_at is null and expires_at > $1
         returning user_id, email",
    )
    .bind(now)
    .bind(token_hash)
    .bind(purpose.as_str())
    .fetch_optional(&mut **tx)
    .await
}

/// Voids every unused link of `user_id` for `purpose`.
pub async fn void_all(tx: &mut Transaction<'_, Any>, user_id: i64, purpose: Purpose, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update account_tokens set used_at = $1 where user_id = $2 and purpose = $3 and used_at is null")
        .bind(now)
        .bind(user_id)
        .bind(purpose.as_str())
        .execute(&mut **tx)
        .await
        .map(drop)
}
