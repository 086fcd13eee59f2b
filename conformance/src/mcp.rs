//! A minimal MCP client over stdio: JSON-RPC lines, responses matched by id,
//! so tool calls can run concurrently (a background poll and a foreground call).
//!
//! Servers that list their tools directly are called directly. Servers built
//! for progressive discovery (the public link-cli, on the incur framework)
//! list only `search_tools`, `get_tool_details`, `call_read_tool` and
//! `call_write_tool`: their catalogue is read through the first two, and each
//! operation goes through the call tool its `readOnlyHint` selects.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use crate::client_env::{ClientEnv, ClientError, OPERATION_BOUND};
use crate::output::Outcome;

type Pending = std::sync::Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A running MCP server.
pub struct McpSession {
    _child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    pending: Pending,
    next_id: AtomicU64,
    /// The catalogue of a discovery server (`None`: tools are listed directly).
    discovered: Option<Vec<Value>>,
}

/// The tools a progressive-discovery server lists instead of its own.
const DISCOVERY_TOOLS: [&str; 4] = [
    "search_tools",
    "get_tool_details",
    "call_read_tool",
    "call_write_tool",
];

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
        let mut session = Self {
            _child: child,
            stdin: tokio::sync::Mutex::new(stdin),
            pending,
            next_id: AtomicU64::new(1),
            discovered: None,
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
        let listed = session.listed_tools().await?;
        let names: Vec<&str> = listed.iter().filter_map(|t| t["name"].as_str()).collect();
        if DISCOVERY_TOOLS.iter().all(|d| names.contains(d)) {
            session.discovered = Some(session.discover().await?);
        }
        Ok(session)
    }

    /// Reads a discovery server's catalogue: every tool `search_tools` pages
    /// through, with the schema and annotations `get_tool_details` gives.
    async fn discover(&self) -> Result<Vec<Value>, ClientError> {
        let mut names = Vec::new();
        let mut offset = 0;
        loop {
            let page = self
                .direct_call(
                    "search_tools",
                    json!({"query": "", "limit": 20, "offset": offset}),
                )
                .await?;
            let page = page
                .last()
                .cloned()
                .ok_or_else(|| ClientError::Mcp(format!("search_tools: {}", page.describe())))?;
            for tool in page["tools"].as_array().into_iter().flatten() {
                if let Some(name) = tool["name"].as_str() {
                    names.push(name.to_owned());
                }
            }
            match page["nextOffset"].as_u64() {
                Some(next) if next > offset => offset = next,
                _ => break,
            }
        }
        let mut catalogue = Vec::new();
        for name in names {
            let details = self
                .direct_call("get_tool_details", json!({"name": name}))
                .await?;
            if let Some(tool) = details.last().filter(|_| details.exit == 0) {
                catalogue.push(tool.clone());
            }
        }
        Ok(catalogue)
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
        let Some(catalogue) = &self.discovered else {
            return self.direct_call(name, arguments).await;
        };
        let read_only = catalogue
            .iter()
            .find(|t| t["name"] == name)
            .is_some_and(|t| t["annotations"]["readOnlyHint"] == true);
        let via = if read_only {
            "call_read_tool"
        } else {
            "call_write_tool"
        };
        self.direct_call(via, json!({"name": name, "arguments": arguments}))
            .await
    }

    async fn direct_call(&self, name: &str, arguments: Value) -> Result<Outcome, ClientError> {
        let response = self
            .request("tools/call", json!({"name": name, "arguments": arguments}))
            .await?;
        if let Some(error) = response.get("error") {
            // A protocol error (unknown tool, bad arguments): an error the agent sees.
            let text = json!({"code": "MCP_ERROR", "message": error.get("message").cloned().unwrap_or(Value::Null)}).to_string();
            let mut outcome = Outcome::new(1, text, String::new());
            outcome.via_mcp = true;
            return Ok(outcome);
        }
        let result = &response["result"];
        let text: Vec<&str> = result["content"]
            .as_array()
            .map(|blocks| blocks.iter().filter_map(|b| b["text"].as_str()).collect())
            .unwrap_or_default();
        let exit = i32::from(result["isError"] == true);
        let text = text.join("\n");
        let mut outcome = Outcome::new(exit, text.clone(), String::new());
        outcome.via_mcp = true;
        if outcome.parse_error.is_some() {
            // JSON followed by prose for the model (a call-to-action block):
            // the leading JSON is the result.
            let leading: Vec<Value> = serde_json::Deserializer::from_str(&text)
                .into_iter::<Value>()
                .map_while(Result::ok)
                .collect();
            if !leading.is_empty() {
                outcome.values = leading;
                outcome.parse_error = None;
            }
        }
        Ok(outcome)
    }

    /// The server's tools with their input schemas: `tools/list`, or a
    /// discovery server's catalogue.
    pub async fn list_tools(&self) -> Result<Vec<Value>, ClientError> {
        match &self.discovered {
            Some(catalogue) => Ok(catalogue.clone()),
            None => self.listed_tools().await,
        }
    }

    /// `tools/list` as the server answers it.
    async fn listed_tools(&self) -> Result<Vec<Value>, ClientError> {
        let response = self.request("tools/list", json!({})).await?;
        Ok(response["result"]["tools"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}
