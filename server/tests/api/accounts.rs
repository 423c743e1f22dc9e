//! Registering, logging in and out, throttling, the sessions list, the profile.

use crate::helpers::{STRONG_PASSWORD, error_of, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn registering_signs_the_new_user_in() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;

    let me = ada.me().await;
    assert_eq!(me["username"], "ada");
    assert_eq!(me["name"], "Ada Lovelace");
    assert!(me.get("password_hash").is_none());
    let page = ada.get("/").await.text().await.unwrap();
    assert!(page.contains("Welcome back, Ada Lovelace"));
}

#[tokio::test]
async fn a_taken_username_or_email_is_a_field_error_whatever_its_case() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    let mut other = app.browser();
    let form = [("name", "A"), ("username", "ADA"), ("email", "new@example.org"), ("password", STRONG_PASSWORD)];
    let res = other.call("register", &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(res).await["Validation"]["field"], "username");

    let form = [("name", "A"), ("username", "ada2"), ("email", "ADA@example.org"), ("password", STRONG_PASSWORD)];
    let res = other.call("register", &form).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error_of(res).await["Validation"]["field"], "email");
    assert!(other.cookies.is_empty());
}

#[tokio::test]
async fn bad_registration_fields_are_named_and_nothing_is_stored() {
    let app = spawn_app().await;
    let mut b = app.browser();
    let cases = [
        (("x", "ada", "ada@example.org", STRONG_PASSWORD), "username"),
        (("Ada", "ada", "not-an-email", STRONG_PASSWORD), "email"),
        (("Ada", "ada", "ada@example.org", "short"), "password"),
        (("Ada", "ada", "ada@example.org", "password1234"), "password"),
        (("   ", "ada", "ada@example.org", STRONG_PASSWORD), "name"),
    ];
    for ((name, username, email, password), field) in cases {
        let username = if field == "username" { name } else { username };
        let name = if field == "username" { "Ada" } else { name };
        let form = [("name", name), ("username", username), ("email", email), ("password", password)];
        let res = b.call("register", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(error_of(res).await["Validation"]["field"], field);
    }
    assert_eq!(b.login("ada", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_user_logs_in_by_username_or_by_email() {
    let app = spawn_app().await;
    app.signed_up("ada").await;

    for login in ["ada", "ADA", "ada@example.org", "Ada@Example.org"] {
        let mut b = app.browser();
        let res = b.login(login, STRONG_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "{login}");
        assert_eq!(b.me().await["username"], "ada");
    }
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let mut b = app.browser();

    let wrong = b.login("ada", "not-the-password-at-all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = error_of(wrong).await;
    let unknown = b.login("nobody", "not-the-password-at-all").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(unknown).await, wrong);
    assert_eq!(wrong, json!("InvalidCredentials"));
    assert_eq!(b.me().await, json!(null));
}

#[tokio::test]
async fn the_sixth_failure_in_a_minute_is_throttled_with_retry_after() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let mut b = app.browser();
    for _ in 0..5 {
        assert_eq!(b.login("ada", "not-the-password-at-all").await.status(), StatusCode::UNAUTHORIZED);
    }

    // Even the right password is refused now: it is not checked at all.
    let res = b.login("ada", STRONG_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(error_of(res).await["RateLimited"]["retry_after_secs"].as_u64().is_some());
    assert!(b.cookies.is_empty());
}

#[tokio::test]
async fn failures_from_elsewhere_slow_an_account_down_but_never_lock_its_owner_out() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    // An attacker guesses from five addresses, naming the account by username and by email.
    for i in 0..5u8 {
        let login = if i % 2 == 0 { "ada" } else { "ADA@example.org" };
        let mut b = app.browser_at([127, 0, 1, i + 1]);
        assert_eq!(b.login(login, "not-the-password-at-all").await.status(), StatusCode::UNAUTHORIZED);
    }
    // Ada, from her own address, still gets in: after a short wait, counted per account.
    let mut ada = app.browser_at([127, 0, 1, 99]);
    let started = std::time::Instant::now();
    assert_eq!(ada.login("ada", STRONG_PASSWORD).await.status(), StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(250), "failures elsewhere slow the account down");
    // The addresses that guessed are throttled per (account, address) only after five each.
    let mut guesser = app.browser_at([127, 0, 1, 1]);
    assert_eq!(guesser.login("ada", "still-not-it-at-all").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failures_count_per_client_address_across_accounts() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let mut b = app.browser_at([127, 0, 2, 1]);
    for i in 0..20 {
        let res = b.login(&format!("nobody{i}"), "not-the-password-at-all").await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(b.login("ada", STRONG_PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let mut elsewhere = app.browser_at([127, 0, 2, 2]);
    assert_eq!(elsewhere.login("ada", STRONG_PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn sign_ups_are_limited_per_address() {
    let app = crate::helpers::spawn_app_with(|c| c.signups_per_hour = 3).await;
    for i in 0..3 {
        let res = app.browser_at([127, 0, 3, 1]).register(&format!("user{i}")).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = app.browser_at([127, 0, 3, 1]).register("user3").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // A form refused for its content costs nothing; another address has its own budget.
    assert_eq!(app.browser_at([127, 0, 3, 2]).register("x").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.browser_at([127, 0, 3, 2]).register("user4").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_count_the_client_it_forwards_for() {
    let app = crate::helpers::spawn_app_with(|c| {
        c.signups_per_hour = 2;
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    for i in 0..2 {
        assert_eq!(app.browser_forwarded_for("203.0.113.5").register(&format!("user{i}")).await.status(), StatusCode::OK);
    }
    assert_eq!(app.browser_forwarded_for("203.0.113.5").register("user2").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy has its own budget; so does the proxy itself.
    assert_eq!(app.browser_forwarded_for("203.0.113.6").register("user3").await.status(), StatusCode::OK);
    assert_eq!(app.browser().register("user4").await.status(), StatusCode::OK);
    // What a client writes left of the proxy's hop changes nothing.
    assert_eq!(app.browser_forwarded_for("198.51.100.1, 203.0.113.5").register("user5").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    let app = crate::helpers::spawn_app_with(|c| c.signups_per_hour = 1).await;
    assert_eq!(app.browser_forwarded_for("203.0.113.7").register("user1").await.status(), StatusCode::OK);
    // A client cannot buy itself a new budget by claiming to be someone else: both count as
    // 127.0.0.1, which connected.
    assert_eq!(app.browser_forwarded_for("203.0.113.8").register("user2").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn logging_out_ends_this_login_for_good() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let refresh = ada.refresh_token();

    assert_eq!(ada.call("logout", &[]).await.status(), StatusCode::OK);
    assert!(ada.cookies.is_empty());
    assert_eq!(ada.me().await, json!(null));

    // The old refresh token, replayed, no longer signs anyone in.
    ada.cookies.insert("huddle_refresh".into(), refresh);
    assert_eq!(ada.me().await, json!(null));
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_login() {
    let app = spawn_app().await;
    let mut laptop = app.signed_up("ada").await;
    let mut phone = app.browser();
    phone.login("ada", STRONG_PASSWORD).await;

    assert_eq!(laptop.call("logout_everywhere", &[]).await.status(), StatusCode::OK);

    phone.expire_access();
    assert_eq!(phone.me().await, json!(null));
    assert_eq!(laptop.me().await, json!(null));
}

#[tokio::test]
async fn the_sessions_list_shows_each_login_and_revokes_another() {
    let app = spawn_app().await;
    let mut laptop = app.signed_up("ada").await;
    let mut phone = app.browser();
    phone.user_agent = "Mozilla/5.0 (iPhone) Safari/604.1".into();
    phone.login("ada", STRONG_PASSWORD).await;

    let list: serde_json::Value = laptop.call("sessions", &[]).await.json().await.unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let current: Vec<_> = list.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert!(other["user_agent"].as_str().unwrap().contains("iPhone"));

    let id = other["id"].to_string();
    assert_eq!(laptop.call("revoke_session", &[("id", &id)]).await.status(), StatusCode::OK);
    phone.expire_access();
    assert_eq!(phone.me().await, json!(null));
    let list: serde_json::Value = laptop.call("sessions", &[]).await.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Another user's login is "not found", like a missing one.
    let mut bob = app.signed_up("bob").await;
    let res = bob.call("revoke_session", &[("id", &list[0]["id"].to_string())]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(laptop.me().await["username"], "ada");
}

#[tokio::test]
async fn pages_and_functions_for_members_refuse_visitors() {
    let app = spawn_app().await;
    let mut visitor = app.browser();
    assert_eq!(visitor.call("sessions", &[]).await.status(), StatusCode::UNAUTHORIZED);
    let res = visitor.get("/profile").await;
    assert_eq!(res.status(), StatusCode::FOUND);
    // To the login page, which brings them back here once signed in.
    assert_eq!(res.headers()["location"], "/login?next=%2Fprofile");
}

#[tokio::test]
async fn changing_the_password_keeps_this_login_and_ends_the_others() {
    let app = spawn_app().await;
    let mut laptop = app.signed_up("ada").await;
    let mut phone = app.browser();
    phone.login("ada", STRONG_PASSWORD).await;
    let new = "quartz-lantern-meadow-77";

    let res = laptop.call("change_password", &[("current_password", "wrong-wrong-wrong"), ("new_password", new)]).await;
    assert_eq!(error_of(res).await["Validation"]["field"], "current_password");
    let res = laptop.call("change_password", &[("current_password", STRONG_PASSWORD), ("new_password", new)]).await;
    assert_eq!(res.status(), StatusCode::OK);

    laptop.expire_access();
    assert_eq!(laptop.me().await["username"], "ada");
    phone.expire_access();
    assert_eq!(phone.me().await, json!(null));
    let mut b = app.browser();
    assert_eq!(b.login("ada", STRONG_PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(b.login("ada", new).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_profile_name_can_be_changed_but_not_emptied() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let res = ada.call("update_profile", &[("name", "   ")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(ada.call("update_profile", &[("name", "Augusta Ada King")]).await.status(), StatusCode::OK);
    assert_eq!(ada.me().await["name"], "Augusta Ada King");
}

#[tokio::test]
async fn a_form_post_without_javascript_is_answered_with_303_and_cookies() {
    let app = spawn_app().await;
    app.signed_up("ada").await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let res = client
        .post(app.url("/api/login"))
        .header("accept", "text/html,application/xhtml+xml")
        .header("origin", app.url(""))
        .header("referer", app.url("/login"))
        .form(&[("login", "ada"), ("password", STRONG_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/");
    // The token pair, and the account's theme for the pages this browser renders next.
    let cookies: Vec<&str> = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    assert!(cookies.iter().any(|c| c.starts_with("huddle_theme=system;")), "{cookies:?}");

    let res = client
        .post(app.url("/api/login"))
        .header("accept", "text/html")
        .header("origin", app.url(""))
        .header("referer", app.url("/login"))
        .form(&[("login", "ada"), ("password", "wrong-password-here")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = res.headers()["location"].to_str().unwrap();
    assert!(back.starts_with(&app.url("/login?")) && back.contains("__err="), "{back}");
    // What was typed comes back beside the error, except the password.
    assert!(back.contains("f.login=ada") && !back.contains("wrong-password"), "{back}");
}

#[tokio::test]
async fn names_must_show_and_read_the_right_way_round() {
    let app = spawn_app().await;
    let mut b = app.browser();
    for name in ["\u{202E}nimda", "\u{200B}", "\u{3164}", "Ada\u{0}"] {
        let form = [("name", name), ("username", "ada"), ("email", "ada@example.org"), ("password", STRONG_PASSWORD)];
        let res = b.call("register", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert_eq!(error_of(res).await["Validation"]["field"], "name");
    }
    let mut ada = app.signed_up("ada").await;
    assert_eq!(ada.call("update_profile", &[("name", "👩\u{200D}💻 Ada")]).await.status(), StatusCode::OK);
    let res = ada.call("create_room", &[("name", "\u{2066}\u{2069}"), ("topic", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
