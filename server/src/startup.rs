//! Builds the application from a [`Config`]: database, state, router, listener.

use crate::config::Config;
use crate::middleware::{self, AllowedOrigins, FormLinks};
use app::server::auth::{self, AuthConfig, LoginThrottle, AddressRate};
use app::server::hub::bus::Bus;
use app::server::hub::{Fanout, Hub, LocalFanout};
use app::server::mail::{Mailer, Transport};
use app::server::premium::{self, Payments};
use app::server::{AppState, db};
use app::{App, shell};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A handler's answer must start within this time (408 otherwise); a streamed CSV only has to
/// start.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// A request body must arrive within this time.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a stopping server takes at most, from the signal to the end of `run_until`.
pub const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("HUDDLE_ADDR: cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("HUDDLE_METRICS_ADDR: cannot listen on {addr}: {source}")]
    BindMetrics { addr: SocketAddr, source: std::io::Error },
    #[error("HUDDLE_REDIS_URL: cannot reach Redis: {0}")]
    Redis(String),
    #[error("saved reports: {0}")]
    Reports(String),
}

/// A bound, ready-to-serve Huddle.
pub struct Application {
    listener: TcpListener,
    router: Router,
    hub: Hub,
    /// The metrics' own listener and what it serves (`HUDDLE_METRICS_ADDR`).
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle, db::Db)>,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let (db, write_turn) = db::connect(&config.database_url).await?;
        // Calls live in memory: whatever a stopped process left open has ended. With several
        // nodes, the others' calls go on.
        if config.redis_url.is_none() {
            db::meetings::close_all_open(&db, app::server::now_ms()).await?;
        }
        // Logins ended shortly before a restart: their access tokens are still refused.
        let revoked = Arc::new(auth::revoked::RevokedLogins::default());
        let access_ttl = AuthConfig::ACCESS_TTL.as_millis() as i64;
        for (login, at) in db::sessions::revoked_since(&db, app::server::now_ms() - access_ttl).await? {
            revoked.add(&[login], at, access_ttl);
        }
        tokio::task::spawn_blocking(auth::password::warm_up);
        let listener =
            TcpListener::bind(config.addr).await.map_err(|source| StartupError::Bind { addr: config.addr, source })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind { addr: config.addr, source })?;
        let saved = app::server::saved_reports::SavedReports::new(&config.saved_reports, config.saved_reports_keep).map_err(StartupError::Reports)?;
        let metrics = match config.metrics_addr {
            None => None,
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.map_err(|source| StartupError::BindMetrics { addr, source })?;
                crate::metrics::recorder().map(|handle| (listener, handle, db.clone()))
            }
        };
        // After the recorder is installed: the fan-out keeps its counters' handles.
        let bus = match &config.redis_url {
            None => None,
            Some(url) => Some(Bus::connect(url, db.clone(), config.bus.clone(), revoked.clone()).await.map_err(|e| StartupError::Redis(e.to_string()))?),
        };
        let fanout: Arc<dyn Fanout> = match &bus {
            None => Arc::new(LocalFanout::default()),
            Some(bus) => bus.clone(),
        };
        let (router, hub) = router(config, db, write_turn, fanout, addr, revoked, saved, metrics.is_some());
        if let Some(bus) = bus {
            bus.serve_calls(&hub.calls);
        }
        Ok(Self { listener, router, hub, metrics })
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Where the metrics are served, if anywhere.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, ..)| listener.local_addr().ok())
    }

    /// Serves until Ctrl-C or SIGTERM, then stops as [`Application::run_until`] says.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then stops within [`STOP_LIMIT`]: readiness answers 503,
    /// the listener closes, every socket is closed with 1012 (its client reconnects, to another
    /// node or to this one restarted, and resumes with `sync`), the requests in flight finish
    /// and the posts already taken are committed.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> std::io::Result<()> {
        let hub = self.hub.clone();
        let (began, mut stopping_since) = tokio::sync::watch::channel(None::<tokio::time::Instant>);
        // The metrics stay up until the rest has stopped: the stop itself is worth watching.
        let (stopped, metrics_stop) = tokio::sync::oneshot::channel::<()>();
        if let Some((listener, handle, db)) = self.metrics {
            tokio::spawn(crate::metrics::serve(listener, handle, self.hub.clone(), db, async move {
                let _ = metrics_stop.await;
            }));
        }
        let stopping = async move {
            stop.await;
            tracing::info!("stopping: closing sockets with 1012, finishing requests and commits");
            hub.stop();
            let _ = began.send(Some(tokio::time::Instant::now()));
        };
        // The limit counts from the signal: the requests in flight get what is left of it.
        let deadline = async {
            let since = stopping_since.wait_for(Option::is_some).await.map(|since| *since).ok().flatten();
            match since {
                Some(since) => tokio::time::sleep_until(since + STOP_LIMIT).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            served = crate::serve::serve(self.listener, self.router, stopping) => served?,
            _ = deadline => tracing::warn!("requests still in flight when the stop limit passed"),
        }
        let since = stopping_since.borrow().unwrap_or_else(tokio::time::Instant::now);
        if !self.hub.drained(STOP_LIMIT.saturating_sub(since.elapsed())).await {
            tracing::warn!(sockets = self.hub.sockets.open(), "stopped with sockets or commits still open");
        }
        // The calls this process ran end here; their tabs on other nodes reconnect and start
        // them again there.
        self.hub.calls.give_up_all().await;
        drop(stopped);
        Ok(())
    }
}

fn router(config: Config, db: db::Db, write_turn: db::WriteTurn, fanout: Arc<dyn Fanout>, addr: SocketAddr, revoked: Arc<auth::revoked::RevokedLogins>, saved: app::server::saved_reports::SavedReports, metrics: bool) -> (Router, Hub) {
    let leptos_options = LeptosOptions::builder()
        .output_name(bundle_name(&config.site_dir))
        .site_root(config.site_dir.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .build();
    // Links in mail lead to the public URL; without one (development), to this server itself.
    let base_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let transport = config.mail.smtp.clone().unwrap_or_else(|| {
        let dir = config.data_dir.join("mail");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::error!(error = %e, path = %dir.display(), "cannot make the folder development mail is written to");
        }
        Transport::Folder(dir)
    });
    let mailer = Mailer::new(transport, config.mail.from.clone(), config.mail.retry.clone());
    // The demo provider's webhooks come to this server itself, as it listens.
    let payments = Payments::new(config.payments, config.premium_price, &config.jwt_secret, format!("http://{}", loopback_if_any(addr)));
    let state = AppState {
        auth: Arc::new(AuthConfig::new(config.jwt_secret, config.secure_cookies)),
        throttle: Arc::new(LoginThrottle::new(Duration::from_secs(60))),
        signups: Arc::new(AddressRate::per_hour(config.signups_per_hour)),
        client_reports: Arc::new(AddressRate::per_minute(10)),
        // A person enters a few bills at a time; a script entering thousands is refused.
        ledger_writes: Arc::new(app::server::hub::limits::KeyedRate::per_minute(app::api::shared::LEDGER_WRITES_PER_MINUTE)),
        default_currency: config.default_currency,
        hub: Hub::new(db.clone(), write_turn, fanout, config.ws_queue, config.ws_caps).with_call_config(db.clone(), config.calls.clone()),
        db,
        leptos_options: leptos_options.clone(),
        public_url: config.public_url.as_deref().map(Into::into),
        revoked,
        recovery: Arc::new(auth::recovery::Recovery::new(mailer, base_url, config.require_verified_email)),
        payments: Arc::new(payments),
        saved_reports: Arc::new(saved),
    };
    app::server::saved_reports::spawn_sweeper(state.clone());
    let hub = state.hub.clone();
    let origins = AllowedOrigins(Arc::new(config.origins));
    let proxies = middleware::TrustedProxies(Arc::new(config.trusted_proxies));
    let form_links = FormLinks(Arc::new(state.auth.jwt_secret.clone()));
    let routes = generate_route_list(App);
    let router = Router::new()
        .leptos_routes_with_context(&state, routes, app::provide_request_nonce, move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(app::provide_request_nonce, shell))
        // Pages and server-function answers, compressed as they are made (brotli or gzip, as the
        // browser accepts). Only the routes above: the socket's upgrade, the streamed CSV and the
        // bundle below (compressed once, at build time) are left as they are.
        .layer(CompressionLayer::new().br(true).gzip(true).quality(CompressionLevel::Precise(5)))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/reports/expenses.csv", get(app::server::export::expenses_csv))
        .route("/reports/saved/{id}", get(app::server::saved_reports::download))
        .route("/meetings/{code}/attendance.csv", get(app::server::export::attendance_csv))
        .route("/chat/{id}/expenses.csv", get(app::server::export::shared_csv))
        .route(auth::recovery::RESET_LINK_PATH, get(auth::recovery::open_reset_link))
        .route(auth::verification::VERIFY_LINK_PATH, get(auth::verification::open_verify_link))
        .route("/premium/checkout/{order}", get(premium::routes::checkout))
        .route("/premium/checkout/{order}/demo", post(premium::routes::demo_choice))
        .route("/ws", get(crate::ws::upgrade))
        .route("/auth/renew", post(crate::ws::renew))
        .route(app::components::failures::REPORT_PATH, post(crate::client_errors::report))
        .nest_service("/pkg", bundle(&config.site_dir.join("pkg")))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(axum::middleware::from_fn_with_state(form_links, middleware::keep_form_input))
        .layer(axum::middleware::from_fn_with_state(origins, middleware::refuse_cross_origin))
        // Posted by the payment provider (its checkout page, its servers), not by our pages: not
        // behind the cross-origin guard or a session. Their signatures are what is trusted.
        .route(premium::CALLBACK_PATH, post(premium::routes::callback))
        .route(premium::WEBHOOK_PATH, post(premium::routes::webhook))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT));
    let router = match metrics {
        true => router.layer(axum::middleware::from_fn(crate::metrics::track_requests)),
        false => router,
    };
    let router = router
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(middleware::log_request))
        // First of all: everything after it counts the client by the address it gives.
        .layer(axum::middleware::from_fn_with_state(proxies, middleware::client_behind_proxy))
        .with_state(state);
    (router, hub)
}

/// `addr`, or the loopback address on its port when it listens on every address (0.0.0.0).
fn loopback_if_any(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], addr.port())),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        _ => addr,
    }
}

/// The name the build gave the main module, its JS and the stylesheet (`huddle.<hash>`, from
/// `bundle.txt` beside the bundle; see `build_site` in scripts/lib.sh). Without it (no site
/// built) pages still render, with links to a bundle that is not there.
fn bundle_name(site_dir: &std::path::Path) -> String {
    let path = site_dir.join("bundle.txt");
    match std::fs::read_to_string(&path) {
        Ok(name) if is_bundle_name(name.trim()) => name.trim().to_string(),
        _ => {
            tracing::warn!(path = %path.display(), "no browser bundle name: build the site (scripts/lib.sh build_site)");
            "huddle".to_string()
        }
    }
}

fn is_bundle_name(name: &str) -> bool {
    name.strip_prefix("huddle.").is_some_and(content_hash)
}

/// A content hash as the build puts in every bundle file name: 16 hex digits for the main
/// module, its JS and the stylesheet (`build_site`), 8 for the lazily loaded modules (the
/// splitter's `content_name`).
fn content_hash(s: &str) -> bool {
    (s.len() == 16 || s.len() == 8) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The browser bundle (wasm, JS, CSS), sent brotli- or gzip-compressed as the build left it
/// beside each file (`.br`, `.gz`), whichever the browser accepts (Leptos' file handler, which
/// served the rest, knows gzip only and sets no caching). A file whose name carries its content
/// hash never changes, so the browser keeps it for a year without asking again; the rest (the
/// split loader, whose name the main module's JS fixes) is revalidated every time (`no-cache` +
/// `Last-Modified`: a 304 costs no body).
fn bundle(dir: &std::path::Path) -> axum::routing::MethodRouter {
    let files = tower_http::services::ServeDir::new(dir).precompressed_br().precompressed_gzip();
    axum::routing::get_service(files).layer(axum::middleware::from_fn(bundle_caching))
}

async fn bundle_caching(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{HeaderValue, header::CACHE_CONTROL};
    let hashed = req.uri().path().rsplit('/').next().is_some_and(|file| file.split('.').any(content_hash));
    let mut res = next.run(req).await;
    let policy = if hashed && res.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static(policy));
    res
}

/// 200 when the database answers and there is room for more sockets, 503 otherwise (a load
/// balancer then sends new users elsewhere).
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.hub.is_stopping() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping");
    }
    if state.hub.sockets.saturated() {
        return (StatusCode::SERVICE_UNAVAILABLE, "at capacity");
    }
    if !state.hub.fanout().is_ready() {
        return (StatusCode::SERVICE_UNAVAILABLE, "Redis unavailable");
    }
    match sqlx::query("select 1").execute(&state.db).await {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
