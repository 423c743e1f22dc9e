//! Access-token renewal, refresh rotation and reuse detection.

use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test]
async fn an_expired_access_token_is_renewed_and_the_refresh_token_rotated() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let first = ada.refresh_token();

    ada.expire_access();
    assert_eq!(ada.me().await["username"], "ada");

    assert!(ada.cookies.contains_key("huddle_access"));
    assert_ne!(ada.refresh_token(), first);
}

#[tokio::test]
async fn a_page_load_renews_the_session_too() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    ada.expire_access();

    let res = ada.get("/profile").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers().get_all("set-cookie").iter().count(), 2);
    assert!(res.text().await.unwrap().contains("ada@example.org"));
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_login() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let stolen = ada.refresh_token();
    ada.expire_access();
    ada.me().await; // rotates: `stolen` is now retired
    let current = ada.refresh_token();

    // Past the grace for concurrent requests, the thief replays the retired token.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let mut thief = app.browser();
    thief.cookies.insert("huddle_refresh".into(), stolen);
    assert_eq!(thief.me().await, json!(null));
    assert!(thief.cookies.is_empty(), "the thief's cookies are cleared");

    // The legitimate holder's newer token belongs to the revoked login too.
    ada.expire_access();
    assert_eq!(ada.refresh_token(), current);
    assert_eq!(ada.me().await, json!(null));
}

#[tokio::test]
async fn concurrent_requests_with_one_expired_token_all_stay_signed_in() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    ada.expire_access();
    let mut twin = app.browser();
    twin.cookies = ada.cookies.clone();

    assert_eq!(ada.me().await["username"], "ada");
    assert_eq!(twin.me().await["username"], "ada");
    // And the rotated token still works afterwards: no family was revoked.
    ada.expire_access();
    assert_eq!(ada.me().await["username"], "ada");
}

#[tokio::test]
async fn a_forged_or_garbage_token_signs_nobody_in() {
    let app = spawn_app().await;
    let mut b = app.browser();
    b.cookies.insert("huddle_access".into(), "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.".into());
    b.cookies.insert("huddle_refresh".into(), "garbage".into());
    assert_eq!(b.me().await, json!(null));
}
