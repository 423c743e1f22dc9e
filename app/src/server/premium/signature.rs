//! The payment provider's signatures (Razorpay's scheme, which the demo provider follows too):
//! HMAC-SHA256 in lowercase hex, over `order_id|payment_id` with the key secret for the
//! checkout callback, over the raw request body with the webhook secret for webhooks.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length")
}

fn sign(secret: &[u8], message: &[&[u8]]) -> String {
    let mut m = mac(secret);
    for part in message {
        m.update(part);
    }
    hex::encode(m.finalize().into_bytes())
}

/// Compares in constant time; anything that is not 64 hex digits is simply wrong.
fn verify(secret: &[u8], message: &[&[u8]], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else { return false };
    let mut m = mac(secret);
    for part in message {
        m.update(part);
    }
    given.len() == 32 && m.verify_slice(&given).is_ok()
}

/// What the checkout hands back with a payment: the signature of `order_id|payment_id`.
pub fn callback(key_secret: &[u8], order_id: &str, payment_id: &str) -> String {
    sign(key_secret, &[order_id.as_bytes(), b"|", payment_id.as_bytes()])
}

/// Whether `signature` is the provider's for this payment of this order. `order_id` must be
/// the stored order's, never the one the callback names.
pub fn verify_callback(key_secret: &[u8], order_id: &str, payment_id: &str, signature: &str) -> bool {
    verify(key_secret, &[order_id.as_bytes(), b"|", payment_id.as_bytes()], signature)
}

/// A webhook's `X-Razorpay-Signature`: the signature of its raw body.
pub fn webhook(webhook_secret: &[u8], body: &[u8]) -> String {
    sign(webhook_secret, &[body])
}

pub fn verify_webhook(webhook_secret: &[u8], body: &[u8], signature: &str) -> bool {
    verify(webhook_secret, &[body], signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers computed independently (Python's hmac module and `openssl dgst -sha256 -hmac`).
    const CALLBACK: &str = "89b30b6cb13112020c08a4a73da4458dda82482ed0bad8a95c548eaaad49b34f";
    const WEBHOOK: &str = "63482aecf393ec15e418daab94dffe6cd7a1ddeec5ade268106920e9f1c8363d";

    #[test]
    fn callback_signatures_match_known_answers() {
        assert_eq!(callback(b"test_secret_key", "order_DBJOWzybf0sJbb", "pay_DGJOWzybf0sJbb"), CALLBACK);
        assert!(verify_callback(b"test_secret_key", "order_DBJOWzybf0sJbb", "pay_DGJOWzybf0sJbb", CALLBACK));
        assert!(verify_callback(b"test_secret_key", "order_DBJOWzybf0sJbb", "pay_DGJOWzybf0sJbb", &CALLBACK.to_uppercase()));
    }

    #[test]
    fn a_callback_signature_is_bound_to_its_order_payment_and_key() {
        assert!(!verify_callback(b"test_secret_key", "order_other", "pay_DGJOWzybf0sJbb", CALLBACK));
        assert!(!verify_callback(b"test_secret_key", "order_DBJOWzybf0sJbb", "pay_other", CALLBACK));
        assert!(!verify_callback(b"another_key", "order_DBJOWzybf0sJbb", "pay_DGJOWzybf0sJbb", CALLBACK));
        // The separator counts: "a|b" with parts moved across it is another message.
        assert!(!verify_callback(b"test_secret_key", "order_DBJOWzybf0sJbb|pay", "_DGJOWzybf0sJbb", CALLBACK));
        for bad in ["", "zz", &CALLBACK[..62], &format!("{CALLBACK}00")] {
            assert!(!verify_callback(b"test_secret_key", "order_DBJOWzybf0sJbb", "pay_DGJOWzybf0sJbb", bad), "{bad:?}");
        }
    }

    #[test]
    fn webhook_signatures_cover_the_raw_body() {
        let body = br#"{"event":"payment.captured"}"#;
        assert_eq!(webhook(b"webhook_secret", body), WEBHOOK);
        assert!(verify_webhook(b"webhook_secret", body, WEBHOOK));
        // Same JSON, other bytes: a re-serialised body does not verify.
        assert!(!verify_webhook(b"webhook_secret", br#"{"event": "payment.captured"}"#, WEBHOOK));
        assert!(!verify_webhook(b"other", body, WEBHOOK));
    }
}
