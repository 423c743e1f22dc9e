//! Cross-cutting HTTP behaviour: the cross-origin guard, security headers, form-post
//! redirects, and request logging.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HOST, LOCATION, ORIGIN, REFERER, REFERRER_POLICY, UPGRADE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, Method, StatusCode};
use std::net::{IpAddr, SocketAddr};
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
    // Without a configured list, only this server's own origin: it serves plain HTTP itself
    // (production, behind TLS, must configure its origins), so scheme, host and port must all
    // be `http://<Host>`.
    let own = header(HOST).map(|h| format!("http://{h}"));
    let permitted = |origin: &str| match allowed.is_empty() {
        false => allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)),
        true => own.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(origin)),
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
    // Chosen here, so the page's inline scripts and the policy header cannot disagree. Pages
    // are answers to GET (a failed form post is a redirect); nothing else needs a nonce.
    let nonce = matches!(*req.method(), Method::GET | Method::HEAD).then(|| app::server::signing::random_token(16));
    if let Some(nonce) = &nonce {
        req.extensions_mut().insert(app::CspNonce(nonce.clone()));
    }
    let mut res = next.run(req).await;
    if post && res.status() == StatusCode::FOUND {
        *res.status_mut() = StatusCode::SEE_OTHER;
    }
    let h = res.headers_mut();
    if is_private(h) {
        h.entry(CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    }
    let html = h.get(CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let policy = nonce.filter(|_| html).and_then(|n| HeaderValue::try_from(app::content_security_policy(&n)).ok());
    // A handler may set its own (the Razorpay checkout page lets Razorpay's script in).
    if !h.contains_key(CONTENT_SECURITY_POLICY) {
        h.insert(CONTENT_SECURITY_POLICY, policy.unwrap_or(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'")));
    }
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A handler may be stricter (the reset link's redirect says `no-referrer`).
    h.entry(REFERRER_POLICY).or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

/// Pages, server-function answers, CSV and plain-text answers may hold a signed-in user's data:
/// no cache (the browser's, a proxy's) keeps them. Static files (CSS, JS, wasm, images) may be.
fn is_private(h: &http::HeaderMap) -> bool {
    let kind = h.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    ["text/html", "application/json", "text/csv", "text/plain"].iter().any(|k| kind.starts_with(k))
}

/// Leptos sends a failed no-JS form post back to its `Referer` with `__path`/`__err` added, and
/// [`keep_form_input`] adds the typed values; without this every further post would carry the
/// previous failure along.
fn strip_stale_form_errors(req: &mut Request) {
    let Some(referer) = req.headers().get(REFERER).and_then(|v| v.to_str().ok()) else { return };
    let Some((base, query)) = referer.split_once('?') else { return };
    let stale = |p: &&str| p.split_once('=').is_none_or(|(k, _)| carried(k) || k == SIG || k == SIGNED_AT);
    let kept: Vec<&str> = query.split('&').filter(|p| !stale(p)).collect();
    let cleaned = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    if let Ok(v) = HeaderValue::try_from(cleaned) {
        req.headers_mut().insert(REFERER, v);
    }
}

use app::models::form_link::{KEPT_PREFIX, SIG, SIGNED_AT, carried, carried_pairs, value_of, without_carried};

const FORM_LINK_PURPOSE: &str = "huddle form link";
/// A signed form-error link is honoured this long (a page reload after a refused post).
const FORM_LINK_TTL_SECS: i64 = 600;

/// The secret that signs the links carrying a failed form post back to its page.
#[derive(Clone)]
pub struct FormLinks(pub Arc<Vec<u8>>);

/// What the signature covers: the page's path, the time, and every carried pair in order.
fn form_link_parts(path: &str, query: &str, signed_at: &str) -> Vec<Vec<u8>> {
    let mut parts = vec![path.as_bytes().to_vec(), signed_at.as_bytes().to_vec()];
    for (k, v) in carried_pairs(query) {
        parts.extend([k.into_bytes(), v.into_bytes()]);
    }
    parts
}

fn as_slices(parts: &[Vec<u8>]) -> Vec<&[u8]> {
    parts.iter().map(Vec::as_slice).collect()
}

/// Signs the carried parameters of a redirect back to a form's page (it has a query: `__err`).
fn sign_form_link(secret: &[u8], location: &str, now_secs: i64) -> String {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    let path = match &base[origin_of(base).len()..] {
        "" => "/",
        path => path,
    };
    let signed_at = now_secs.to_string();
    let parts = form_link_parts(path, query, &signed_at);
    let tag = app::server::signing::tag(secret, FORM_LINK_PURPOSE, &as_slices(&parts), 16);
    let sig = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, tag);
    format!("{location}&{SIGNED_AT}={signed_at}&{SIG}={sig}")
}

/// Whether the carried parameters of a page's query were signed by this server, lately.
fn form_link_is_genuine(secret: &[u8], path: &str, query: &str, now_secs: i64) -> bool {
    let (Some(signed_at), Some(sig)) = (value_of(query, SIGNED_AT), value_of(query, SIG)) else { return false };
    let fresh = signed_at.parse::<i64>().is_ok_and(|t| (0..=FORM_LINK_TTL_SECS).contains(&(now_secs - t)));
    let tag = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap_or_default();
    let parts = form_link_parts(path, query, &signed_at);
    fresh && app::server::signing::verify(secret, FORM_LINK_PURPOSE, &as_slices(&parts), &tag)
}

fn now_secs() -> i64 {
    app::server::now_ms() / 1000
}

/// A no-JS form post that fails is redirected back to its page with only the error; this puts
/// the typed values (never passwords) beside it and signs the lot, so the page can show the
/// form as it was sent. A page asked for with such parameters that this server did not sign
/// lately (a crafted link) is sent to the same page without them: a URL cannot write an
/// error message or fill a form.
pub async fn keep_form_input(State(links): State<FormLinks>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return refuse_unsigned_form_link(&links.0, req, next).await;
    }
    // Read the whole body here, within the limit: a body over it (also one sent in chunks,
    // without a length) is a 413 before any handler sees it, never a failed read inside one.
    let form_post = is_plain_form_post(&req);
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, crate::startup::BODY_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.").into_response();
    };
    if !form_post {
        return next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
    }
    let kept: Vec<(String, String)> = form_urlencoded::parse(&bytes)
        .filter(|(k, v)| !k.contains("password") && !v.is_empty())
        .map(|(k, v)| (format!("{KEPT_PREFIX}{k}"), v.into_owned()))
        .collect();
    let mut res = next.run(Request::from_parts(parts, axum::body::Body::from(bytes))).await;
    let location = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if res.status().is_redirection() && location.contains("__err=") {
        let extra = form_urlencoded::Serializer::new(String::new()).extend_pairs(&kept).finish();
        let joiner = if location.contains('?') { '&' } else { '?' };
        let with_input = if kept.is_empty() { location.to_string() } else { format!("{location}{joiner}{extra}") };
        if let Ok(v) = HeaderValue::try_from(sign_form_link(&links.0, &with_input, now_secs())) {
            res.headers_mut().insert(LOCATION, v);
        }
    }
    res
}

async fn refuse_unsigned_form_link(secret: &[u8], req: Request, next: Next) -> Response {
    let query = req.uri().query().unwrap_or("");
    let carries = form_urlencoded::parse(query.as_bytes()).any(|(k, _)| carried(&k));
    if !carries || form_link_is_genuine(secret, req.uri().path(), query, now_secs()) {
        return next.run(req).await;
    }
    tracing::warn!(path = req.uri().path(), "unsigned form-error parameters dropped");
    let rest = without_carried(query);
    let target = if rest.is_empty() { req.uri().path().to_string() } else { format!("{}?{rest}", req.uri().path()) };
    (StatusCode::SEE_OTHER, [(LOCATION, target)]).into_response()
}

/// A browser's form submission without JavaScript (it accepts HTML back).
fn is_plain_form_post(req: &Request) -> bool {
    let header = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).unwrap_or("");
    req.method() == Method::POST
        && header(ACCEPT).contains("text/html")
        && header(CONTENT_TYPE).starts_with("application/x-www-form-urlencoded")
}

static X_FORWARDED_FOR: http::HeaderName = http::HeaderName::from_static("x-forwarded-for");

/// The proxies (`HUDDLE_TRUSTED_PROXIES`) whose `X-Forwarded-For` is believed.
#[derive(Clone)]
pub struct TrustedProxies(pub Arc<Vec<ipnet::IpNet>>);

impl TrustedProxies {
    /// An IPv4 peer reaching a dual-stack listener shows as `::ffff:a.b.c.d`: compared as the
    /// IPv4 address it is, so `127.0.0.1` in the list matches it.
    fn trust(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind `peer`: when `peer` is a trusted proxy, the last address in
    /// `X-Forwarded-For` that is not one (each proxy appends the address it was reached from,
    /// so anything left of that was written by the client and proves nothing).
    fn client(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        if !self.trust(peer) {
            return peer;
        }
        // Right to left; a line that is not text counts as a hop that is not an address.
        let hops = headers.get_all(&X_FORWARDED_FOR).iter().rev().flat_map(|v| v.to_str().unwrap_or("?").rsplit(','));
        for hop in hops {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if self.trust(ip) => continue,
                Ok(ip) => return ip.to_canonical(),
                // A hop that is not an address: nothing left of it can be believed.
                Err(_) => break,
            }
        }
        peer
    }
}

/// Behind a trusted proxy, the client's address (what rate limits and socket caps count by)
/// is the one the proxy saw, not the proxy's own.
pub async fn client_behind_proxy(State(proxies): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = proxies.client(peer.ip(), req.headers());
        if client != peer.ip() {
            req.extensions_mut().insert(ConnectInfo(SocketAddr::new(client, 0)));
        }
    }
    next.run(req).await
}

/// The header a request's id travels in, both ways.
pub static REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");

/// One log line per request (method, path, status, latency; never headers or bodies), and a
/// request id on every line logged while it is handled (the `request` span's `request_id`),
/// sent back as `X-Request-ID`. A load balancer's id is kept, so its log and ours line up.
pub async fn log_request(req: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = request_id(req.headers());
    let span = tracing::info_span!("request", request_id = %id);
    async move {
        let (method, path) = (req.method().clone(), req.uri().path().to_owned());
        let started = Instant::now();
        let mut res = next.run(req).await;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let status = res.status().as_u16();
        // A load balancer asks every few seconds: only a failed answer is news.
        if matches!(path.as_str(), "/healthz" | "/readyz") && res.status().is_success() {
            tracing::debug!(%method, path, status, latency_ms = format!("{latency_ms:.1}"), "request");
        } else {
            tracing::info!(%method, path, status, latency_ms = format!("{latency_ms:.1}"), "request");
        }
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(REQUEST_ID.clone(), value);
        }
        res
    }
    .instrument(span)
    .await
}

/// The id a proxy gave the request, if it looks like one (it reaches every log line, so
/// nothing longer or stranger is taken), or a new random one.
fn request_id(headers: &http::HeaderMap) -> String {
    let given = headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok()).filter(|v| {
        (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    });
    match given {
        Some(id) => id.to_string(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
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
    fn only_a_trusted_proxy_names_the_client_and_only_its_own_hop_counts() {
        let proxies = TrustedProxies(Arc::new(vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()]));
        let client = |peer: &str, xff: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in xff {
                h.append(&X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
            }
            proxies.client(peer.parse().unwrap(), &h).to_string()
        };
        assert_eq!(client("127.0.0.1", &["203.0.113.5"]), "203.0.113.5");
        // Two proxies of ours: the hop before them.
        assert_eq!(client("10.0.0.2", &["203.0.113.5, 10.0.0.9"]), "203.0.113.5");
        // What the client wrote itself, left of the proxy's hop, is not believed.
        assert_eq!(client("127.0.0.1", &["198.51.100.1", "203.0.113.5"]), "203.0.113.5");
        assert_eq!(client("127.0.0.1", &["198.51.100.1, 203.0.113.5"]), "203.0.113.5");
        // From anyone else the header is ignored; without one or with junk, the peer is the client.
        assert_eq!(client("192.0.2.7", &["203.0.113.5"]), "192.0.2.7");
        assert_eq!(client("127.0.0.1", &[]), "127.0.0.1");
        assert_eq!(client("127.0.0.1", &["unknown"]), "127.0.0.1");
        assert_eq!(client("127.0.0.1", &["2001:db8::1"]), "2001:db8::1");
        // The proxy reaching a dual-stack listener over IPv4.
        assert_eq!(client("::ffff:127.0.0.1", &["203.0.113.5"]), "203.0.113.5");
        // A line that is not text ends the walk like any hop that is not an address.
        let mut h = http::HeaderMap::new();
        h.append(&X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.1"));
        h.append(&X_FORWARDED_FOR, HeaderValue::from_bytes(b"\xff").unwrap());
        assert_eq!(proxies.client("127.0.0.1".parse().unwrap(), &h).to_string(), "127.0.0.1");
    }

    #[test]
    fn a_proxys_request_id_is_kept_only_when_it_looks_like_one() {
        let with = |id: &str| {
            let mut h = http::HeaderMap::new();
            h.insert(&REQUEST_ID, HeaderValue::from_str(id).unwrap());
            request_id(&h)
        };
        assert_eq!(with("7f3a-01:b.c_d"), "7f3a-01:b.c_d");
        for strange in ["a b", "x\"y", "<script>", &"9".repeat(65)] {
            let id = with(strange);
            assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{strange:?} became {id:?}");
        }
        let (a, b) = (request_id(&http::HeaderMap::new()), request_id(&http::HeaderMap::new()));
        assert_ne!(a, b, "each request gets its own");
    }

    #[test]
    fn same_origin_posts_pass_and_foreign_ones_do_not() {
        let none: Vec<String> = vec![];
        assert!(!is_cross_origin(&post(&[("origin", "http://127.0.0.1:3000")]), &none));
        assert!(is_cross_origin(&post(&[("origin", "http://evil.example")]), &none));
        assert!(is_cross_origin(&post(&[("sec-fetch-site", "cross-site")]), &none));
        assert!(is_cross_origin(&post(&[("referer", "http://evil.example/form")]), &none));
        assert!(!is_cross_origin(&post(&[]), &none));
        assert!(is_cross_origin(&post(&[("origin", "https://127.0.0.1:3000")]), &none), "another scheme");
        assert!(is_cross_origin(&post(&[("origin", "http://127.0.0.1:3001")]), &none), "another port");
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
        let mut req = post(&[("referer", "http://h/login?next=%2F&__path=x&__err=y&f.login=ada&__t=1&__sig=z")]);
        strip_stale_form_errors(&mut req);
        assert_eq!(req.headers()[REFERER], "http://h/login?next=%2F");
    }

    #[test]
    fn a_form_link_is_genuine_only_as_signed_and_only_for_a_while() {
        let secret = b"form-link-secret";
        let signed = sign_form_link(secret, "http://h/expenses?page=2&__path=x&__err=e30&f.note=hi", 1_000);
        let query = signed.split_once('?').unwrap().1;
        assert!(form_link_is_genuine(secret, "/expenses", query, 1_000));
        assert!(form_link_is_genuine(secret, "/expenses", query, 1_000 + FORM_LINK_TTL_SECS));
        assert!(!form_link_is_genuine(secret, "/expenses", query, 1_001 + FORM_LINK_TTL_SECS), "too old");
        assert!(!form_link_is_genuine(secret, "/budgets", query, 1_000), "another page");
        assert!(!form_link_is_genuine(secret, "/expenses", &query.replace("f.note=hi", "f.note=ho"), 1_000));
        assert!(!form_link_is_genuine(secret, "/expenses", &format!("{query}&f.password=x"), 1_000), "an added field");
        assert!(!form_link_is_genuine(b"other", "/expenses", query, 1_000));
        assert!(!form_link_is_genuine(secret, "/expenses", "__err=e30", 1_000), "unsigned");
        assert_eq!(without_carried(query), "page=2");
    }
}
