//! The listener's limits (D4, D7): a header-read timeout (which also closes
//! idle keep-alive connections), a cap on open connections (the excess waits
//! in the kernel's backlog), and a graceful shutdown that stops accepting,
//! lets in-flight requests finish, and gives up after a bound. The loop is
//! mock-link's (`mock_link::serve`), shared by both mocks; the body timeout
//! is [`crate::server`]'s.

use std::time::Duration;

use mock_link::serve::ServeOptions;

/// How long connections may take, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's headers must arrive within this, counted from when the
    /// connection waits for them (so an idle keep-alive connection is closed
    /// after it too). Default 10 s.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this once its headers did
    /// (408 otherwise). Default 10 s.
    pub body_timeout: Duration,
    /// Open connections at most; more wait to be accepted. Default 512.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests. Default 10 s.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 512,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// What the shared accept loop (`mock_link::serve`) needs of them; hyper's own refusals
    /// keep their empty bodies.
    pub(crate) fn options(&self) -> ServeOptions {
        ServeOptions {
            header_read_timeout: self.header_read_timeout,
            max_connections: self.max_connections,
            shutdown_grace: self.drain_timeout,
            problem_bodies: false,
        }
    }
}
