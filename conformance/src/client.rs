//! Client adapters: a command-line client run as a process per operation, or
//! an MCP server over stdio called with tools.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

pub use crate::client_env::{ClientEnv, ClientError, OPERATION_BOUND};
use crate::mcp::McpSession;
use crate::op::Op;
use crate::output::Outcome;

/// The client under test, as configured for the whole run.
#[derive(Debug, Clone)]
pub enum ClientSpec {
    /// `<program> <args> <group> <command> ... --format json`.
    Command(Vec<String>),
    /// `<program> <args>` speaks MCP over stdio.
    Mcp(Vec<String>),
}

impl ClientSpec {
    /// A short label for reports.
    pub fn label(&self) -> String {
        match self {
            ClientSpec::Command(words) => format!("cli: {}", words.join(" ")),
            ClientSpec::Mcp(words) => format!("mcp: {}", words.join(" ")),
        }
    }
}

/// One scenario's connection to the client.
pub enum Client {
    Command(Vec<String>),
    Mcp(Arc<McpSession>),
}

impl Client {
    /// Connects (for MCP: starts the server and initializes it).
    pub async fn connect(spec: &ClientSpec, env: &ClientEnv) -> Result<Self, ClientError> {
        Ok(match spec {
            ClientSpec::Command(words) => Client::Command(words.clone()),
            ClientSpec::Mcp(words) => Client::Mcp(Arc::new(McpSession::start(words, env).await?)),
        })
    }

    /// Whether this is an MCP connection.
    pub fn is_mcp(&self) -> bool {
        matches!(self, Client::Mcp(_))
    }

    /// Runs an operation to its end.
    pub async fn run(&self, op: &Op, env: &ClientEnv) -> Result<Outcome, ClientError> {
        let mut background = self.start(op, env).await?;
        background.finish(OPERATION_BOUND).await
    }

    /// Runs an operation for a person to read (no `--format`); command clients only.
    pub async fn run_human(&self, op: &Op, env: &ClientEnv) -> Result<Outcome, ClientError> {
        let Client::Command(words) = self else {
            return Err(ClientError::Mcp(
                "human output needs a command client".into(),
            ));
        };
        let (program, fixed) = words.split_first().ok_or_else(|| ClientError::Spawn {
            program: String::new(),
            source: std::io::Error::other("empty client command"),
        })?;
        let mut cmd = Command::new(program);
        cmd.args(fixed).args(op.human_args());
        env.apply_to(&mut cmd);
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        let output = tokio::time::timeout(OPERATION_BOUND, cmd.output())
            .await
            .map_err(|_| ClientError::Timeout(op.to_string(), OPERATION_BOUND))??;
        Ok(Outcome {
            exit: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            ..Outcome::default()
        })
    }

    /// Starts an operation in the background.
    pub async fn start(&self, op: &Op, env: &ClientEnv) -> Result<Background, ClientError> {
        match self {
            Client::Command(words) => {
                let (program, fixed) = words.split_first().ok_or_else(|| ClientError::Spawn {
                    program: String::new(),
                    source: std::io::Error::other("empty client command"),
                })?;
                let mut cmd = Command::new(program);
                cmd.args(fixed).args(op.cli_args());
                env.apply_to(&mut cmd);
                cmd.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                let mut child = cmd.spawn().map_err(|source| ClientError::Spawn {
                    program: program.clone(),
                    source,
                })?;
                let stdout = child
                    .stdout
                    .take()
                    .ok_or_else(|| std::io::Error::other("no stdout"))?;
                let mut stderr = child
                    .stderr
                    .take()
                    .ok_or_else(|| std::io::Error::other("no stderr"))?;
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                });
                let stderr_task = tokio::spawn(async move {
                    let mut text = String::new();
                    let _ = stderr.read_to_string(&mut text).await;
                    text
                });
                Ok(Background::Process {
                    list: op.is_list(),
                    label: op.to_string(),
                    child,
                    lines: rx,
                    seen: Vec::new(),
                    stderr: Some(stderr_task),
                })
            }
            Client::Mcp(session) => {
                let session = Arc::clone(session);
                let (name, arguments) = op.tool_call();
                let label = op.to_string();
                let task = tokio::spawn(async move { session.call(&name, arguments).await });
                Ok(Background::Tool {
                    list: op.is_list(),
                    label,
                    task: Some(task),
                    done: None,
                })
            }
        }
    }
}

/// An operation still running.
pub enum Background {
    Process {
        /// A list command: an array is its result, not the objects it yielded.
        list: bool,
        label: String,
        child: Child,
        lines: mpsc::UnboundedReceiver<String>,
        seen: Vec<String>,
        stderr: Option<tokio::task::JoinHandle<String>>,
    },
    Tool {
        list: bool,
        label: String,
        task: Option<tokio::task::JoinHandle<Result<Outcome, ClientError>>>,
        done: Option<Outcome>,
    },
}

impl Background {
    /// Waits for the first JSON object the operation yields (a tool call
    /// yields everything when it returns).
    pub async fn first_value(
        &mut self,
        bound: Duration,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        match self {
            Background::Process {
                label, lines, seen, ..
            } => {
                let deadline = tokio::time::Instant::now() + bound;
                loop {
                    if let Some(v) = crate::output::first_yielded(&seen.join("\n")) {
                        return Ok(Some(v));
                    }
                    match tokio::time::timeout_at(deadline, lines.recv()).await {
                        Ok(Some(line)) => seen.push(line),
                        Ok(None) => return Ok(None),
                        Err(_) => return Err(ClientError::Timeout(label.clone(), bound)),
                    }
                }
            }
            Background::Tool {
                label, task, done, ..
            } => {
                if done.is_none() {
                    let handle = task
                        .take()
                        .ok_or_else(|| ClientError::Mcp("tool call lost".into()))?;
                    let outcome = tokio::time::timeout(bound, handle)
                        .await
                        .map_err(|_| ClientError::Timeout(label.clone(), bound))?
                        .map_err(|e| ClientError::Mcp(e.to_string()))??;
                    *done = Some(outcome);
                }
                Ok(done
                    .clone()
                    .and_then(|o| o.flatten_yielded().first().cloned()))
            }
        }
    }

    /// Waits for the operation to end.
    pub async fn finish(&mut self, bound: Duration) -> Result<Outcome, ClientError> {
        match self {
            Background::Process {
                list,
                label,
                child,
                lines,
                seen,
                stderr,
            } => {
                let deadline = tokio::time::Instant::now() + bound;
                loop {
                    match tokio::time::timeout_at(deadline, lines.recv()).await {
                        Ok(Some(line)) => seen.push(line),
                        Ok(None) => break,
                        Err(_) => {
                            let _ = child.start_kill();
                            return Err(ClientError::Timeout(label.clone(), bound));
                        }
                    }
                }
                let status = tokio::time::timeout_at(deadline, child.wait())
                    .await
                    .map_err(|_| ClientError::Timeout(label.clone(), bound))??;
                let stderr = match stderr.take() {
                    Some(task) => task.await.unwrap_or_default(),
                    None => String::new(),
                };
                let mut stdout = seen.join("\n");
                stdout.push('\n');
                let outcome = Outcome::new(status.code().unwrap_or(-1), stdout, stderr);
                Ok(if *list {
                    outcome
                } else {
                    outcome.flatten_yielded()
                })
            }
            Background::Tool { .. } => {
                self.first_value(bound).await?;
                match self {
                    Background::Tool {
                        done: Some(outcome),
                        list,
                        ..
                    } => Ok(if *list {
                        outcome.clone()
                    } else {
                        outcome.clone().flatten_yielded()
                    }),
                    _ => Err(ClientError::Mcp("tool call lost".into())),
                }
            }
        }
    }
}
