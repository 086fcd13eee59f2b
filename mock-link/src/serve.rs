//! The accept loop: hyper's HTTP/1 server with a header-read timeout (which also ends idle
//! keep-alive connections), a cap on open connections, a body-read timeout (applied by the
//! request middleware) and a bounded graceful drain on shutdown.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Connection limits; every value is configurable on the builder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServeLimits {
    /// Time a client has to send a whole request head, counted from the connection's start or
    /// the end of its previous answer: slow headers (slowloris) and idle keep-alive
    /// connections are closed after it.
    pub header_read_timeout: Duration,
    /// Time a client has to send the whole body once the head is read (a body shorter than
    /// its `Content-Length` gets 408 `request_timeout`).
    pub body_read_timeout: Duration,
    /// Open connections at most; more wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub shutdown_grace: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The body-read timeout, handed to the request middleware as a request extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub Duration);

/// Serves `app` on `listener` until `stop` completes, then stops accepting and lets in-flight
/// requests finish for at most `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServeLimits,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // Connection tasks, so that the ones still running after the grace are closed.
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stop => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors or a reset before accept: wait a little
                    // instead of spinning, then go on serving the open connections.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.shutdown_grace,
            "in-flight requests did not finish in time; closing their connections"
        );
    }
    connections.abort_all();
}
