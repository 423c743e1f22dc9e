//! The storage layer itself, on whichever backend this run tests.

use crate::helpers::{TestDatabase, on_postgres, spawn_app};
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

/// A busy chat never pauses its writes long enough for a plain checkpoint to finish: SQLite's log
/// then grew without end (500 MB in 20 s at 1,000 posts a second). A writer that never pauses,
/// taking the write turn as the chat's committer does, must see the log start over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_log_stays_short_under_writes_that_never_pause() {
    if on_postgres() {
        return;
    }
    let database = TestDatabase::create().await;
    let (pool, turn) = db::connect(&database.url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query("create table filler (id integer primary key, body text not null)").execute(&mut *conn).await.unwrap();
    let log = database.dir.join("huddle.db-wal");
    let body = "x".repeat(2000);
    let (began, mut rows, mut largest) = (std::time::Instant::now(), 0u64, 0u64);
    while began.elapsed() < std::time::Duration::from_secs(4) {
        {
            let _turn = turn.lock().await;
            sqlx::query("insert into filler (body) values ($1)").bind(&body).execute(&mut *conn).await.unwrap();
        }
        rows += 1;
        if rows % 50 == 0 {
            largest = largest.max(std::fs::metadata(&log).map_or(0, |m| m.len()));
        }
    }
    // Every row is at least one page of log (about two with the table's pages): without a
    // restart the log holds every one of them (317 MB of log for 180 MB of rows, by this count,
    // with passive checkpoints alone). With restarts it holds what came between two of them:
    // 0.3 of the rows' bytes alone, 0.5 with the whole suite running beside it.
    let written = rows * 4096;
    assert!(written > 16 << 20, "the writer was too slow to tell: {rows} rows");
    assert!(largest < written, "the log reached {largest} bytes for {written} bytes of rows");
    drop(conn);
    pool.close().await;
}

#[tokio::test]
async fn readiness_reports_the_database() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
}

/// A connection to `database` with the migrations up to `version` applied, as an older
/// Huddle left it.
async fn migrated_to(database: &TestDatabase, version: i64) -> sqlx::AnyConnection {
    use sqlx::Connection;
    let folder = if on_postgres() { "postgres" } else { "sqlite" };
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(&format!("{}/../migrations/{folder}", env!("CARGO_MANIFEST_DIR"))))
        .await
        .unwrap();
    before.migrations = before.migrations.iter().filter(|m| m.version <= version).cloned().collect::<Vec<_>>().into();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&database.url).await.unwrap();
    before.run(&mut conn).await.unwrap();
    conn
}

#[tokio::test]
async fn rooms_made_before_invite_links_become_private_each_with_its_own_fresh_link() {
    use sqlx::Connection;
    let database = TestDatabase::create().await;
    // The schema as it was before migration 0007, with two rooms anyone could join by number.
    let mut conn = migrated_to(&database, 6).await;
    sqlx::query(
        "insert into users (name, username, username_key, email, email_key, password_hash, created_at)
         values ('Ada', 'ada', 'ada', 'a@example.org', 'a@example.org', 'x', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for name in ["Old one", "Old two"] {
        sqlx::query("insert into rooms (kind, name, created_by, last_activity_at, created_at) values ('group', $1, 1, 0, 0)")
            .bind(name)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();

    let pool = db::connect_and_migrate(&database.url).await.unwrap();
    let rooms: Vec<(String, String)> = sqlx::query_as("select visibility, invite_nonce from rooms order by id").fetch_all(&pool).await.unwrap();
    assert_eq!(rooms.len(), 2);
    assert!(rooms.iter().all(|(visibility, nonce)| visibility == "private" && nonce.len() == 32), "{rooms:?}");
    assert_ne!(rooms[0].1, rooms[1].1, "each room its own link");
    pool.close().await;
}

#[tokio::test]
async fn messages_written_before_migration_0017_keep_their_ids_and_posting_goes_on_after_them() {
    use sqlx::Connection;
    let database = TestDatabase::create().await;
    let mut conn = migrated_to(&database, 16).await;
    for statement in [
        "insert into users (name, username, username_key, email, email_key, password_hash, created_at)
         values ('Ada', 'ada', 'ada', 'a@example.org', 'a@example.org', 'x', 0)",
        "insert into rooms (kind, name, created_by, last_activity_at, created_at, visibility) values ('group', 'Old', 1, 0, 0, 'public')",
        "insert into room_members (room_id, user_id, joined_at) values (1, 1, 0)",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    for seq in 1..=3_i64 {
        sqlx::query("insert into messages (room_id, seq, change, sender_id, client_id, body, created_at) values (1, $1, $1, 1, $2, $3, $1)")
            .bind(seq)
            .bind(format!("client-{seq}"))
            .bind(format!("old {seq}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    conn.close().await.unwrap();

    let pool = db::connect_and_migrate(&database.url).await.unwrap();
    let kept: Vec<(i64, i64, String)> = sqlx::query_as("select id, seq, body from messages order by id").fetch_all(&pool).await.unwrap();
    assert_eq!(kept, [(1, 1, "old 1".to_string()), (2, 2, "old 2".to_string()), (3, 3, "old 3".to_string())]);
    if !on_postgres() {
        let (schema,): (String,) = sqlx::query_as("select sql from sqlite_master where name = 'messages'").fetch_one(&pool).await.unwrap();
        assert!(!schema.to_lowercase().contains("autoincrement"), "{schema}");
    }
    // The trigger came back with the table: a post takes the next id and position and moves
    // the room and the sender's read mark.
    let message = db::chat::NewMessage { room: 1, sender_id: 1, sender_name: "Ada".into(), client_id: "client-4".into(), body: "new".into() };
    let posted = db::chat::post_all(&pool, &[message], 10).await.unwrap();
    let db::chat::Posted::New(stored) = &posted[0] else { panic!("not stored: {posted:?}") };
    assert_eq!((stored.id, stored.seq, stored.change), (4, 4, 4));
    let room: (i64, i64, i64) = sqlx::query_as("select last_seq, last_change, last_activity_at from rooms where id = 1").fetch_one(&pool).await.unwrap();
    assert_eq!(room, (4, 4, 10));
    let (read,): (i64,) = sqlx::query_as("select last_read_seq from room_members where room_id = 1 and user_id = 1").fetch_one(&pool).await.unwrap();
    assert_eq!(read, 4);
    pool.close().await;
}
