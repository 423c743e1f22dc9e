//! The query parameters a failed form post without JavaScript carries back to its page:
//! Leptos' error (`__path`, `__err`: base64url JSON of the [`AppError`]) and the values typed
//! (`f.<field>`), with the server's signature (`__t`, `__sig`). Plain parsing, shared by the
//! server's middleware and the fuzz targets; the signature itself is made on the server.

use super::AppError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Query-parameter prefix of a form value kept across a failed post (`f.amount=12`).
pub const KEPT_PREFIX: &str = "f.";
/// The signature over what is carried, and when it was made.
pub const SIG: &str = "__sig";
pub const SIGNED_AT: &str = "__t";

/// A parameter a failed post carries back.
pub fn carried(key: &str) -> bool {
    key == "__path" || key == "__err" || key.starts_with(KEPT_PREFIX)
}

/// The carried pairs of a query, decoded, in order.
pub fn carried_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| carried(k)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The first value of `key` in a query, decoded.
pub fn value_of(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// The query without anything a form post carried back, nor its signature.
pub fn without_carried(query: &str) -> String {
    let kept = form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| !carried(k) && k != SIG && k != SIGNED_AT);
    form_urlencoded::Serializer::new(String::new()).extend_pairs(kept).finish()
}

/// The error in an `__err` value, as the page would show it; `None` for anything else.
pub fn decode_error(value: &str) -> Option<AppError> {
    let json = URL_SAFE_NO_PAD.decode(value.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_carried_parameters_and_the_signature_are_dropped() {
        let q = "page=2&__path=x&__err=e30&f.note=a%20b&__t=1&__sig=z&q=f.x";
        assert_eq!(carried_pairs(q), [("__path".into(), "x".into()), ("__err".into(), "e30".into()), ("f.note".into(), "a b".into())]);
        assert_eq!(without_carried(q), "page=2&q=f.x");
        assert_eq!(value_of(q, "f.note").as_deref(), Some("a b"));
    }

    #[test]
    fn an_error_decodes_only_from_its_own_shape() {
        let err = URL_SAFE_NO_PAD.encode(br#"{"Validation":{"field":"login","message":"no"}}"#);
        assert_eq!(decode_error(&err), Some(AppError::Validation { field: "login".into(), message: "no".into() }));
        assert_eq!(decode_error("!!"), None);
        assert_eq!(decode_error(&URL_SAFE_NO_PAD.encode(b"[1,2]")), None);
    }
}
