//! The storage layer itself, on whichever backend this run tests.

use crate::helpers::{TestDatabase, spawn_app};
use app::server::db;

#[tokio::test]
async fn a_start_on_an_up_to_date_database_applies_nothing() {
    let database = TestDatabase::create().await;
    let pool = db::connect_and_migrate(&database.url).await.unwrap();
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations").fetch_one(&pool).await.unwrap();
    assert!(applied >= 1);
    pool.close().await;

    let again = db::connect_and_migrate(&database.url).await.unwrap();
    let after: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations").fetch_one(&again).await.unwrap();
    assert_eq!(after, applied);
    again.close().await;
}

#[tokio::test]
async fn a_duplicate_username_names_its_constraint_on_either_backend() {
    let database = TestDatabase::create().await;
    let pool = db::connect_and_migrate(&database.url).await.unwrap();
    let user = |username: &'static str, email: &'static str| db::users::NewUser {
        name: "Ada",
        username,
        username_key: username,
        email,
        email_key: email,
        password_hash: "x",
        currency: "EUR",
        created_at: 1,
    };
    db::users::create(&pool, &user("ada", "a@example.org")).await.unwrap();

    let err = db::users::create(&pool, &user("ada", "b@example.org")).await.unwrap_err();
    assert_eq!(db::violated_unique(&err).as_deref(), Some("users_username_key"));
    let err = db::users::create(&pool, &user("bob", "a@example.org")).await.unwrap_err();
    assert_eq!(db::violated_unique(&err).as_deref(), Some("users_email_key"));
    pool.close().await;
}

#[tokio::test]
async fn readiness_reports_the_database() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
}
