//! Origin checks, security headers, body limits, health.

use crate::helpers::{STRONG_PASSWORD, spawn_app};
use reqwest::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `limit` passes); returns what it sent.
async fn until_closed(tcp: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(limit, tcp.read_to_end(&mut got)).await;
    read.ok().map(|_| String::from_utf8_lossy(&got).into_owned())
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let form = [("name", "Eve"), ("username", "eve"), ("email", "eve@example.org"), ("password", STRONG_PASSWORD)];

    let res = client.post(app.url("/api/register")).header("origin", "http://evil.example").form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client.post(app.url("/api/register")).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The same host over another scheme is another origin.
    let https = app.url("").replacen("http://", "https://", 1);
    let res = client.post(app.url("/api/register")).header("origin", https).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let mut b = app.browser();
    assert_eq!(b.login("eve", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_page_carries_the_security_headers() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self' 'nonce-") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "strict-origin-when-cross-origin");
    let nonce = csp.split("'nonce-").nth(1).unwrap().split('\'').next().unwrap().to_string();
    let body = res.text().await.unwrap();
    assert!(body.contains(&format!("nonce=\"{nonce}\"")), "inline scripts carry the nonce");

    let res = reqwest::get(app.url("/healthz")).await.unwrap();
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let app = spawn_app().await;
    let big = "x".repeat(server::startup::BODY_LIMIT + 1);
    let res = reqwest::Client::new()
        .post(app.url("/api/login"))
        .form(&[("login", "ada"), ("password", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(reqwest::get(app.url("/healthz")).await.unwrap().status(), StatusCode::OK);
    let ready = reqwest::get(app.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn an_unknown_page_is_a_404_page() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/no/such/page")).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_a_413_not_a_500() {
    let app = spawn_app().await;
    // Sent in chunks, without a length: the limit is found only while reading.
    let mut tcp = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.addr
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("400\r\n{}\r\n", "x".repeat(1024));
    for _ in 0..80 {
        if tcp.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let answer = until_closed(&mut tcp, Duration::from_secs(10)).await.unwrap_or_default();
    let status = answer.split(' ').nth(1).unwrap_or("");
    assert_eq!(status, "413", "{}", &answer[..answer.len().min(200)]);
}

#[tokio::test]
async fn private_answers_are_never_cached_and_static_files_may_be() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let no_store = |res: &reqwest::Response| res.headers().get("cache-control").is_some_and(|v| v == "no-store");
    assert!(no_store(&ada.get("/expenses").await), "a signed-in page");
    assert!(no_store(&ada.call("me", &[]).await), "a server function's JSON");
    assert!(no_store(&ada.get("/reports/expenses.csv").await), "the CSV export");
    assert!(no_store(&reqwest::get(app.url("/login")).await.unwrap()), "the login page");
}

#[tokio::test]
async fn a_client_slow_with_its_headers_or_idle_is_disconnected_and_huge_headers_are_refused() {
    let app = spawn_app().await;
    let limit = server::serve::HEADER_READ_TIMEOUT + Duration::from_secs(3);
    // Connected, then silent.
    let started = Instant::now();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert!(until_closed(&mut idle, limit).await.is_some(), "an idle connection is closed");
    assert!(started.elapsed() >= Duration::from_secs(9));
    // A WebSocket upgrade dripping one header every two seconds.
    let mut drip = TcpStream::connect(app.addr).await.unwrap();
    drip.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let dripping = async {
        for i in 0..20 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if drip.write_all(format!("X-Drip-{i}: y\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    };
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), dripping).await.expect("the server hung up");
    assert!(started.elapsed() < limit + Duration::from_secs(2), "closed at the header timeout");
    // A 70 KB header.
    let res = reqwest::Client::new().get(app.url("/login")).header("x-big", "y".repeat(70_000)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[tokio::test]
async fn a_browser_failure_report_is_taken_ten_times_a_minute_per_address() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let send = |origin: &str| {
        client.post(app.url("/client-errors")).header("origin", origin.to_string()).body("/chat\npanic: hydration failed").send()
    };
    for _ in 0..10 {
        assert_eq!(send(&app.url("")).await.unwrap().status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(send(&app.url("")).await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(send("http://evil.example").await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_page_of_many_at_once_carries_the_nonce_its_scripts_carry() {
    let app = spawn_app().await;
    let loads = (0..60).map(|i| {
        let url = app.url(["/login", "/register", "/no/such/page"][i % 3]);
        async move {
            let res = reqwest::get(url).await.unwrap();
            let csp = res.headers()["content-security-policy"].to_str().unwrap().to_string();
            let nonce = csp.split("'nonce-").nth(1).expect("a page's policy has a nonce").split('\'').next().unwrap().to_string();
            let body = res.text().await.unwrap();
            assert!(body.contains(&format!("nonce=\"{nonce}\"")), "the scripts carry the header's nonce");
            nonce
        }
    });
    let mut nonces = futures::future::join_all(loads).await;
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 60, "a fresh nonce per response");
}
