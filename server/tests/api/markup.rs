//! Text from users and from URLs never becomes markup, and a URL cannot write on a page: kept
//! form input and error messages come back only as this server signed them.

use crate::chat::{create_room, room_view};
use crate::helpers::{Browser, TestApp, spawn_app};
use reqwest::StatusCode;

/// Closes a textarea, refreshes the page to another site, and plants an element.
const PAYLOAD: &str = r#"</textarea><meta http-equiv="refresh" content="0;url=//e.x/"><b id="INJ">x</b>"#;

/// The page without its scripts (serialized data for hydration lives there, as inert JSON).
fn markup_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        out.push_str(&rest[..start]);
        rest = rest[start..].find("</script>").map_or("", |end| &rest[start + end + 9..]);
    }
    out.push_str(rest);
    out
}

fn assert_inert(html: &str, context: &str) {
    let markup = markup_of(html);
    if let Some(at) = markup.find("<meta http-equiv=\"refresh\"") {
        panic!("{context}: a live refresh in the page: …{}…", &markup[at.saturating_sub(300)..(at + 50).min(markup.len())]);
    }
    if let Some(at) = markup.find("<b id=\"INJ\"") {
        panic!("{context}: a planted element in the page: …{}…", &markup[at.saturating_sub(300)..(at + 50).min(markup.len())]);
    }
}

async fn page(b: &mut Browser, app: &TestApp, location: &str) -> String {
    let res = b.get(location.trim_start_matches(&app.url(""))).await;
    assert_eq!(res.status(), StatusCode::OK, "{location}");
    res.text().await.unwrap()
}

/// Posts a form the way a browser without JavaScript does; it must be refused and sent back to
/// `from` with what was typed. Returns the page it was sent back to.
async fn refused_and_back(b: &mut Browser, app: &TestApp, endpoint: &str, from: &str, form: &[(&str, &str)]) -> String {
    let res = b.form_post(endpoint, from, form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{endpoint}");
    let back = res.headers()["location"].to_str().unwrap().to_string();
    assert!(back.contains("__err=") && back.contains("__sig="), "{endpoint}: {back}");
    page(b, app, &back).await
}

#[tokio::test]
async fn markup_typed_into_any_kept_field_comes_back_as_text() {
    let app = spawn_app().await;
    let mut anon = app.browser();
    let html = refused_and_back(&mut anon, &app, "login", "/login", &[("login", PAYLOAD), ("password", "x")]).await;
    assert_inert(&html, "login");
    let bad_register = [("name", PAYLOAD), ("username", "x"), ("email", PAYLOAD), ("password", "x")];
    assert_inert(&refused_and_back(&mut anon, &app, "register", "/register", &bad_register).await, "register");

    let mut ada = app.signed_up("ada").await;
    let room = create_room(&mut ada, "Team").await;
    let r = room.to_string();
    let long_name = "x".repeat(41);
    let cases: Vec<(&str, String, Vec<(&str, &str)>)> = vec![
        ("add_expense", "/expenses".into(), vec![("amount", "nope"), ("description", PAYLOAD), ("note", PAYLOAD), ("category_id", "1"), ("spent_on", "2026-01-01")]),
        ("post_message", format!("/chat/{room}"), vec![("room", &r), ("body", "\u{0}"), ("client_id", PAYLOAD)]),
        ("create_room", "/chat".into(), vec![("name", ""), ("topic", PAYLOAD)]),
        ("start_direct", "/chat".into(), vec![("username", PAYLOAD)]),
        ("join_room", "/chat".into(), vec![("room", PAYLOAD)]),
        ("create_category", "/categories".into(), vec![("name", &long_name)]),
        ("update_profile", "/profile".into(), vec![("name", "")]),
    ];
    for (endpoint, from, form) in cases {
        let html = refused_and_back(&mut ada, &app, endpoint, &from, &form).await;
        assert_inert(&html, endpoint);
    }
    // The chat box shows the refused text, escaped: the browser decodes it back to the text.
    let html = refused_and_back(&mut ada, &app, "post_message", &format!("/chat/{room}"), &[("room", &r), ("body", &format!("{PAYLOAD}\u{1b}"))]).await;
    assert!(markup_of(&html).contains("&lt;/textarea&gt;&lt;meta"), "the kept body is escaped inside the textarea");
}

#[tokio::test]
async fn markup_stored_in_any_text_field_is_shown_as_text() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    assert_eq!(ada.call("update_profile", &[("name", PAYLOAD)]).await.status(), StatusCode::OK);
    let room = create_room(&mut ada, PAYLOAD).await;
    ada.call("rename_room", &[("room", &room.to_string()), ("name", PAYLOAD), ("topic", PAYLOAD)]).await;
    assert_eq!(room_view(&mut ada, room).await["topic"], PAYLOAD);
    ada.call("post_message", &[("room", &room.to_string()), ("body", PAYLOAD)]).await;
    let res = ada.call("create_category", &[("name", &PAYLOAD[..40])]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let choices: serde_json::Value = ada.call("form_choices", &[]).await.json().await.unwrap();
    let category = choices["categories"][0]["id"].to_string();
    let form = [("amount", "12"), ("description", PAYLOAD), ("note", PAYLOAD), ("category_id", category.as_str()), ("spent_on", "2026-01-01")];
    let res = ada.call("add_expense", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let expense: i64 = res.json().await.unwrap();
    for path in ["/", "/profile", "/chat", &format!("/chat/{room}"), "/expenses", &format!("/expenses/{expense}"), "/categories", "/reports", "/budgets"] {
        let html = page(&mut ada, &app, path).await;
        assert!(html.contains("x&lt;/b&gt;"), "{path} shows the text");
        assert_inert(&html, path);
    }
}

#[tokio::test]
async fn a_crafted_link_cannot_write_an_error_or_fill_a_form() {
    let app = spawn_app().await;
    let mut b = app.browser();
    // An error message of the attacker's choosing, and a password to submit.
    let lie = r#"{"Validation":{"field":"login","message":"Your account is locked: call +1 555 0100"}}"#;
    let err = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, lie);
    for query in [format!("__path=/api/login&__err={err}"), "f.password=hunter2-attacker&f.login=eve".to_string()] {
        let res = b.get(&format!("/login?next=%2Fchat&{query}")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(res.headers()["location"], "/login?next=%2Fchat", "only what the page itself takes is kept");
    }
    // Signed parameters from another page, or tampered with, are refused too.
    let res = b.form_post("login", "/login", &[("login", "ada"), ("password", "wrong-password-here")]).await;
    let back = res.headers()["location"].to_str().unwrap().trim_start_matches(&app.url("")).to_string();
    let elsewhere = back.replacen("/login", "/register", 1);
    assert_eq!(b.get(&elsewhere).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get(&back.replace("f.login=ada", "f.login=eve")).await.status(), StatusCode::SEE_OTHER);
    // The genuine one shows the server's own error and the login typed, never a password.
    let html = page(&mut b, &app, &back).await;
    assert!(html.contains("Wrong username, email or password."));
    assert!(!html.contains("wrong-password-here"));
    let html = page(&mut b, &app, "/login").await;
    assert!(!html.contains("hunter2"));
}
