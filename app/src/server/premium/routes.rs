//! The HTTP side of payments: the checkout pages, the demo provider's buttons, the checkout's
//! callback and the provider's webhook. Plain HTML forms: they work without JavaScript (the
//! Razorpay checkout itself needs it).

use super::demo::Choice;
use super::{CALLBACK_PATH, CallbackForm, DEMO_PENDING_DELAY, Outcome, WebhookAnswer};
use crate::models::AppError;
use crate::models::money::money;
use crate::server::AppState;
use crate::server::auth::CurrentSession;
use crate::server::db::{self, payments::{OrderRow, Status}};
use crate::server::mail::escape_html;
use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use std::time::Duration;

/// Back to the premium page, which says how buying went (`?result=done|pending|declined|failed|error`).
fn back_to_premium(result: &str) -> Response {
    Redirect::to(&format!("/premium?result={result}")).into_response()
}

/// The unpaid order `id` of the signed-in user, still to be paid, or the answer to send instead:
/// a paid or failed order goes back to the premium page, and so does any order of an account
/// that is premium already (a checkout opened before it became premium must not take money
/// twice).
async fn payable(state: &AppState, session: Option<Extension<CurrentSession>>, id: &str) -> Result<OrderRow, Response> {
    let Some(Extension(session)) = session else {
        return Err(Redirect::to(&format!("/login?next={}", super::checkout_path(id))).into_response());
    };
    let internal = |e: AppError| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
    let order = super::own_order(&state.db, session.user_id, id).await.map_err(|e| match e {
        AppError::NotFound => (StatusCode::NOT_FOUND, "Not found.").into_response(),
        other => internal(other),
    })?;
    match order.status() {
        Status::Paid => return Err(back_to_premium("done")),
        Status::Failed => return Err(back_to_premium("failed")),
        Status::Created => {}
    }
    let user = db::users::by_id(&state.db, session.user_id).await.map_err(|e| internal(e.into()))?;
    if user.is_some_and(|u| u.premium_since.is_some()) {
        return Err(back_to_premium("already"));
    }
    Ok(order)
}

/// `GET /premium/checkout/{order}`: the provider's checkout for an order of the signed-in user.
pub async fn checkout(
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    nonce: Option<Extension<crate::CspNonce>>,
    Path(id): Path<String>,
) -> Response {
    let order = match payable(&state, session, &id).await {
        Ok(order) => order,
        Err(res) => return res,
    };
    let price = money(&order.currency, order.amount);
    let css = format!("/pkg/{}.css", state.leptos_options.output_name);
    match (order.provider.as_str(), state.payments.razorpay_key_id()) {
        (super::RAZORPAY, Some(key_id)) => {
            let nonce = nonce.map(|n| n.0 .0).unwrap_or_default();
            razorpay_page(&css, key_id, &order, &price, &state.recovery.base_url, &nonce)
        }
        (super::DEMO, _) if state.payments.provider_name() == Some(super::DEMO) => demo_page(&css, &order, &price),
        // An order of a provider this server no longer uses.
        _ => back_to_premium("failed"),
    }
}

fn document(css: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{css}\"></head><body><main class=\"page narrow\">{body}</main></body></html>",
        title = escape_html(title),
        css = escape_html(css),
    )
}

fn demo_page(css: &str, order: &OrderRow, price: &str) -> Response {
    let (price, id) = (escape_html(price), escape_html(&order.provider_order_id));
    let body = format!(
        "<h1>Demo checkout</h1>\
         <p class=\"notice\" data-testid=\"demo-label\"><strong>Demo, no money moves.</strong> This page stands in for a payment provider's checkout.</p>\
         <dl class=\"facts\"><dt>Item</dt><dd>Huddle premium</dd><dt>Amount</dt><dd data-testid=\"checkout-amount\">{price}</dd><dt>Order</dt><dd>{id}</dd></dl>\
         <form method=\"post\" action=\"/premium/checkout/{id}/demo\" class=\"stack\">\
         <button type=\"submit\" name=\"choice\" value=\"pay\" class=\"primary\">Pay {price}</button>\
         <button type=\"submit\" name=\"choice\" value=\"pending\">Pay, confirmed later (pending)</button>\
         <button type=\"submit\" name=\"choice\" value=\"decline\">Decline</button>\
         </form><p><a href=\"/premium\">Cancel</a></p>"
    );
    Html(document(css, "Demo checkout", &body)).into_response()
}

/// Razorpay's checkout script opens its payment window; it posts the result to the callback.
/// Only this page lets Razorpay's script, frames and form target in.
fn razorpay_page(css: &str, key_id: &str, order: &OrderRow, price: &str, base_url: &str, nonce: &str) -> Response {
    let options = serde_json::json!({
        "key": key_id,
        "order_id": order.provider_order_id,
        "amount": order.amount,
        "currency": order.currency,
        "name": "Huddle",
        "description": "Huddle premium",
        "callback_url": format!("{base_url}{CALLBACK_PATH}"),
        "redirect": true,
    });
    // JSON inside a script element: `<` escaped so no text can close the element.
    let options = options.to_string().replace('<', "\\u003c");
    let body = format!(
        "<h1>Pay for premium</h1><p>Huddle premium, {price}. Razorpay's payment window opens on this page.</p>\
         <noscript><p class=\"form-error\">Razorpay's checkout needs JavaScript.</p></noscript>\
         <p><a href=\"/premium\">Cancel</a></p>\
         <script src=\"https://checkout.razorpay.com/v1/checkout.js\" nonce=\"{nonce}\"></script>\
         <script nonce=\"{nonce}\">new Razorpay({options}).open();</script>",
        price = escape_html(price),
        nonce = escape_html(nonce),
    );
    let mut res = Html(document(css, "Pay for premium", &body)).into_response();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' https://checkout.razorpay.com; \
         frame-src https://api.razorpay.com https://checkout.razorpay.com; connect-src 'self' https://api.razorpay.com https://lumberjack.razorpay.com; \
         img-src 'self' data: https://*.razorpay.com; style-src 'self' 'unsafe-inline'; object-src 'none'; base-uri 'none'; \
         form-action 'self' https://api.razorpay.com; frame-ancestors 'none'"
    );
    if let Ok(v) = HeaderValue::try_from(policy) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

#[derive(serde::Deserialize)]
pub struct ChoiceForm {
    choice: Choice,
}

/// `POST /premium/checkout/{order}/demo`: the demo checkout's buttons.
pub async fn demo_choice(
    State(state): State<AppState>,
    session: Option<Extension<CurrentSession>>,
    Path(id): Path<String>,
    form: Result<Form<ChoiceForm>, FormRejection>,
) -> Response {
    let order = match payable(&state, session, &id).await {
        Ok(order) => order,
        Err(res) => return res,
    };
    let Ok(Form(ChoiceForm { choice })) = form else {
        return (StatusCode::UNPROCESSABLE_ENTITY, "Choose pay, pending or decline.").into_response();
    };
    if order.provider != super::DEMO || state.payments.provider_name() != Some(super::DEMO) {
        return back_to_premium("failed");
    }
    let demo = state.payments.demo();
    match choice {
        Choice::Pay => {
            // The webhook follows the callback, as Razorpay's usually does; either grants.
            let paid = demo.pay(&order.provider_order_id, order.amount, &order.currency, Duration::from_millis(500));
            let css = format!("/pkg/{}.css", state.leptos_options.output_name);
            let body = format!(
                "<h1>Payment approved</h1><p class=\"notice\"><strong>Demo, no money moves.</strong></p>\
                 <form method=\"post\" action=\"{CALLBACK_PATH}\">\
                 <input type=\"hidden\" name=\"razorpay_order_id\" value=\"{order}\">\
                 <input type=\"hidden\" name=\"razorpay_payment_id\" value=\"{payment}\">\
                 <input type=\"hidden\" name=\"razorpay_signature\" value=\"{signature}\">\
                 <button type=\"submit\" class=\"primary\">Return to Huddle</button></form>",
                order = escape_html(&order.provider_order_id),
                payment = escape_html(&paid.payment_id),
                signature = escape_html(&paid.signature),
            );
            Html(document(&css, "Payment approved", &body)).into_response()
        }
        Choice::Pending => {
            demo.pay(&order.provider_order_id, order.amount, &order.currency, DEMO_PENDING_DELAY);
            back_to_premium("pending")
        }
        Choice::Decline => {
            demo.decline(&order.provider_order_id, order.amount, &order.currency).await;
            back_to_premium("declined")
        }
    }
}

/// `POST /premium/callback`: what the checkout posts back after a payment. Not behind the
/// cross-origin guard (Razorpay's page posts it); the signature is what is trusted.
pub async fn callback(State(state): State<AppState>, form: Result<Form<CallbackForm>, FormRejection>) -> Response {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    match super::callback(&state, &form).await {
        Ok(Outcome::Granted | Outcome::AlreadyPaid) => back_to_premium("done"),
        Ok(Outcome::Refused) | Err(AppError::NotFound) => back_to_premium("failed"),
        Err(_) => back_to_premium("error"),
    }
}

/// `POST /payments/webhook`: the provider's signed events, verified over the raw body.
pub async fn webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match super::webhook(&state, &body, header("x-razorpay-signature"), header("x-razorpay-event-id")).await {
        WebhookAnswer::Done => (StatusCode::OK, "ok").into_response(),
        WebhookAnswer::BadRequest => (StatusCode::BAD_REQUEST, "bad signature or body").into_response(),
        WebhookAnswer::Retry => (StatusCode::INTERNAL_SERVER_ERROR, "try again later").into_response(),
    }
}
