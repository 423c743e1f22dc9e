//! Cross-cutting HTTP behaviour: the cross-origin guard, security headers, form-post
//! redirects, and request logging.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCEPT, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, LOCATION, ORIGIN, REFERER, REFERRER_POLICY, UPGRADE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};
use std::sync::Arc;
use std::time::Instant;

/// The origins allowed to change state; empty means "the origin the `Host` header names".
#[derive(Clone)]
pub struct AllowedOrigins(pub Arc<Vec<String>>);

/// Refuses state-changing requests that a browser sent from another origin.
pub async fn refuse_cross_origin(State(allowed): State<AllowedOrigins>, req: Request, next: Next) -> Response {
    if is_cross_origin(&req, &allowed.0) {
        tracing::warn!(path = req.uri().path(), "cross-origin request refused");
        return (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response();
    }
    next.run(req).await
}

/// A plain function over the request so no header borrow lives across an `.await`.
/// WebSocket upgrades are GETs, but a browser lets any site open a socket to us with our
/// cookies (cross-site WebSocket hijacking): their `Origin` is checked like a post's.
fn is_cross_origin(req: &Request, allowed: &[String]) -> bool {
    let upgrade = req.headers().get(UPGRADE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !upgrade && matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let host = header(HOST);
    let permitted = |origin: &str| match allowed.is_empty() {
        false => allowed.iter().any(|a| a == origin),
        true => origin.split_once("://").map(|(_, h)| h) == host,
    };
    if let Some(origin) = header(ORIGIN) {
        return !permitted(origin);
    }
    if let Some(site) = req.headers().get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return !matches!(site, "same-origin" | "none");
    }
    if let Some(referer) = header(REFERER) {
        return !permitted(origin_of(referer));
    }
    // Neither header: not a browser (curl, scripts); SameSite cookies do the rest.
    false
}

/// `https://host:port` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find('/').map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// Security headers on every response; a redirect answering a form post becomes
/// `303 See Other`; stale error parameters are dropped from the `Referer` of a form post.
pub async fn security_headers(mut req: Request, next: Next) -> Response {
    let post = req.method() == Method::POST;
    if post {
        strip_stale_form_errors(&mut req);
    }
    let mut res = next.run(req).await;
    if post && res.status() == StatusCode::FOUND {
        *res.status_mut() = StatusCode::SEE_OTHER;
    }
    let h = res.headers_mut();
    h.entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Leptos sends a failed no-JS form post back to its `Referer` with `__path`/`__err` added, and
/// [`keep_form_input`] adds the typed values; without this every further post would carry the
/// previous failure along.
fn strip_stale_form_errors(req: &mut Request) {
    let Some(referer) = req.headers().get(REFERER).and_then(|v| v.to_str().ok()) else { return };
    let Some((base, query)) = referer.split_once('?') else { return };
    let stale = |p: &&str| p.starts_with("__path=") || p.starts_with("__err=") || p.starts_with(KEPT_PREFIX);
    let kept: Vec<&str> = query.split('&').filter(|p| !stale(p)).collect();
    let cleaned = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    if let Ok(v) = HeaderValue::try_from(cleaned) {
        req.headers_mut().insert(REFERER, v);
    }
}

/// Query-parameter prefix of a form value kept across a failed no-JS post (`f.amount=12`).
const KEPT_PREFIX: &str = "f.";

/// A no-JS form post that fails is redirected back to its page with only the error; this puts
/// the typed values (never passwords) beside it, so the page can show the form as it was sent.
pub async fn keep_form_input(req: Request, next: Next) -> Response {
    if !is_plain_form_post(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::startup::BODY_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.").into_response();
    };
    let kept: Vec<(String, String)> = form_urlencoded::parse(&bytes)
        .filter(|(k, v)| !k.contains("password") && !v.is_empty())
        .map(|(k, v)| (format!("{KEPT_PREFIX}{k}"), v.into_owned()))
        .collect();
    let mut res = next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if res.status().is_redirection() && location.contains("__err=") && !kept.is_empty() {
        let extra = form_urlencoded::Serializer::new(String::new()).extend_pairs(&kept).finish();
        let joiner = if location.contains('?') { '&' } else { '?' };
        if let Ok(v) = HeaderValue::try_from(format!("{location}{joiner}{extra}")) {
            res.headers_mut().insert(LOCATION, v);
        }
    }
    res
}

/// A browser's form submission without JavaScript (it accepts HTML back).
fn is_plain_form_post(req: &Request) -> bool {
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).unwrap_or("");
    req.method() == Method::POST
        && header(ACCEPT).contains("text/html")
        && header(CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
}

/// One log line per request: method, path, status, latency. Never headers or bodies.
pub async fn log_request(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let res = next.run(req).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, path, status = res.status().as_u16(), latency_ms = format!("{latency_ms:.1}"), "request");
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn post(headers: &[(&str, &str)]) -> Request {
        let mut b = Request::builder().method(Method::POST).uri("/api/login").header(HOST, "127.0.0.1:3000");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn same_origin_posts_pass_and_foreign_ones_do_not() {
        let none: Vec<String> = vec![];
        assert!(!is_cross_origin(&post(&[("origin", "http://127.0.0.1:3000")]), &none));
        assert!(is_cross_origin(&post(&[("origin", "http://evil.example")]), &none));
        assert!(is_cross_origin(&post(&[("sec-fetch-site", "cross-site")]), &none));
        assert!(is_cross_origin(&post(&[("referer", "http://evil.example/form")]), &none));
        assert!(!is_cross_origin(&post(&[]), &none));
    }

    #[test]
    fn a_websocket_upgrade_from_another_site_is_cross_origin() {
        let none: Vec<String> = vec![];
        let upgrade = |origin: &str| {
            Request::builder()
                .uri("/ws")
                .header(HOST, "127.0.0.1:3000")
                .header(UPGRADE, "websocket")
                .header(ORIGIN, origin)
                .body(Body::empty())
                .unwrap()
        };
        assert!(is_cross_origin(&upgrade("http://evil.example"), &none));
        assert!(!is_cross_origin(&upgrade("http://127.0.0.1:3000"), &none));
    }

    #[test]
    fn an_allowlist_replaces_the_host_rule() {
        let allowed = vec!["https://huddle.example".to_string()];
        assert!(!is_cross_origin(&post(&[("origin", "https://huddle.example")]), &allowed));
        assert!(is_cross_origin(&post(&[("origin", "http://127.0.0.1:3000")]), &allowed));
    }

    #[test]
    fn origin_of_cuts_the_path() {
        assert_eq!(origin_of("http://a.example:8080/x/y?z"), "http://a.example:8080");
        assert_eq!(origin_of("https://a.example"), "https://a.example");
    }

    #[test]
    fn stale_form_errors_leave_the_referer() {
        let mut req = post(&[("referer", "http://h/login?next=%2F&__path=x&__err=y&f.login=ada")]);
        strip_stale_form_errors(&mut req);
        assert_eq!(req.headers()[REFERER], "http://h/login?next=%2F");
    }
}
