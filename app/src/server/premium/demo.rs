//! The demo provider: an offline stand-in for Razorpay's checkout. It signs its callback with
//! the key secret and posts signed webhooks over HTTP to this server's webhook route, exactly as
//! Razorpay does, so the same verification runs. No money moves.

use super::signature;
use std::time::Duration;

pub struct DemoProvider {
    /// `http://127.0.0.1:3000`: this server, where its webhooks go.
    self_url: String,
    key_secret: Vec<u8>,
    webhook_secret: Vec<u8>,
    http: reqwest::Client,
}

/// What the buyer chose on the demo checkout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Choice {
    Pay,
    Decline,
    /// Paid, but the provider confirms only later, by webhook.
    Pending,
}

/// The payment the demo checkout made: what its callback carries.
pub struct Payment {
    pub payment_id: String,
    pub signature: String,
}

impl DemoProvider {
    pub fn new(self_url: String, key_secret: Vec<u8>, webhook_secret: Vec<u8>) -> Self {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a plain HTTP client");
        Self { self_url, key_secret, webhook_secret, http }
    }

    /// A payment of `order` and its signed callback; its `payment.captured` webhook follows after
    /// `webhook_after`.
    pub fn pay(self: &std::sync::Arc<Self>, order_id: &str, amount: i64, currency: &str, webhook_after: Duration) -> Payment {
        let payment_id = format!("pay_demo_{}", crate::server::signing::random_token(12));
        let signature = signature::callback(&self.key_secret, order_id, &payment_id);
        let event = event("payment.captured", &payment_id, order_id, amount, currency);
        let provider = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(webhook_after).await;
            provider.send(event).await;
        });
        Payment { payment_id, signature }
    }

    /// Declines: a `payment.failed` webhook, delivered before this returns.
    pub async fn decline(&self, order_id: &str, amount: i64, currency: &str) {
        let payment_id = format!("pay_demo_{}", crate::server::signing::random_token(12));
        self.send(event("payment.failed", &payment_id, order_id, amount, currency)).await;
    }

    /// Posts a signed event to the webhook route, retrying a few times like the real provider.
    async fn send(&self, body: String) {
        let url = format!("{}{}", self.self_url, super::super::premium::WEBHOOK_PATH);
        let signature = signature::webhook(&self.webhook_secret, body.as_bytes());
        let event_id = format!("evt_demo_{}", crate::server::signing::random_token(12));
        for attempt in 0..4u32 {
            let sent = self
                .http
                .post(&url)
                .header("content-type", "application/json")
                .header("x-razorpay-signature", &signature)
                .header("x-razorpay-event-id", &event_id)
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(res) if res.status().is_success() => return,
                Ok(res) => tracing::warn!(status = res.status().as_u16(), attempt, "demo webhook not accepted"),
                Err(e) => tracing::warn!(error = %e.without_url(), attempt, "demo webhook not delivered"),
            }
            tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
        }
        tracing::error!("demo webhook given up");
    }
}

/// A webhook body shaped like Razorpay's.
fn event(kind: &str, payment_id: &str, order_id: &str, amount: i64, currency: &str) -> String {
    let status = if kind == "payment.failed" { "failed" } else { "captured" };
    serde_json::json!({
        "entity": "event",
        "event": kind,
        "contains": ["payment"],
        "payload": { "payment": { "entity": {
            "id": payment_id, "entity": "payment", "order_id": order_id,
            "amount": amount, "currency": currency, "status": status,
        } } },
        "created_at": crate::server::now_ms() / 1000,
    })
    .to_string()
}
