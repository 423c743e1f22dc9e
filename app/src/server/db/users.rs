//! The `users` aggregate.

use super::Db;
use crate::models::{DisplayName, Email, LoginName, User, Username};
use sqlx::FromRow;

/// A stored user with its password hash: never leaves the server.
#[derive(FromRow)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: i64,
    pub currency: String,
    pub page_size: i64,
    pub time_zone: String,
    pub theme: String,
    /// When the current address was confirmed; `None` until then.
    pub email_verified_at: Option<i64>,
    /// Since when the account is premium; `None` when it is not.
    pub premium_since: Option<i64>,
    /// 1 when the user chose to appear on the leaderboard.
    pub on_leaderboard: i64,
}

impl UserRow {
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            name: self.name,
            username: self.username,
            email: self.email,
            created_at: self.created_at,
            currency: self.currency,
            time_zone: self.time_zone,
            theme: crate::models::Theme::from_db(&self.theme),
            email_verified: self.email_verified_at.is_some(),
            premium: self.premium_since.is_some(),
        }
    }
}

pub struct NewUser<'a> {
    pub name: &'a str,
    pub username: &'a str,
    pub username_key: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub password_hash: &'a str,
    pub currency: &'a str,
    pub created_at: i64,
}

/// Creates the user with the built-in categories, in one transaction.
#[tracing::instrument(skip_all)]
pub async fn create(db: &Db, u: &NewUser<'_>) -> Result<i64, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into users (name, username, username_key, email, email_key, password_hash, currency, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning id",
    )
    .bind(u.name)
    .bind(u.username)
    .bind(u.username_key)
    .bind(u.email)
    .bind(u.email_key)
    .bind(u.password_hash)
    .bind(u.currency)
    .bind(u.created_at)
    .fetch_one(&mut *tx)
    .await?;
    super::categories::seed_builtin(&mut tx, id, u.created_at).await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates an account from checked fields (sign-up, the admin command): the lookup keys are
/// derived here, the built-in categories seeded.
pub async fn create_account(
    db: &Db,
    name: &DisplayName,
    username: &Username,
    email: &Email,
    password_hash: &str,
    currency: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let (username_key, email_key) = (username.key(), email.key());
    let new = NewUser {
        name: name.as_str(),
        username: username.as_str(),
        username_key: &username_key,
        email: email.as_str(),
        email_key: &email_key,
        password_hash,
        currency,
        created_at: now,
    };
    create(db, &new).await
}

/// The user a login form names, by username or by email.
pub async fn by_login(db: &Db, name: &LoginName) -> Result<Option<UserRow>, sqlx::Error> {
    match name {
        LoginName::Username(u) => by_username_key(db, &u.key()).await,
        LoginName::Email(e) => by_email_key(db, &e.key()).await,
    }
}

/// `select` of every `UserRow` column, followed by a `where` clause.
macro_rules! select_user_where {
    ($cond:literal) => {
        concat!(
            "select id, name, username, email, password_hash, created_at, currency, page_size, time_zone, theme, email_verified_at, premium_since, cast(on_leaderboard as bigint) as on_leaderboard from users where ",
            $cond
        )
    };
}

#[tracing::instrument(skip(db))]
pub async fn by_id(db: &Db, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(select_user_where!("id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The user, only while login `session` of theirs is live (not revoked, not expired): one
/// lookup, for a socket being opened with an access token that may have outlived its login.
#[tracing::instrument(skip(db))]
pub async fn by_live_session(db: &Db, id: i64, session: i64, now: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(select_user_where!(
        "id = $1 and exists (select 1 from sessions s where s.id = $2 and s.user_id = $1 and s.revoked_at is null and s.expires_at > $3)"
    ))
    .bind(id)
    .bind(session)
    .bind(now)
    .fetch_optional(db)
    .await
}

#[tracing::instrument(skip(db))]
pub async fn by_username_key(db: &Db, key: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(select_user_where!("username_key = $1"))
        .bind(key)
        .fetch_optional(db)
        .await
}

#[tracing::instrument(skip(db))]
pub async fn by_email_key(db: &Db, key: &str) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(select_user_where!("email_key = $1"))
        .bind(key)
        .fetch_optional(db)
        .await
}

#[tracing::instrument(skip(db))]
pub async fn set_name(db: &Db, id: i64, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update users set name = $1 where id = $2").bind(name).bind(id).execute(db).await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn set_password_hash<'e>(db: impl sqlx::Executor<'e, Database = sqlx::Any>, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update users set password_hash = $1 where id = $2").bind(hash).bind(id).execute(db).await?;
    Ok(())
}

#[tracing::instrument(skip(db))]
pub async fn set_currency(db: &Db, id: i64, code: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update users set currency = $1 where id = $2").bind(code).bind(id).execute(db).await?;
    Ok(())
}

#[tracing::instrument(skip(db))]
pub async fn set_page_size(db: &Db, id: i64, page_size: i64) -> Result<(), sqlx::Error> {
    sqlx::query("update users set page_size = $1 where id = $2").bind(page_size).bind(id).execute(db).await?;
    Ok(())
}

#[tracing::instrument(skip(db))]
pub async fn set_time_zone(db: &Db, id: i64, zone: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update users set time_zone = $1 where id = $2").bind(zone).bind(id).execute(db).await?;
    Ok(())
}

pub async fn set_theme(db: &Db, id: i64, theme: &str) -> Result<(), sqlx::Error> {
    sqlx::query("update users set theme = $1 where id = $2").bind(theme).bind(id).execute(db).await?;
    Ok(())
}

/// Makes `email` the user's confirmed address (the one it had, or the new one a link confirmed).
#[tracing::instrument(skip(db))]
pub async fn confirm_email<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: i64,
    email: &str,
    email_key: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update users set email = $1, email_key = $2, email_verified_at = $3 where id = $4")
        .bind(email)
        .bind(email_key)
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Every user, oldest first (the admin command's list).
#[tracing::instrument(skip(db))]
pub async fn list(db: &Db) -> Result<Vec<UserRow>, sqlx::Error> {
    sqlx::query_as(select_user_where!("id > 0 order by id")).fetch_all(db).await
}
