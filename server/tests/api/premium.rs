//! Premium through a payment order: the demo provider end to end (its checkout, its signed
//! callback and its webhooks over HTTP), forged, replayed and mismatched payments, duplicate
//! deliveries, and the Razorpay client against a local server that answers like its Orders API.

use crate::helpers::{Browser, TestApp, spawn_app, spawn_app_with};
use app::server::premium::signature;
use reqwest::StatusCode;
use std::time::Duration;

const SECRET: &[u8] = b"integration-test-secret-0123456789";

fn demo_key() -> Vec<u8> {
    app::server::signing::tag(SECRET, "demo key", &[], 32)
}

fn demo_webhook_secret() -> Vec<u8> {
    app::server::signing::tag(SECRET, "demo webhook", &[], 32)
}

/// Starts an order as the premium page's button does; the provider's order id.
async fn start_order(b: &mut Browser) -> String {
    let res = b.form_post("go_premium", "/premium", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap().to_string();
    location.strip_prefix("/premium/checkout/").expect("the checkout").to_string()
}

async fn status(b: &mut Browser) -> serde_json::Value {
    let res = b.call("premium_status", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("{name} in {html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

/// Where a post redirected to.
fn location(res: &reqwest::Response) -> &str {
    res.headers()["location"].to_str().unwrap()
}

async fn callback(b: &mut Browser, order: &str, payment: &str, signature: &str) -> reqwest::Response {
    b.post_form("/premium/callback", &[("razorpay_order_id", order), ("razorpay_payment_id", payment), ("razorpay_signature", signature)]).await
}

/// A webhook as the provider sends it, signed with `secret`.
async fn webhook(app: &TestApp, secret: &[u8], event_id: &str, body: &str) -> StatusCode {
    reqwest::Client::new()
        .post(app.url("/payments/webhook"))
        .header("content-type", "application/json")
        .header("x-razorpay-signature", signature::webhook(secret, body.as_bytes()))
        .header("x-razorpay-event-id", event_id)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

fn payment_event(kind: &str, order: &str, payment: &str, amount: i64) -> String {
    serde_json::json!({
        "entity": "event", "event": kind, "contains": ["payment"],
        "payload": { "payment": { "entity": { "id": payment, "order_id": order, "amount": amount, "currency": "EUR", "status": "captured" } } },
    })
    .to_string()
}

async fn wait_for(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not done within 10 s");
}

#[tokio::test]
async fn the_demo_checkout_grants_premium_once_for_its_callback_and_its_webhook() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let before = status(&mut ada).await;
    assert_eq!(before["since"], serde_json::Value::Null);
    assert_eq!(before["price"], app::models::money::money("EUR", 500));
    assert_eq!(before["demo"], true);

    let order = start_order(&mut ada).await;
    let page = ada.get(&format!("/premium/checkout/{order}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("Demo, no money moves.") && page.contains(&app::models::money::money("EUR", 500)), "{page}");

    let approved = ada.post_form(&format!("/premium/checkout/{order}/demo"), &[("choice", "pay")]).await;
    assert_eq!(approved.status(), StatusCode::OK);
    let approved = approved.text().await.unwrap();
    let (payment, signature) = (hidden(&approved, "razorpay_payment_id"), hidden(&approved, "razorpay_signature"));
    assert_eq!(hidden(&approved, "razorpay_order_id"), order);
    assert!(signature::verify_callback(&demo_key(), &order, &payment, &signature), "the demo signs like Razorpay");

    let res = callback(&mut ada, &order, &payment, &signature).await;
    assert_eq!(location(&res), "/premium?result=done");
    let after = status(&mut ada).await;
    let since = after["since"].as_i64().expect("premium now");
    assert_eq!(after["orders"][0]["status"], "Paid");
    assert_eq!(after["orders"][0]["amount"], app::models::money::money("EUR", 500));

    // The demo provider's webhook for the same payment follows over HTTP: recorded, granted no
    // second time; the callback again (a reload) changes nothing either.
    sqlx::any::install_default_drivers();
    wait_for(async || {
        let mut db = sqlx::AnyConnection::connect(&app.database.url).await.unwrap();
        sqlx::query_scalar::<_, i64>("select count(*) from payment_events").fetch_one(&mut db).await.unwrap() == 1
    })
    .await;
    let res = callback(&mut ada, &order, &payment, &signature).await;
    assert_eq!(location(&res), "/premium?result=done");
    let again = status(&mut ada).await;
    assert_eq!(again["since"].as_i64(), Some(since));
    assert_eq!(again["orders"].as_array().unwrap().len(), 1);

    // Premium now: no second order, and no way back from paid.
    assert_eq!(ada.form_post("go_premium", "/premium", &[]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&mut ada).await["orders"].as_array().unwrap().len(), 1);
    let failed = payment_event("payment.failed", &order, "pay_other", 500);
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_late_failure", &failed).await, StatusCode::OK);
    assert_eq!(status(&mut ada).await["orders"][0]["status"], "Paid");
}

use sqlx::Connection;

#[tokio::test]
async fn a_forged_callback_changes_nothing_a_replayed_payment_fails_and_nobody_pays_twice() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let mut bob = app.signed_up("bob").await;

    // A forged signature, posted by someone else who knows the order's id (the callback needs
    // no session): refused, nothing granted, and the order is left as it was, so the real
    // payment can still pay it.
    let forged = start_order(&mut ada).await;
    let res = callback(&mut bob, &forged, "pay_made_up", &"0".repeat(64)).await;
    assert_eq!(location(&res), "/premium?result=failed");
    let s = status(&mut ada).await;
    assert_eq!(s["since"], serde_json::Value::Null);
    assert_eq!(s["orders"][0]["status"], "Created");
    // Signed with another key (one the attacker made up): refused too.
    let other_key = signature::callback(b"not the key", &forged, "pay_x");
    assert_eq!(location(&callback(&mut ada, &forged, "pay_x", &other_key).await), "/premium?result=failed");
    assert_eq!(status(&mut ada).await["orders"][0]["status"], "Created");
    // The checkout still takes Ada's payment; an order she opened before she was premium
    // now takes nothing.
    let earlier = start_order(&mut ada).await;
    let approved = ada.post_form(&format!("/premium/checkout/{forged}/demo"), &[("choice", "pay")]).await.text().await.unwrap();
    let (payment, sig) = (hidden(&approved, "razorpay_payment_id"), hidden(&approved, "razorpay_signature"));
    assert_eq!(location(&callback(&mut ada, &forged, &payment, &sig).await), "/premium?result=done");
    assert_eq!(location(&ada.get(&format!("/premium/checkout/{earlier}")).await), "/premium?result=already");
    let twice = ada.post_form(&format!("/premium/checkout/{earlier}/demo"), &[("choice", "pay")]).await;
    assert_eq!(location(&twice), "/premium?result=already");

    // Bob replays Ada's payment onto his own order.
    let paid = forged;
    let bobs = start_order(&mut bob).await;
    assert_eq!(location(&callback(&mut bob, &bobs, &payment, &sig).await), "/premium?result=failed");
    // Even a valid signature of (his order, her payment) would not do: a payment pays one order.
    let resigned = signature::callback(&demo_key(), &bobs, &payment);
    assert_eq!(location(&callback(&mut bob, &bobs, &payment, &resigned).await), "/premium?result=failed");
    let s = status(&mut bob).await;
    assert_eq!(s["since"], serde_json::Value::Null);
    assert_eq!(s["orders"][0]["status"], "Failed");

    // Another user's checkout does not exist for Bob; signed out, it asks to sign in.
    assert_eq!(bob.get(&format!("/premium/checkout/{paid}")).await.status(), StatusCode::NOT_FOUND);
    let choice = bob.post_form(&format!("/premium/checkout/{paid}/demo"), &[("choice", "pay")]).await;
    assert_eq!(choice.status(), StatusCode::NOT_FOUND);
    let res = app.browser().get(&format!("/premium/checkout/{bobs}")).await;
    assert!(location(&res).starts_with("/login"), "{:?}", res.headers());
    // An unknown order, an empty post: failed, never a 500.
    assert_eq!(location(&callback(&mut bob, "order_unknown", "pay_x", "00").await), "/premium?result=failed");
    assert_eq!(location(&bob.post_form("/premium/callback", &[]).await), "/premium?result=failed");
}

#[tokio::test]
async fn webhooks_are_verified_counted_once_and_checked_against_the_order() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let order = start_order(&mut ada).await;

    // Wrong secret, no signature, a body that is not an event: 400, nothing changes.
    let body = payment_event("payment.captured", &order, "pay_1", 500);
    assert_eq!(webhook(&app, b"wrong secret", "evt_1", &body).await, StatusCode::BAD_REQUEST);
    let unsigned = reqwest::Client::new().post(app.url("/payments/webhook")).body(body.clone()).send().await.unwrap();
    assert_eq!(unsigned.status(), StatusCode::BAD_REQUEST);
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_x", "not json").await, StatusCode::BAD_REQUEST);
    assert_eq!(status(&mut ada).await["since"], serde_json::Value::Null);

    // The amount paid differs from the order's: refused, the order failed.
    let short = payment_event("payment.captured", &order, "pay_1", 499);
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_2", &short).await, StatusCode::OK);
    let s = status(&mut ada).await;
    assert_eq!(s["since"], serde_json::Value::Null);
    assert!(s["orders"][0]["failure"].as_str().unwrap().contains("amount"));

    // The right amount: granted (a verified payment pays a failed order); delivered twice, and
    // then once more under another event id, it is counted once.
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_3", &body).await, StatusCode::OK);
    let since = status(&mut ada).await["since"].as_i64().expect("premium");
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_3", &body).await, StatusCode::OK);
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_4", &body).await, StatusCode::OK);
    let s = status(&mut ada).await;
    assert_eq!(s["since"].as_i64(), Some(since));
    assert_eq!(s["orders"][0]["status"], "Paid");

    // Events for orders this server does not have are acknowledged and ignored.
    let stranger = payment_event("payment.captured", "order_elsewhere", "pay_9", 500);
    assert_eq!(webhook(&app, &demo_webhook_secret(), "evt_5", &stranger).await, StatusCode::OK);
}

#[tokio::test]
async fn a_pending_demo_payment_grants_premium_when_its_webhook_arrives_and_a_declined_one_never() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    let declined = start_order(&mut ada).await;
    let res = ada.post_form(&format!("/premium/checkout/{declined}/demo"), &[("choice", "decline")]).await;
    assert_eq!(location(&res), "/premium?result=declined");
    let s = status(&mut ada).await;
    assert_eq!((s["orders"][0]["status"].as_str(), s["since"].as_i64()), (Some("Failed"), None));
    // The buttons of a failed order do nothing more.
    let res = ada.post_form(&format!("/premium/checkout/{declined}/demo"), &[("choice", "pay")]).await;
    assert_eq!(location(&res), "/premium?result=failed");

    let pending = start_order(&mut ada).await;
    let res = ada.post_form(&format!("/premium/checkout/{pending}/demo"), &[("choice", "pending")]).await;
    assert_eq!(location(&res), "/premium?result=pending");
    assert_eq!(status(&mut ada).await["since"], serde_json::Value::Null, "not before the provider confirms");
    wait_for(async || status(&mut ada).await["since"].is_i64()).await;
    assert_eq!(status(&mut ada).await["orders"][0]["status"], "Paid");
}

#[tokio::test]
async fn orders_are_limited_per_user_and_not_sold_when_payments_are_off() {
    let app = spawn_app().await;
    let mut ada = app.signed_up("ada").await;
    for _ in 0..app::server::premium::ORDERS_PER_HOUR {
        start_order(&mut ada).await;
    }
    let res = ada.call("go_premium", &[]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    drop(app);

    let app = spawn_app_with(|c| c.payments = app::server::premium::ProviderConfig::Off).await;
    let mut ada = app.signed_up("ada").await;
    assert_eq!(status(&mut ada).await["price"], serde_json::Value::Null);
    assert_eq!(ada.call("go_premium", &[]).await.status(), StatusCode::FORBIDDEN);
}

/// A local server that answers like Razorpay's Orders API for one key; it records what it got.
async fn orders_api(amount_answered: Option<i64>) -> (String, tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>) {
    use axum::http::HeaderMap;
    use axum::{Json, Router, routing::post};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let handler = move |headers: HeaderMap, Json(body): Json<serde_json::Value>| {
        let tx = tx.clone();
        async move {
            use base64::Engine;
            let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("rzp_test_key:rzp_test_secret"));
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
                let error = serde_json::json!({ "error": { "code": "BAD_REQUEST_ERROR", "description": "Authentication failed" } });
                return (axum::http::StatusCode::UNAUTHORIZED, Json(error));
            }
            let _ = tx.send(body.clone());
            let amount = amount_answered.unwrap_or_else(|| body["amount"].as_i64().unwrap());
            let order = serde_json::json!({
                "id": "order_IluGWxBm9U8zJ8", "entity": "order", "amount": amount, "amount_paid": 0, "amount_due": amount,
                "currency": body["currency"], "receipt": body["receipt"], "status": "created", "attempts": 0, "notes": [], "created_at": 1642662092,
            });
            (axum::http::StatusCode::OK, Json(order))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/v1/orders", post(handler))).await });
    (url, rx)
}

fn razorpay(api_url: String, key_secret: &str) -> app::server::premium::ProviderConfig {
    app::server::premium::ProviderConfig::Razorpay(app::server::premium::razorpay::Keys {
        key_id: "rzp_test_key".into(),
        key_secret: key_secret.into(),
        webhook_secret: "rzp_webhook_secret".into(),
        api_url,
    })
}

#[tokio::test]
async fn razorpay_orders_are_created_over_its_api_and_paid_through_its_signed_callback() {
    let (api, mut seen) = orders_api(None).await;
    let app = spawn_app_with(|c| {
        c.payments = razorpay(api, "rzp_test_secret");
        c.premium_price = app::server::premium::Price { amount: 49_900, currency: app::models::money::Currency::find("INR").unwrap() };
    })
    .await;
    let mut ada = app.signed_up("ada").await;
    let order = start_order(&mut ada).await;
    assert_eq!(order, "order_IluGWxBm9U8zJ8");
    let asked = seen.recv().await.unwrap();
    assert_eq!((asked["amount"].as_i64(), asked["currency"].as_str()), (Some(49_900), Some("INR")), "the configured price, never the browser's");

    // Its checkout page loads Razorpay's script, which only this page's policy allows.
    let page = ada.get(&format!("/premium/checkout/{order}")).await;
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("https://checkout.razorpay.com") && policy.contains("'nonce-"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(html.contains("checkout.razorpay.com/v1/checkout.js") && html.contains("\"key\":\"rzp_test_key\""), "{html}");
    assert!(!html.contains("rzp_test_secret"));
    let profile_policy = ada.get("/profile").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(!profile_policy.contains("razorpay"), "{profile_policy}");

    // Razorpay's checkout posts from its own origin: the callback takes it, by its signature.
    let sig = signature::callback(b"rzp_test_secret", &order, "pay_29QQoUBi66xm2f");
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/premium/callback"))
        .header("origin", "https://api.razorpay.com")
        .form(&[("razorpay_order_id", order.as_str()), ("razorpay_payment_id", "pay_29QQoUBi66xm2f"), ("razorpay_signature", &sig)])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/premium?result=done");
    assert!(status(&mut ada).await["since"].is_i64());

    // Its webhook for the same payment, signed with the webhook secret: counted once.
    let mut body = payment_event("order.paid", &order, "pay_29QQoUBi66xm2f", 49_900);
    body = body.replace("\"EUR\"", "\"INR\"");
    assert_eq!(webhook(&app, b"rzp_webhook_secret", "evt_rzp_1", &body).await, StatusCode::OK);
    assert_eq!(status(&mut ada).await["orders"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_or_unexpected_orders_api_answer_creates_no_order() {
    let (api, _seen) = orders_api(None).await;
    let app = spawn_app_with(|c| c.payments = razorpay(api, "a_wrong_secret")).await;
    let mut ada = app.signed_up("ada").await;
    let res = ada.call("go_premium", &[]).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = res.text().await.unwrap();
    assert!(!text.contains("Authentication failed") && !text.contains("a_wrong_secret"), "nothing internal leaks: {text}");
    assert_eq!(status(&mut ada).await["orders"].as_array().unwrap().len(), 0);
    drop(app);

    // An order for another amount than asked is not one to sell premium with.
    let (api, _seen) = orders_api(Some(1)).await;
    let app = spawn_app_with(|c| c.payments = razorpay(api, "rzp_test_secret")).await;
    let mut ada = app.signed_up("ada").await;
    assert_eq!(ada.call("go_premium", &[]).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(status(&mut ada).await["orders"].as_array().unwrap().len(), 0);
}
