//! Metrics on their own address, request ids, JSON logs: what an operator of several nodes
//! watches.

use crate::chat::{create_room, join};
use crate::helpers::spawn_app_with;
use reqwest::StatusCode;
use std::collections::BTreeMap;
use std::io::BufRead;

/// One scrape: each series (its labels sorted, so their order does not matter) and its value.
pub async fn scrape(addr: std::net::SocketAddr) -> BTreeMap<String, f64> {
    let res = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            let series = match series.split_once('{') {
                Some((name, labels)) => {
                    let mut labels: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                    labels.sort();
                    format!("{name}{{{}}}", labels.join(","))
                }
                None => series.to_string(),
            };
            (series, value.parse().unwrap())
        })
        .collect()
}

pub fn grew(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, series: &str) -> f64 {
    let value = |m: &BTreeMap<String, f64>| m.get(series).copied().unwrap_or(0.0);
    assert!(after.contains_key(series), "no {series} in {after:#?}");
    value(after) - value(before)
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_count_what_happens() {
    let app = spawn_app_with(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let metrics = app.metrics.expect("a metrics address");
    assert_ne!(metrics, app.addr);
    let before = scrape(metrics).await;

    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;
    let room = create_room(&mut ada, "Team").await;
    join(&mut ada, &mut bob, room).await;
    let (mut ada_tab, mut bob_tab) = (ada.socket().await, bob.socket().await);
    ada_tab.say(room, "counted").await;
    assert_eq!(bob_tab.message().await.body, "counted");
    assert_eq!(app.browser().get("/login").await.status(), StatusCode::OK);
    assert_eq!(app.browser().get("/no/such/page").await.status(), StatusCode::NOT_FOUND);
    let after = scrape(metrics).await;

    // Requests by route pattern, never by raw path.
    assert!(grew(&before, &after, r#"huddle_http_requests_total{method="GET",route="/login",status="200"}"#) >= 1.0);
    assert!(grew(&before, &after, r#"huddle_http_requests_total{method="POST",route="/api/create_room",status="200"}"#) >= 1.0);
    assert!(grew(&before, &after, r#"huddle_http_requests_total{method="GET",route="other",status="404"}"#) >= 1.0);
    assert!(!after.keys().any(|k| k.contains("/no/such/page")), "a raw path became a label");
    assert!(grew(&before, &after, r#"huddle_http_request_duration_seconds_count{method="GET",route="/login"}"#) >= 1.0);
    // The socket side: what came in, what went out, to whom, and the commit.
    assert_eq!(after["huddle_sockets_open"], 2.0);
    assert!(grew(&before, &after, "huddle_ws_frames_in_total") >= 1.0);
    assert!(grew(&before, &after, "huddle_ws_frames_out_total") >= 3.0, "an ack and the message to each");
    assert!(grew(&before, &after, "huddle_deliveries_total") >= 2.0);
    assert!(grew(&before, &after, "huddle_commit_batch_size_count") >= 1.0);
    assert!(grew(&before, &after, r#"huddle_commit_duration_seconds_bucket{le="+Inf"}"#) >= 1.0);
    assert!(after["huddle_db_pool_max_connections"] >= 1.0);
    assert!(after.contains_key(r#"huddle_db_pool_connections{state="in_use"}"#));
    assert_eq!(after["huddle_calls_live"], 0.0);

    // Reconnecting with a cursor is a sync that replays from the database.
    let mut again = ada.socket().await;
    again.send(&app::models::ws::ClientMsg::Sync { rooms: vec![app::models::ws::RoomCursor { room, after: 0 }] }).await;
    again.recv_where(|m| matches!(m, app::models::ws::ServerMsg::Replay { .. }).then_some(())).await;
    let synced = scrape(metrics).await;
    assert_eq!(grew(&after, &synced, "huddle_syncs_total"), 1.0);
    assert!(grew(&after, &synced, "huddle_replayed_messages_total") >= 1.0);

    // The main listener does not serve them.
    assert_eq!(app.browser().get("/metrics").await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_a_proxys() {
    let app = spawn_app_with(|_| {}).await;
    let http = reqwest::Client::new();
    let id = |res: &reqwest::Response| res.headers()["x-request-id"].to_str().unwrap().to_string();
    let first = id(&http.get(app.url("/healthz")).send().await.unwrap());
    let second = id(&http.get(app.url("/healthz")).send().await.unwrap());
    assert!(first.len() == 16 && first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");
    assert_ne!(first, second);
    let kept = http.get(app.url("/login")).header("x-request-id", "haproxy-7f3a:01").send().await.unwrap();
    assert_eq!(id(&kept), "haproxy-7f3a:01");
    let replaced = http.get(app.url("/login")).header("x-request-id", "x\"}{injected").send().await.unwrap();
    assert_ne!(id(&replaced), "x\"}{injected");
}

/// The real binary with `HUDDLE_LOG_FORMAT=json`: every line on stdout is one JSON object, and
/// a request's line carries the id its answer was sent with.
#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_request_id() {
    let dir = std::env::temp_dir().join(format!("huddle-json-logs-{}", std::process::id()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_huddle"))
        .env_clear()
        .envs([("HUDDLE_LOG_FORMAT", "json"), ("HUDDLE_ADDR", "127.0.0.1:0"), ("HUDDLE_DATA_DIR", dir.to_str().unwrap())])
        .current_dir(std::env::temp_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let next = || lines.recv_timeout(std::time::Duration::from_secs(20)).expect("a log line");
    let parse = |line: &str| serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let addr = loop {
        let line = parse(&next());
        if let Some(url) = line["message"].as_str().and_then(|m| m.strip_prefix("Huddle is listening on ")) {
            break url.to_string();
        }
    };
    // Health checks every few seconds are not logged when they pass; a page is.
    reqwest::get(format!("{addr}/healthz")).await.unwrap();
    let res = reqwest::get(format!("{addr}/no/such/page")).await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let logged = loop {
        let line = parse(&next());
        if line["message"] == "request" {
            break line;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(logged["path"], "/no/such/page");
    assert_eq!(logged["status"], 404);
    assert_eq!(logged["span"]["request_id"], id.as_str());
}
