//! The accept loop: hyper's HTTP/1 server with a header-read timeout (which also ends idle
//! keep-alive connections), a cap on open connections, a body-read timeout (applied by the
//! request middleware) and a bounded graceful drain on shutdown.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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
        .header_read_timeout(limits.header_read_timeout)
        // One buffer per write, so that ProblemBodies sees a refusal's head whole.
        .writev(false);
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
        let connection = builder.serve_connection(
            TokioIo::new(ProblemBodies::new(stream)),
            TowerToHyperService::new(app.clone()),
        );
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

/// The JSON body for a head hyper answers by itself (it cannot be given one): a request it
/// could not parse (400), a URI too long (414), too many or too large headers (431).
fn problem_body(head: &[u8]) -> Option<(&'static str, &'static str)> {
    const EMPTY: &[u8] = b"\r\ncontent-length: 0\r\n";
    if !head.ends_with(b"\r\n\r\n") || !head.windows(EMPTY.len()).any(|window| window == EMPTY) {
        return None;
    }
    [
        (
            &b"HTTP/1.1 400 "[..],
            "bad_request",
            "the request could not be parsed as HTTP/1.1",
        ),
        (
            &b"HTTP/1.1 414 "[..],
            "uri_too_long",
            "the request URI is too long",
        ),
        (
            &b"HTTP/1.1 431 "[..],
            "request_header_fields_too_large",
            "the request has too many or too large header fields",
        ),
    ]
    .into_iter()
    .find(|(status, ..)| head.starts_with(status))
    .map(|(_, code, message)| (code, message))
}

/// A connection whose writes pass through, except hyper's own empty-bodied refusals, which
/// get a JSON problem body in the API's error shape. mock-link's handlers never answer
/// 400, 414 or 431 with an empty body, so such a head can only come from hyper.
struct ProblemBodies<T> {
    inner: T,
    /// A rewritten answer being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemBodies<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ProblemBodies<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ProblemBodies<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            let Some((code, message)) = problem_body(buf) else {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            };
            let body = serde_json::json!({"error": {"code": code, "message": message}}).to_string();
            let head = String::from_utf8_lossy(&buf[..buf.len() - 2]).replace(
                "\r\ncontent-length: 0\r\n",
                &format!(
                    "\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    body.len()
                ),
            );
            this.pending = Some((format!("{head}\r\n{body}").into_bytes(), 0));
        }
        while let Some((answer, written)) = &mut this.pending {
            if *written == answer.len() {
                this.pending = None;
                break;
            }
            *written += ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*written..]))?;
        }
        // hyper's head counts as written once the rewritten answer is.
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
