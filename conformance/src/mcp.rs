//! A minimal MCP client over stdio: JSON-RPC lines, responses matched by id,
//! so tool calls can run concurrently (a background poll and a foreground call).

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use crate::client::{ClientEnv, ClientError, OPERATION_BOUND};
use crate::output::Outcome;

type Pending = std::sync::Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A running MCP server.
pub struct McpSession {
    _child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    pending: Pending,
    next_id: AtomicU64,
}

impl McpSession {
    /// Starts `words` with the scenario's environment and initializes it.
    pub async fn start(words: &[String], env: &ClientEnv) -> Result<Self, ClientError> {
        let (program, args) = words
            .split_first()
            .ok_or_else(|| ClientError::Mcp("empty MCP command".into()))?;
        let mut cmd = Command::new(program);
        cmd.args(args);
        env.apply_to(&mut cmd);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|source| ClientError::Spawn {
            program: program.clone(),
            source,
        })?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| ClientError::Mcp("no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ClientError::Mcp("no stdout".into()))?;
        let pending: Pending = Default::default();
        let routes = pending.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(message) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if let Some(id) = message.get("id").and_then(Value::as_u64)
                    && message.get("method").is_none()
                {
                    let sender = routes.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                    if let Some(sender) = sender {
                        let _ = sender.send(message);
                    }
                }
            }
            // The server closed stdout: fail everything still waiting.
            routes.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        let session = Self {
            _child: child,
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(1),
        };
        let init = session
            .request(
                "initialize",
                json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "link-conformance", "version": env!("CARGO_PKG_VERSION")}}),
            )
            .await?;
        if init.get("result").is_none() {
            return Err(ClientError::Mcp(format!("initialize failed: {init}")));
        }
        session
            .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?;
        Ok(session)
    }

    async fn send(&self, message: Value) -> Result<(), ClientError> {
        let mut stdin = self.stdin.lock().await;
        stdin.write_all(format!("{message}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// A JSON-RPC request; the whole response.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await?;
        match tokio::time::timeout(OPERATION_BOUND, rx).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(_)) => Err(ClientError::Mcp(format!(
                "the server closed stdout during {method}"
            ))),
            Err(_) => Err(ClientError::Timeout(method.to_owned(), OPERATION_BOUND)),
        }
    }

    /// Calls a tool: the text content read as the CLI's output, `isError` as exit 1.
    pub async fn call(&self, name: &str, arguments: Value) -> Result<Outcome, ClientError> {
        let response = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        if let Some(error) = response.get("error") {
            // A protocol error (unknown tool, bad arguments): an error the agent sees.
            let text = json!({"code": "MCP_ERROR", "message": error.get("message").cloned().unwrap_or(Value::Null)}).to_string();
            return Ok(Outcome::new(1, text, String::new()));
        }
        let result = &response["result"];
        let text: Vec<&str> = result["content"]
            .as_array()
            .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
            .unwrap_or_default();
        let exit = i32::from(result["isError"] == true);
        Ok(Outcome::new(exit, text.join("\n"), String::new()))
    }

    /// `tools/list`.
    pub async fn list_tools(&self) -> Result<Vec<Value>, ClientError> {
        let response = self.request("tools/list", json!({})).await?;
        Ok(response["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}
