//! Logins (`sessions`) and their rotating refresh tokens.

use super::Db;
use crate::models::SessionInfo;
use sqlx::FromRow;

/// A refresh token looked up by hash, with the state of its login.
#[derive(Debug, Clone, FromRow)]
pub struct TokenRecord {
    pub session_id: i64,
    pub user_id: i64,
    pub rotated_at: Option<i64>,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// Starts a login and stores its first refresh token; returns the login's id.
#[tracing::instrument(skip(db, token_hash))]
pub async fn start(
    db: &Db,
    user_id: i64,
    user_agent: &str,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let session_id: i64 = sqlx::query_scalar(
        "insert into sessions (user_id, user_agent, created_at, last_used_at, expires_at)
         values ($1, $2, $3, $3, $4) returning id",
    )
    .bind(user_id)
    .bind(user_agent)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut *tx)
    .await?;
    insert_token(&mut tx, session_id, token_hash, now).await?;
    tx.commit().await?;
    Ok(session_id)
}

async fn insert_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    session_id: i64,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("insert into refresh_tokens (token_hash, session_id, created_at) values ($1, $2, $3)")
        .bind(token_hash)
        .bind(session_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn find_token(db: &Db, token_hash: &str) -> Result<Option<TokenRecord>, sqlx::Error> {
    sqlx::query_as(
        "select t.session_id, s.user_id, t.rotated_at, s.expires_at, s.revoked_at
         from refresh_tokens t join sessions s on s.id = t.session_id
         where t.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Exchanges `old_hash` for `new_hash` and extends the login. Returns false when another
/// request rotated `old_hash` first (nothing is written then).
#[tracing::instrument(skip(db, old_hash, new_hash))]
pub async fn rotate(
    db: &Db,
    session_id: i64,
    old_hash: &str,
    new_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let claimed = sqlx::query("update refresh_tokens set rotated_at = $1 where token_hash = $2 and rotated_at is null")
        .bind(now)
        .bind(old_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed != 1 {
        return Ok(false);
    }
    insert_token(&mut tx, session_id, new_hash, now).await?;
    sqlx::query("update sessions set last_used_at = $1, expires_at = $2 where id = $3")
        .bind(now)
        .bind(expires_at)
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends one login of `user_id`. Returns false if it was not theirs or already ended.
#[tracing::instrument(skip(db))]
pub async fn revoke(db: &Db, user_id: i64, session_id: i64, now: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("update sessions set revoked_at = $1 where id = $2 and user_id = $3 and revoked_at is null")
        .bind(now)
        .bind(session_id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every login of `user_id` except `keep` (if given); returns the ids of those it ended.
#[tracing::instrument(skip(db))]
pub async fn revoke_all<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    user_id: i64,
    keep: Option<i64>,
    now: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "update sessions set revoked_at = $1 where user_id = $2 and revoked_at is null and id <> $3 returning id",
    )
    .bind(now)
    .bind(user_id)
    .bind(keep.unwrap_or(-1))
    .fetch_all(db)
    .await
}

/// The logins ended after `since`, with when: their access tokens may still be alive.
#[tracing::instrument(skip(db))]
pub async fn revoked_since(db: &Db, since: i64) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query_as("select id, revoked_at from sessions where revoked_at > $1").bind(since).fetch_all(db).await
}

#[derive(FromRow)]
struct SessionRow {
    id: i64,
    created_at: i64,
    last_used_at: i64,
    user_agent: String,
}

/// The active logins of `user_id`, most recently used first.
#[tracing::instrument(skip(db))]
pub async fn list_active(db: &Db, user_id: i64, current: i64, now: i64) -> Result<Vec<SessionInfo>, sqlx::Error> {
    let rows: Vec<SessionRow> = sqlx::query_as(
        "select id, created_at, last_used_at, user_agent from sessions
         where user_id = $1 and revoked_at is null and expires_at > $2
         order by last_used_at desc, id desc",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionInfo {
            id: r.id,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            user_agent: r.user_agent,
            current: r.id == current,
        })
        .collect())
}
