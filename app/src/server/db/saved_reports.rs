//! The `saved_reports` aggregate: CSV exports kept for premium accounts until they expire. The
//! file itself lives in the report store (`server::saved_reports`), under `object_key`.

use super::Db;
use sqlx::FromRow;

#[derive(Debug, Clone, FromRow)]
pub struct SavedReportRow {
    pub id: i64,
    pub user_id: i64,
    pub object_key: String,
    pub file_name: String,
    pub description: String,
    pub rows: i64,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

pub struct NewReport<'a> {
    pub user_id: i64,
    pub object_key: &'a str,
    pub file_name: &'a str,
    pub description: &'a str,
    pub rows: i64,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

macro_rules! select_reports {
    ($rest:literal) => {
        concat!("select id, user_id, object_key, file_name, description, rows, size, created_at, expires_at from saved_reports ", $rest)
    };
}

#[tracing::instrument(skip_all, fields(user_id = r.user_id))]
pub async fn insert(db: &Db, r: &NewReport<'_>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into saved_reports (user_id, object_key, file_name, description, rows, size, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(r.user_id)
    .bind(r.object_key)
    .bind(r.file_name)
    .bind(r.description)
    .bind(r.rows)
    .bind(r.size)
    .bind(r.created_at)
    .bind(r.expires_at)
    .fetch_one(db)
    .await
}

/// The user's reports that have not expired, newest first (at most `limit`).
#[tracing::instrument(skip(db))]
pub async fn live_for_user(db: &Db, user_id: i64, now: i64, limit: i64) -> Result<Vec<SavedReportRow>, sqlx::Error> {
    sqlx::query_as(select_reports!("where user_id = $1 and expires_at > $2 order by id desc limit $3"))
        .bind(user_id)
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// The report `id` if it is `user_id`'s (expired or not).
#[tracing::instrument(skip(db))]
pub async fn own(db: &Db, user_id: i64, id: i64) -> Result<Option<SavedReportRow>, sqlx::Error> {
    sqlx::query_as(select_reports!("where id = $1 and user_id = $2")).bind(id).bind(user_id).fetch_optional(db).await
}

/// Removes every report that expired before `now`; their object keys.
#[tracing::instrument(skip(db))]
pub async fn remove_expired(db: &Db, now: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("delete from saved_reports where expires_at <= $1 returning object_key").bind(now).fetch_all(db).await
}
