//! Saved reports: a premium account's CSV exports are kept, listed, downloaded again through
//! an authorised route until they expire, then removed; in a folder, and in an S3-compatible
//! bucket (moto's S3 server on loopback, started and stopped here by PID).

use crate::helpers::{Browser, ChildServer, TestApp, created, spawn_app, spawn_app_with};
use app::server::saved_reports::{SavedReports, StoreConfig};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

async fn add_three(b: &mut Browser) {
    let list: Value = b.call("categories", &[]).await.json().await.unwrap();
    let other = list.as_array().unwrap().iter().find(|c| c["name"] == "Other").unwrap()["id"].to_string();
    for (amount, what, note) in [("12.50", "Lunch", ""), ("3.20", "Bus", "to work, and back"), ("40", "Books", "")] {
        let form = [("amount", amount), ("description", what), ("category_id", other.as_str()), ("spent_on", "2026-11-03"), ("note", note)];
        created(b, "add_expense", &form).await;
    }
}

async fn make_premium(app: &TestApp, b: &mut Browser) {
    let id = b.me().await["id"].as_i64().unwrap();
    app.execute("update users set premium_since = 1 where id = $1", &[id]).await;
}

async fn saved(b: &mut Browser) -> Value {
    let res = b.call("saved_reports", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Exports November as CSV; the body.
async fn export(b: &mut Browser) -> String {
    let res = b.get("/reports/expenses.csv?from=2026-11-01&to=2026-11-30").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// Waits until the export just made is listed (it is stored after the download ends).
async fn first_saved(b: &mut Browser) -> Value {
    let started = Instant::now();
    loop {
        let list = saved(b).await;
        if let Some(first) = list.as_array().and_then(|l| l.first()) {
            return first.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no saved report: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connect(app: &TestApp) -> app::server::db::Db {
    app::server::db::connect_and_migrate(&app.database.url).await.unwrap()
}

/// Checks a kept export end to end: listed with its rows and size, the same bytes again, only
/// for its owner, gone (410) once expired; then the sweep removes it. `exists` says whether the
/// store holds an object key.
async fn lifecycle(app: &TestApp, store: &SavedReports) {
    let mut ada = app.signed_up("ada").await;
    add_three(&mut ada).await;
    export(&mut ada).await;
    assert_eq!(saved(&mut ada).await, Value::Null, "not premium: nothing kept, no list");

    make_premium(app, &mut ada).await;
    let body = export(&mut ada).await;
    let report = first_saved(&mut ada).await;
    assert_eq!(report["rows"], 3);
    assert_eq!(report["size"].as_u64(), Some(body.len() as u64));
    assert_eq!(report["description"], "2026-11-01 to 2026-11-30");
    assert_eq!(report["file_name"], "huddle-expenses-2026-11-01-2026-11-30.csv");
    let id = report["id"].as_i64().unwrap();
    let expires = report["expires_at"].as_i64().unwrap() - report["created_at"].as_i64().unwrap();
    assert_eq!(expires, 30 * 86_400_000, "kept 30 days");

    let again = ada.get(&format!("/reports/saved/{id}")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers()["content-disposition"].to_str().unwrap().contains("huddle-expenses-2026-11-01-2026-11-30.csv"));
    assert_eq!(again.text().await.unwrap(), body);

    // Nobody else gets it; a made-up id is not found either.
    let mut bob = app.signed_up("bob").await;
    assert_eq!(bob.get(&format!("/reports/saved/{id}")).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.browser().get(&format!("/reports/saved/{id}")).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(ada.get("/reports/saved/nonsense").await.status(), StatusCode::NOT_FOUND);

    // Expired: not listed, not downloadable; the sweep removes row and file.
    let db = connect(app).await;
    let key: String = sqlx::query_scalar("select object_key from saved_reports where id = $1").bind(id).fetch_one(&db).await.unwrap();
    assert!(store.has(&key).await, "the file is in the store");
    app.execute("update saved_reports set expires_at = 1 where id = $1", &[id]).await;
    assert_eq!(ada.get(&format!("/reports/saved/{id}")).await.status(), StatusCode::GONE);
    assert_eq!(saved(&mut ada).await, serde_json::json!([]));
    assert_eq!(store.sweep(&db, app::server::now_ms()).await.unwrap(), 1);
    assert!(!store.has(&key).await, "the file is gone");
    assert_eq!(ada.get(&format!("/reports/saved/{id}")).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exports_are_kept_in_the_data_folder_until_they_expire() {
    let app = spawn_app().await;
    let store = SavedReports::new(&StoreConfig::Folder(app.database.dir.join("reports")), Duration::from_secs(30 * 86_400)).unwrap();
    lifecycle(&app, &store).await;
}

/// moto's S3 server on a loopback port it chose itself, with one bucket; stopped by PID when
/// dropped.
struct S3Server(ChildServer);

/// Binds port 0 and prints the port it got (see [`ChildServer`]).
const MOTO: &str = "
import threading
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
threading.Event().wait()
";

impl S3Server {
    async fn start(bucket: &str) -> Self {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/moto/bin/python");
        assert!(python.exists(), "moto is not installed: run scripts/test.sh, or `source scripts/lib.sh; ensure_moto`");
        let mut command = Command::new(python);
        command.args(["-c", MOTO]);
        let server = Self(ChildServer::start(command, "moto"));
        let made = reqwest::Client::new().put(format!("{}/{bucket}", server.url())).send().await.unwrap();
        assert!(made.status().is_success(), "create bucket: {}", made.status());
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.0.port)
    }
}

#[tokio::test]
async fn exports_are_kept_in_an_s3_bucket_when_one_is_configured() {
    let s3 = S3Server::start("huddle-reports").await;
    let config = StoreConfig::S3 {
        bucket: "huddle-reports".into(),
        endpoint: Some(s3.url()),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: "testing".into(),
    };
    let app = spawn_app_with(|c| c.saved_reports = config.clone()).await;
    let store = SavedReports::new(&config, Duration::from_secs(30 * 86_400)).unwrap();
    lifecycle(&app, &store).await;
    // The folder store was not used.
    assert!(!app.database.dir.join("reports").join("reports").exists());
}
