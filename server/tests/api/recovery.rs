//! Password reset through a real SMTP server: the same answer for every address, a link that
//! works once and not after 30 minutes, every login and access token ended, mail that is
//! retried until the relay is back.

use crate::helpers::{Browser, STRONG_PASSWORD, TestApp, error_of, spawn_app_with};
use crate::smtp::SmtpCapture;
use app::server::mail::{Retry, Transport};
use reqwest::StatusCode;
use std::time::Duration;

const NEW_PASSWORD: &str = "copper-lantern-meadow-77";
const RESET: &str = "Reset your Huddle password";

async fn app_with_mail(smtp: &SmtpCapture) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |c| c.mail.smtp = Some(Transport::smtp(&url).unwrap())).await
}

/// Asks for a reset link for `email` the way the page does; returns the answer.
async fn forgot(b: &mut Browser, email: &str) -> reqwest::Response {
    b.call("forgot_password", &[("email", email)]).await
}

/// Opens the mailed link in `b`: the token moves into a cookie and the page is the redirect.
async fn open(b: &mut Browser, link: &str) {
    let path = link.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())).unwrap();
    let res = b.get(&path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/reset-password", "the token leaves the address bar");
    assert_eq!(res.headers()["referrer-policy"], "no-referrer");
}

async fn reset(b: &mut Browser, password: &str, confirm: &str) -> reqwest::Response {
    b.call("reset_password", &[("new_password", password), ("confirm_password", confirm)]).await
}

#[tokio::test]
async fn every_address_gets_the_same_answer_and_only_an_account_gets_mail() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    app.signed_up("ada").await;
    let mut visitor = app.browser();

    let known = forgot(&mut visitor, "ADA@example.org").await;
    let unknown = forgot(&mut visitor, "nobody@example.org").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(known.headers().get("location"), unknown.headers().get("location"));
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());

    let mails = smtp.with_subject(RESET, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.with_subject(RESET, 1).await.len(), 1, "no mail for an address without an account");
    let mail = &mails[0];
    assert!(mail.header("to").unwrap().contains("ada@example.org"), "{:?}", mail.header("to"));
    assert_eq!(mail.header("subject").unwrap(), "Reset your Huddle password");
    let link = mail.link(&format!("http://{}/reset-password/link?token=", app.addr)).expect("a link built from the server's own address");
    assert_eq!(link.len() - link.find("token=").unwrap() - 6, 43, "256 bits, base64url");
    assert!(mail.raw.contains("text/html") && mail.raw.contains("text/plain"));
}

#[tokio::test]
async fn the_link_sets_a_new_password_once_and_ends_every_login() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    let mut laptop = app.signed_up("ada").await;
    let mut phone = app.browser();
    assert_eq!(phone.login("ada", STRONG_PASSWORD).await.status(), StatusCode::OK);
    let mut socket = laptop.socket().await;

    let mut visitor = app.browser();
    forgot(&mut visitor, "ada@example.org").await;
    let link = smtp.with_subject(RESET, 1).await[0].link("http://").unwrap();
    open(&mut visitor, &link).await;
    assert_eq!(visitor.call("reset_link", &[]).await.json::<bool>().await.unwrap(), true);

    let res = reset(&mut visitor, NEW_PASSWORD, "copper-lantern-meadow-78").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(res).await["Validation"]["field"], "confirm_password");
    let res = reset(&mut visitor, "password1234", "password1234").await;
    assert_eq!(error_of(res).await["Validation"]["field"], "new_password", "a weak password is refused here too");

    let res = reset(&mut visitor, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    // Both devices are out at once: their access tokens too, not only their refresh tokens.
    assert!(laptop.cookies.contains_key("huddle_access"));
    assert_eq!(laptop.me().await, serde_json::Value::Null);
    assert_eq!(phone.me().await, serde_json::Value::Null);
    socket.expect_closed().await;

    // The link is spent; the old password is gone, the new one works.
    assert_eq!(visitor.call("reset_link", &[]).await.json::<bool>().await.unwrap(), false);
    let again = reset(&mut visitor, "another-fine-password-99", "another-fine-password-99").await;
    assert_eq!(again.status(), StatusCode::GONE);
    let mut someone = app.browser();
    assert_eq!(someone.login("ada", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(someone.login("ada", NEW_PASSWORD).await.status(), StatusCode::OK);

    let changed = smtp.with_subject("Your Huddle password was changed", 1).await;
    assert!(changed[0].header("to").unwrap().contains("ada@example.org"));
}

#[tokio::test]
async fn an_expired_or_replaced_link_changes_nothing() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    app.signed_up("ada").await;
    let mut visitor = app.browser();

    forgot(&mut visitor, "ada@example.org").await;
    let first = smtp.with_subject(RESET, 1).await[0].link("http://").unwrap();
    forgot(&mut visitor, "ada@example.org").await;
    let second = smtp.with_subject(RESET, 2).await[1].link("http://").unwrap();
    assert_ne!(first, second);

    open(&mut visitor, &first).await;
    assert_eq!(visitor.call("reset_link", &[]).await.json::<bool>().await.unwrap(), false, "a newer link voids it");
    assert_eq!(reset(&mut visitor, NEW_PASSWORD, NEW_PASSWORD).await.status(), StatusCode::GONE);

    open(&mut visitor, &second).await;
    app.execute("update account_tokens set expires_at = $1 where used_at is null", &[app::server::now_ms() - 1]).await;
    assert_eq!(reset(&mut visitor, NEW_PASSWORD, NEW_PASSWORD).await.status(), StatusCode::GONE);
    assert_eq!(app.browser().login("ada", STRONG_PASSWORD).await.status(), StatusCode::OK, "the password is unchanged");
}

#[tokio::test]
async fn a_forged_token_or_none_is_an_expired_link() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    let mut visitor = app.browser();
    assert_eq!(reset(&mut visitor, NEW_PASSWORD, NEW_PASSWORD).await.status(), StatusCode::GONE);
    let res = visitor.get("/reset-password/link?token=%3Cscript%3E").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(!visitor.cookies.contains_key("huddle_reset"), "a malformed token is not kept");
    open(&mut visitor, &format!("http://x/reset-password/link?token={}", "A".repeat(43))).await;
    assert_eq!(reset(&mut visitor, NEW_PASSWORD, NEW_PASSWORD).await.status(), StatusCode::GONE);
    let page = visitor.get("/reset-password").await.text().await.unwrap();
    assert!(page.contains("This link has expired or was already used."), "{page}");
}

#[tokio::test]
async fn asking_too_often_is_refused_with_retry_after() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    let mut visitor = app.browser();
    for _ in 0..5 {
        assert_eq!(forgot(&mut visitor, "ada@example.org").await.status(), StatusCode::OK);
    }
    let res = forgot(&mut visitor, "Ada@Example.org").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "per address, whatever its case");
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    // Another address from the same client is still served, up to the client's own limit.
    assert_eq!(forgot(&mut visitor, "bob@example.org").await.status(), StatusCode::OK);
    let mut elsewhere = app.browser_at([127, 0, 0, 2]);
    assert_eq!(forgot(&mut elsewhere, "ada@example.org").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn without_javascript_the_form_answers_with_the_same_page() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp).await;
    app.signed_up("ada").await;
    let mut visitor = app.browser();
    for email in ["ada@example.org", "nobody@example.org"] {
        let res = visitor.form_post("forgot_password", "/forgot-password", &[("email", email)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/forgot-password?sent=1");
    }
    let page = visitor.get("/forgot-password?sent=1").await.text().await.unwrap();
    assert!(page.contains("a link to choose a new password is on its way"), "{page}");
}

/// The relay is down when the mail is first sent; it arrives once the relay is back.
#[tokio::test]
async fn mail_is_retried_until_the_relay_is_back() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(move |c| {
        c.mail.smtp = Some(Transport::smtp(&url).unwrap());
        c.mail.retry = Retry { pauses: vec![Duration::from_millis(300); 20] };
    })
    .await;
    app.signed_up("ada").await;
    let res = forgot(&mut app.browser(), "ada@example.org").await;
    assert_eq!(res.status(), StatusCode::OK, "the answer does not wait for the mail");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let smtp = SmtpCapture::start_on(port);
    smtp.with_subject(RESET, 1).await;
}
