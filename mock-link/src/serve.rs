//! The server lifecycle both mocks share: the accept loop (hyper's HTTP/1 server with a
//! header-read timeout, which also ends idle keep-alive connections, a cap on open connections
//! and a bounded graceful drain on shutdown) run in a background task that stops when shut
//! down or dropped. The body-read timeout is each mock's request middleware's.

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
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;

/// mock-link's connection limits; every value is configurable on the builder.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ServeLimits {
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

impl ServeLimits {
    /// What the accept loop needs of them; hyper's own refusals get mock-link's JSON bodies.
    pub(crate) fn options(&self) -> ServeOptions {
        ServeOptions {
            header_read_timeout: self.header_read_timeout,
            max_connections: self.max_connections,
            shutdown_grace: self.shutdown_grace,
            problem_bodies: true,
        }
    }
}

/// The body-read timeout, handed to the request middleware as a request extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyReadTimeout(pub Duration);

/// How the accept loop serves connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    /// Time a client has to send a whole request head (and an idle keep-alive connection to
    /// send its next one).
    pub header_read_timeout: Duration,
    /// Open connections at most; more wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests before closing their connections.
    pub shutdown_grace: Duration,
    /// Whether hyper's own empty-bodied refusals (400, 414, 431) get a JSON problem body
    /// `{"error": {"code", "message"}}`.
    pub problem_bodies: bool,
}

/// A server running in a background task; it stops when shut down or dropped.
#[derive(Debug)]
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// Serves `app` on `listener` in a background task.
    pub fn spawn(listener: TcpListener, app: Router, options: ServeOptions) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, options, async {
            let _ = stopped.await;
        }));
        Self {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops accepting connections, lets in-flight requests finish (at most the shutdown
    /// grace), and waits for the server task to end.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `app` on `listener` until `stop` completes, then stops accepting and lets in-flight
/// requests finish for at most `options.shutdown_grace`.
async fn serve(
    listener: TcpListener,
    app: Router,
    options: ServeOptions,
    stop: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
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
            TokioIo::new(ProblemBodies::new(stream, options.problem_bodies)),
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
    if tokio::time::timeout(options.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?options.shutdown_grace,
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
    /// Off: every write passes through.
    enabled: bool,
    /// A rewritten answer being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> ProblemBodies<T> {
    fn new(inner: T, enabled: bool) -> Self {
        Self {
            inner,
            enabled,
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
            let Some((code, message)) = problem_body(buf).filter(|_| this.enabled) else {
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

/// Ctrl-C or (on Unix) SIGTERM, the signal a process manager or `docker stop` sends: how a
/// binary is told to drain and exit. The SIGTERM handler is installed before this returns,
/// so a signal sent right after the binary says it is ready is not lost.
pub fn stop_signal() -> io::Result<impl Future<Output = io::Result<()>>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            interrupted = tokio::signal::ctrl_c() => interrupted?,
            _ = terminate.recv() => {}
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok(())
    })
}
