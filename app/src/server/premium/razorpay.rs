//! Razorpay's Orders API: create the order a checkout pays. Over HTTPS with the key id and
//! secret (HTTP basic auth); its answer is checked against what was asked.

use serde::Deserialize;
use std::time::Duration;

#[derive(Clone)]
pub struct Keys {
    pub key_id: String,
    pub key_secret: String,
    pub webhook_secret: String,
    /// `https://api.razorpay.com` (another base only for tests against a local server).
    pub api_url: String,
}

#[derive(Clone)]
pub struct Client {
    keys: Keys,
    http: reqwest::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("cannot reach the Orders API: {0}")]
    Unreachable(String),
    #[error("the Orders API refused the order: {status} {description}")]
    Refused { status: u16, description: String },
    #[error("the Orders API answered something unexpected: {0}")]
    Unexpected(String),
}

#[derive(Deserialize)]
struct Order {
    id: String,
    amount: i64,
    currency: String,
}

#[derive(Deserialize)]
struct Failure {
    error: FailureDetail,
}

#[derive(Deserialize)]
struct FailureDetail {
    #[serde(default)]
    description: String,
}

impl Client {
    pub fn new(keys: Keys) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .build()
            .expect("an HTTP client (rustls with ring, native roots)");
        Self { keys, http }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Creates an order for `amount` minor units of `currency`; its id.
    pub async fn create_order(&self, amount: i64, currency: &str, receipt: &str) -> Result<String, OrderError> {
        let url = format!("{}/v1/orders", self.keys.api_url);
        let res = self
            .http
            .post(url)
            .basic_auth(&self.keys.key_id, Some(&self.keys.key_secret))
            .json(&serde_json::json!({ "amount": amount, "currency": currency, "receipt": receipt }))
            .send()
            .await
            .map_err(|e| OrderError::Unreachable(e.without_url().to_string()))?;
        let status = res.status();
        // Orders are a few hundred bytes; a larger answer is not the Orders API.
        let body = read_capped(res, 64 * 1024).await?;
        if !status.is_success() {
            let description = serde_json::from_slice::<Failure>(&body).map(|f| f.error.description).unwrap_or_default();
            return Err(OrderError::Refused { status: status.as_u16(), description });
        }
        let order: Order = serde_json::from_slice(&body).map_err(|e| OrderError::Unexpected(e.to_string()))?;
        if order.amount != amount || !order.currency.eq_ignore_ascii_case(currency) || order.id.is_empty() || order.id.len() > 64 {
            return Err(OrderError::Unexpected(format!("order {} for {} {}", order.id, order.amount, order.currency)));
        }
        Ok(order.id)
    }
}

async fn read_capped(mut res: reqwest::Response, cap: usize) -> Result<Vec<u8>, OrderError> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| OrderError::Unreachable(e.without_url().to_string()))? {
        if body.len() + chunk.len() > cap {
            return Err(OrderError::Unexpected("an answer too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
