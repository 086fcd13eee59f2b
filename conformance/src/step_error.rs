//! Why a step failed: a check that did not hold, or a call that did not go
//! through. Every error the steps call into converts with `?`, and reads as its
//! own message (cucumber shows a failed step's error by its `Display`).

use crate::client_env::ClientError;
use crate::op::{Op, OpError};

/// Why a scenario's mocks or HOME could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("mock-link: {0}")]
    Link(#[source] std::io::Error),
    #[error("mock-merchant: {0}")]
    Merchant(#[from] mock_merchant::StartError),
    #[error("temp HOME: {0}")]
    Home(#[from] std::io::Error),
}

/// A failed step.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A check did not hold, or a step could not do what it says.
    #[error("{0}")]
    Failed(String),
    /// mock-link's control API refused or could not be reached.
    #[error(transparent)]
    LinkControl(#[from] mock_link::ControlError),
    /// A scenario's mock-merchant did not start.
    #[error(transparent)]
    MerchantStart(#[from] mock_merchant::StartError),
    /// A scenario's mocks (restarted by a step) did not start.
    #[error(transparent)]
    Setup(#[from] WorldError),
    /// The client under test could not be driven.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A feature's command line could not be read.
    #[error(transparent)]
    Command(#[from] OpError),
    /// An operation of the client under test could not be run.
    #[error("{op}: {source}")]
    Operation { op: String, source: ClientError },
    /// A command the client handed over (`_next.command`, `_next.pay_command`,
    /// ...) could not be read.
    #[error("_next.{field} {command:?}: {source}")]
    HandOver {
        field: &'static str,
        command: String,
        source: OpError,
    },
    /// An HTTP exchange of the suite itself (a page, a probe, a helper server).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The browser of an `@browser` step did not start (boxed: the error is large).
    #[error(transparent)]
    Browser(Box<headless_browser::BrowserError>),
}

impl From<headless_browser::BrowserError> for StepError {
    fn from(error: headless_browser::BrowserError) -> Self {
        Self::Browser(Box::new(error))
    }
}

impl StepError {
    /// `op` could not be run.
    pub fn operation(op: &Op, source: ClientError) -> Self {
        Self::Operation {
            op: op.to_string(),
            source,
        }
    }
}

/// Reads a command the client handed over in `_next.<field>`.
pub fn hand_over(field: &'static str, command: &str) -> StepResult<Op> {
    Op::parse(command).map_err(|source| StepError::HandOver {
        field,
        command: command.to_owned(),
        source,
    })
}

impl From<String> for StepError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

impl From<&str> for StepError {
    fn from(message: &str) -> Self {
        Self::Failed(message.to_owned())
    }
}

/// What a step returns; `T` for the helpers steps share.
pub type StepResult<T = ()> = Result<T, StepError>;

/// Passes when `ok`, fails with `message` otherwise.
pub fn check(ok: bool, message: impl FnOnce() -> String) -> StepResult {
    if ok {
        Ok(())
    } else {
        Err(StepError::Failed(message()))
    }
}

/// Fails the step with a formatted message, as `anyhow::bail!` does.
macro_rules! bail {
    ($($message:tt)*) => {
        return Err($crate::step_error::StepError::Failed(format!($($message)*)))
    };
}
pub(crate) use bail;
