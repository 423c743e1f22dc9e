//! Prometheus metrics on a listener of their own, `HUDDLE_METRICS_ADDR` (off by default: the
//! main listener never serves them, so a proxy in front cannot expose them by mistake).
//!
//! The recorder is `metrics-exporter-prometheus` behind the `metrics` facade the app counts
//! with (`app::server::metrics` names everything); levels (sockets, calls, the database pool)
//! are read at each scrape. Histograms have buckets, so several nodes' figures add up.

use app::server::hub::Hub;
use app::server::metrics as m;
use app::server::db::Db;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const BATCHES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

/// The process's recorder, installed on first use (once per process: tests build many
/// servers in one). `None` if another recorder was installed first.
pub fn recorder() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let built = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(m::HTTP_DURATION.into()), SECONDS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(m::COMMIT_DURATION.into()), SECONDS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Full(m::COMMIT_BATCH.into()), BATCHES))
                .and_then(|b| b.install_recorder());
            match built {
                Ok(handle) => {
                    m::describe();
                    Some(handle)
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot install the metrics recorder");
                    None
                }
            }
        })
        .clone()
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    hub: Hub,
    db: Db,
}

/// Serves `GET /metrics` on `listener` until `stop` completes.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle, hub: Hub, db: Db, stop: impl Future<Output = ()> + Send + 'static) {
    // Histograms are kept as buckets; upkeep drops what the recorder no longer needs, scraped
    // or not; it ends with the listener.
    let upkeep = handle.clone();
    let upkeep = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    let router = axum::Router::new().route("/metrics", get(scrape)).with_state(Scrape { handle, hub, db });
    if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
        tracing::error!(error = %e, "the metrics listener failed");
    }
    upkeep.abort();
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    metrics::gauge!(m::SOCKETS_OPEN).set(s.hub.sockets.open() as f64);
    let (calls, seats) = s.hub.calls.load();
    metrics::gauge!(m::CALLS).set(calls as f64);
    metrics::gauge!(m::SEATS).set(seats as f64);
    let (open, idle) = (s.db.size() as f64, s.db.num_idle() as f64);
    metrics::gauge!(m::DB_POOL, "state" => "idle").set(idle);
    metrics::gauge!(m::DB_POOL, "state" => "in_use").set(open - idle);
    metrics::gauge!(m::DB_POOL_MAX).set(f64::from(s.db.options().get_max_connections()));
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.handle.render())
}

/// Counts every request by its route (the pattern, never the raw path: the label set stays
/// small whatever URLs are asked for), method and status, and times it.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = match *req.method() {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::HEAD => "HEAD",
        _ => "other",
    };
    let began = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::counter!(m::HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!(m::HTTP_DURATION, "route" => route, "method" => method).record(began.elapsed().as_secs_f64());
    res
}
