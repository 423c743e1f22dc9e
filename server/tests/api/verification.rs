//! Email verification through a real SMTP server: the link after signing up, a change of
//! address that waits for the new one to be confirmed, and the mode where sign-up reveals no
//! address and sign-in waits for confirmation.

use crate::helpers::{Browser, STRONG_PASSWORD, TestApp, error_of, spawn_app_with};
use crate::smtp::{Captured, SmtpCapture};
use app::server::mail::Transport;
use reqwest::StatusCode;

async fn app_with_mail(smtp: &SmtpCapture, require_verified: bool) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |c| {
        c.mail.smtp = Some(Transport::smtp(&url).unwrap());
        c.require_verified_email = require_verified;
    })
    .await
}

/// The latest mail to `address` with `subject`, waiting for it.
async fn mail_to(smtp: &SmtpCapture, address: &str, subject: &str) -> Captured {
    let started = std::time::Instant::now();
    loop {
        let found = smtp.mails().into_iter().rev().find(|m| {
            m.header("to").is_some_and(|t| t.contains(address)) && m.header("subject").as_deref() == Some(subject)
        });
        if let Some(m) = found {
            return m;
        }
        assert!(started.elapsed().as_secs() < 10, "no mail {subject:?} to {address}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

const CONFIRM: &str = "Confirm your email address for Huddle";

/// Opens a verification link; returns where it sent the browser.
async fn open(b: &mut Browser, link: &str) -> String {
    let path = link.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string())).unwrap();
    let res = b.get(&path).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn signing_up_mails_a_link_that_confirms_the_address_once() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, false).await;
    let mut ada = app.signed_up("ada").await;
    assert_eq!(ada.me().await["email_verified"], false, "an account works before it is confirmed");

    let link = mail_to(&smtp, "ada@example.org", CONFIRM).await.link("http://").unwrap();
    assert!(link.contains("/verify-email/link?token="), "{link}");
    assert_eq!(open(&mut app.browser(), &link).await, "/verify-email?result=done");
    assert_eq!(ada.me().await["email_verified"], true);
    assert_eq!(open(&mut app.browser(), &link).await, "/verify-email?result=expired", "a link works once");

    let page = ada.get("/verify-email?result=done").await.text().await.unwrap();
    assert!(page.contains("Your email address is confirmed."));
    let forged = open(&mut app.browser(), &format!("http://x/verify-email/link?token={}", "A".repeat(43))).await;
    assert_eq!(forged, "/verify-email?result=expired");
}

#[tokio::test]
async fn the_link_can_be_sent_again_a_few_times_an_hour() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, false).await;
    let mut ada = app.signed_up("ada").await;
    for _ in 0..5 {
        assert_eq!(ada.call("resend_verification", &[]).await.status(), StatusCode::OK);
    }
    let res = ada.call("resend_verification", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // Each new link voids the ones before: of the six (one from signing up, five sent again),
    // exactly one works.
    let mails = smtp.wait_for(6).await;
    let mut outcomes = Vec::new();
    for link in mails.iter().filter_map(|m| m.link("http://")) {
        outcomes.push(open(&mut app.browser(), &link).await);
    }
    assert_eq!(outcomes.len(), 6);
    assert_eq!(outcomes.iter().filter(|o| *o == "/verify-email?result=done").count(), 1, "{outcomes:?}");
    assert_eq!(app.browser().call("resend_verification", &[]).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_new_address_replaces_the_old_only_once_it_is_confirmed() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, false).await;
    let mut ada = app.signed_up("ada").await;
    app.signed_up("bob").await;

    let res = ada.call("change_email", &[("email", "ada@new.example"), ("password", "not-my-password-at-all")]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "password");
    let res = ada.call("change_email", &[("email", "BOB@example.org"), ("password", STRONG_PASSWORD)]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "email", "taken (addresses are not secret in this mode)");
    let res = ada.call("change_email", &[("email", "ada@new.example"), ("password", STRONG_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(ada.me().await["email"], "ada@example.org", "nothing changes before the new address is confirmed");

    let link = mail_to(&smtp, "ada@new.example", CONFIRM).await.link("http://").unwrap();
    assert_eq!(open(&mut app.browser(), &link).await, "/verify-email?result=done");
    let me = ada.me().await;
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("ada@new.example"), Some(true)));
    assert_eq!(app.browser().login("ada@new.example", STRONG_PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(app.browser().login("ada@example.org", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn when_addresses_must_be_confirmed_sign_up_reveals_nothing_and_sign_in_waits() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, true).await;
    let mut first = app.browser();
    let new = first.register("ada").await;
    let mut second = app.browser();
    let form = [("name", "Eve"), ("username", "eve"), ("email", "ADA@example.org"), ("password", STRONG_PASSWORD)];
    let taken = second.call("register", &form).await;
    assert_eq!(new.status(), taken.status());
    assert_eq!(new.headers()["location"], "/verify-email?sent=1");
    assert_eq!(new.headers().get("location"), taken.headers().get("location"));
    assert!(first.cookies.is_empty() && second.cookies.is_empty(), "nobody is signed in before confirming");

    // The owner of the address hears of the attempt; the other person learns nothing.
    let warning = mail_to(&smtp, "ada@example.org", "Someone tried to use your address on Huddle").await;
    assert!(warning.text().contains("/forgot-password"));
    let res = second.login("eve", STRONG_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "no account was made for eve");

    // Ada cannot sign in until she confirms; trying mails her a fresh link.
    let res = first.login("ada", STRONG_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(res).await, "EmailUnverified");
    smtp.wait_for(3).await;
    let link = mail_to(&smtp, "ada@example.org", CONFIRM).await.link("http://").unwrap();
    assert_eq!(open(&mut app.browser(), &link).await, "/verify-email?result=done");
    assert_eq!(first.login("ada", STRONG_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_the_address_again_and_again_is_limited() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, false).await;
    let mut ada = app.signed_up("ada").await;
    // Changing the address: a few links an hour, then 429 with nothing mailed.
    for i in 0..5 {
        let res = ada.call("change_email", &[("email", &format!("victim{i}@example.org")), ("password", STRONG_PASSWORD)]).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = ada.call("change_email", &[("email", "victim9@example.org"), ("password", STRONG_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    smtp.with_subject(CONFIRM, 6).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(smtp.mails().iter().all(|m| !m.header("to").unwrap().contains("victim9")));
}

/// Strict mode: signing up again and again with someone's address warns them a few times only.
#[tokio::test]
async fn trying_an_address_again_and_again_warns_its_owner_a_few_times_only() {
    let smtp = SmtpCapture::start();
    let app = app_with_mail(&smtp, true).await;
    app.browser().register("bob").await;
    for i in 0..8 {
        let form = [("name", "Eve"), ("username", &format!("eve{i}") as &str), ("email", "bob@example.org"), ("password", STRONG_PASSWORD)];
        assert_eq!(app.browser().call("register", &form).await.status(), StatusCode::OK);
    }
    let warnings = smtp.with_subject("Someone tried to use your address on Huddle", 5).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(smtp.with_subject("Someone tried to use your address on Huddle", 5).await.len(), warnings.len());
    assert_eq!(warnings.len(), 5);
}
