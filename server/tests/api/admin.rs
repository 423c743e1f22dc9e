//! `huddle admin`: the real binary against the database of a running server.

use crate::helpers::{STRONG_PASSWORD, TestApp, spawn_app};
use reqwest::StatusCode;
use std::process::Command;

/// Runs `huddle admin <args>` on `app`'s database; returns exit code, stdout and stderr. Waits
/// off the test's runtime: the server runs on it, and a mail task of its may hold a row the
/// command needs (on PostgreSQL the command would wait for it forever).
async fn admin(app: &TestApp, args: &[&str]) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (url, dir) = (app.database.url.clone(), app.database.dir.clone());
    tokio::task::spawn_blocking(move || run_admin(&url, &dir, &args)).await.unwrap()
}

fn run_admin(url: &str, dir: &std::path::Path, args: &[String]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_huddle"))
        .arg("admin")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", url)
        .env("HUDDLE_DATA_DIR", dir)
        .env("HUDDLE_JWT_SECRET", "integration-test-secret-0123456789")
        .env("HUDDLE_PUBLIC_URL", "https://huddle.example.org")
        .current_dir(dir)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The path of the link an admin command printed (on the configured public URL).
fn link_path(stdout: &str) -> String {
    let link = stdout.lines().find(|l| l.starts_with("https://huddle.example.org/")).expect("a link");
    link.trim_start_matches("https://huddle.example.org").to_string()
}

async fn set_password_through(app: &TestApp, path: &str, password: &str) {
    let mut b = app.browser();
    let res = b.get(path).await;
    assert_eq!(res.headers()["location"], "/reset-password");
    let res = b.call("reset_password", &[("new_password", password), ("confirm_password", password)]).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn an_admin_creates_an_account_whose_owner_sets_the_password_through_a_link() {
    let app = spawn_app().await;
    let (code, stdout, stderr) = admin(&app, &["create-user", "--username", "grace", "--email", "grace@example.org", "--name", "Grace Hopper"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("created account"), "{stdout}");
    assert_eq!(app.browser().login("grace", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED, "no password works yet");

    set_password_through(&app, &link_path(&stdout), STRONG_PASSWORD).await;
    let mut grace = app.browser();
    assert_eq!(grace.login("grace", STRONG_PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(grace.me().await["name"], "Grace Hopper");

    let (code, stdout, _) = admin(&app, &["list-users"]).await;
    assert_eq!(code, Some(0));
    let row = stdout.lines().find(|l| l.contains("grace@example.org")).expect("grace is listed");
    assert!(row.contains("grace") && row.contains("Grace Hopper") && row.contains(" no "), "{row}");

    let (code, _, stderr) = admin(&app, &["create-user", "--username", "GRACE", "--email", "other@example.org", "--name", "G"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--username: GRACE is taken"), "{stderr}");
}

#[tokio::test]
async fn an_admin_reset_link_replaces_the_password_and_ends_every_login() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let (code, stdout, stderr) = admin(&app, &["reset-password", "ADA@example.org"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    set_password_through(&app, &link_path(&stdout), "copper-lantern-meadow-77").await;
    assert_eq!(ada.me().await, serde_json::Value::Null, "signed out at once");
    assert_eq!(app.browser().login("ada", "copper-lantern-meadow-77").await.status(), StatusCode::OK);

    let (code, _, stderr) = admin(&app, &["reset-password", "nobody"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no account with the username or email \"nobody\""), "{stderr}");
    let (code, _, stderr) = admin(&app, &["frobnicate"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
}

#[tokio::test]
async fn an_admin_grants_and_revokes_premium() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let premium = async |b: &mut crate::helpers::Browser| b.call("premium_status", &[]).await.json::<serde_json::Value>().await.unwrap()["since"].is_i64();
    assert!(!premium(&mut ada).await);

    let (code, stdout, stderr) = admin(&app, &["grant-premium", "ada"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("ada is premium now"), "{stdout}");
    assert!(premium(&mut ada).await);
    let (_, stdout, _) = admin(&app, &["grant-premium", "ada@example.org"]).await;
    assert!(stdout.contains("was premium already"), "{stdout}");
    let (_, stdout, _) = admin(&app, &["list-users"]).await;
    let row = stdout.lines().find(|l| l.contains("ada@example.org")).unwrap();
    assert!(row.contains(" yes "), "{row}");

    let (code, stdout, _) = admin(&app, &["revoke-premium", "ada"]).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("no longer premium"), "{stdout}");
    assert!(!premium(&mut ada).await);
    let (code, _, stderr) = admin(&app, &["grant-premium", "nobody"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no account"), "{stderr}");
}
