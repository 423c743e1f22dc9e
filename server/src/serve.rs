//! The accept loop: hyper's HTTP/1 server with the time and size limits `axum::serve` does
//! not let us set. A client gets 10 s to send a request's headers (which also ends a connection
//! left idle between requests, and one dripping a header at a time) and 16 KiB for them (431
//! beyond); handlers get 30 s to answer and bodies 10 s to arrive (both in the router).

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

/// How long a client may take to send a request's headers, or stay idle between requests.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The most header bytes a request may carry.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections in
/// flight finish (open WebSockets are closed by the hub's tasks ending with the runtime).
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let mut shutdown = pin!(shutdown);
    // Dropped to tell every connection to finish; each holds a receiver until it has.
    let (stop, stopping) = watch::channel(());
    let (done, finished) = watch::channel(());
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // Without TCP_NODELAY a small frame written right after another waits for the peer's
        // delayed ACK (40 ms): chat p99 showed it.
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
        tokio::spawn(connection(tcp, remote, router.clone(), stopping.clone(), finished.clone()));
    }
    drop(stop);
    drop(finished);
    done.closed().await;
    Ok(())
}

async fn connection(tcp: tokio::net::TcpStream, remote: SocketAddr, router: Router, mut stopping: watch::Receiver<()>, _done: watch::Receiver<()>) {
    let service = router.map_request(move |mut req: axum::extract::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(remote));
        req.map(axum::body::Body::new)
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT).max_header_size(MAX_HEADER_BYTES);
    let conn = builder.serve_connection(TokioIo::new(tcp), TowerToHyperService::new(service)).with_upgrades();
    let mut conn = pin!(conn);
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed() => conn.as_mut().graceful_shutdown(),
        }
    }
}
