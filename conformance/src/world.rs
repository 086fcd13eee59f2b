//! One scenario's world: its own mock-link, mock-merchant, HOME and client.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mock_link::MockLink;
use mock_merchant::MockMerchant;
use serde_json::Value;

use crate::client::{Background, Client, ClientEnv, ClientSpec, OPERATION_BOUND};
use crate::op::Op;
use crate::output::Outcome;
use crate::route::MerchantRoute;
use crate::step_error::{StepError, StepResult, WorldError, bail, hand_over};

/// The run's configuration, set once before the scenarios start.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The client every scenario drives.
    pub client: ClientSpec,
    /// The MCP server `@mcp` scenarios drive when the client is a command.
    pub mcp: Option<Vec<String>>,
    /// Optional behaviours the client declares it has (`+name` lines of a
    /// capabilities file), e.g. `mcp-error-codes`.
    pub declared: Vec<String>,
}

/// Over MCP, a failure is a tool result with `isError: true`; its error code
/// is compared only for a client that declares this (MCP-02).
pub const MCP_ERROR_CODES: &str = "mcp-error-codes";

/// Whether the client under test declared an optional behaviour.
pub fn declares(capability: &str) -> bool {
    suite().is_some_and(|s| s.declared.iter().any(|c| c == capability))
}

static SUITE: OnceLock<Suite> = OnceLock::new();

/// Sets the run's configuration (first call wins).
pub fn configure(suite: Suite) {
    let _ = SUITE.set(suite);
}

/// The run's configuration.
pub fn suite() -> Option<&'static Suite> {
    SUITE.get()
}

/// A context of more than 100 characters, as Link requires.
pub const CONTEXT: &str = "The agent is buying one annual subscription to the Example Times for the user, as they asked in this conversation today.";

/// A background task stopped when the scenario's world is dropped.
#[derive(Debug)]
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The world of one scenario.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub struct LinkWorld {
    pub link: MockLink,
    pub shop: MockMerchant,
    pub home: tempfile::TempDir,
    pub env: ClientEnv,
    /// Use the MCP server for this scenario (`@mcp`).
    pub use_mcp: bool,
    client: Option<Client>,
    /// The last finished operation.
    pub last: Option<Outcome>,
    /// The operation running in the background.
    pub background: Option<Background>,
    /// The first object of the background operation.
    pub first: Option<Value>,
    /// The spend request the scenario is about: the last one the agent
    /// created (read with [`LinkWorld::spend_request_id`]).
    spend_request: Option<String>,
    /// Request-log length when the last operation started.
    pub mark: usize,
    /// Tokens Link had issued when the login finished (for revocation checks).
    pub tokens: Vec<String>,
    pub refresh_tokens: Vec<String>,
    pub started: Instant,
    /// The property-based decoding run, if any.
    pub decoding: Option<Decoding>,
    /// Helper servers of this scenario (e.g. an update feed), stopped with it.
    pub servers: Vec<AbortOnDrop>,
    /// Extra values steps keep (e.g. a first spend request id).
    pub notes: std::collections::HashMap<String, String>,
    /// The agent's last `spend-request retrieve --interval`, polled again
    /// when a client returns at a status change without a `_next`.
    pub polling: Option<Op>,
}

/// What a property-based decoding run checked (`steps/decoding.rs` fills it, its checks read
/// it).
#[derive(Debug, Default)]
pub struct Decoding {
    pub seed: u64,
    pub checked: usize,
    pub skipped: usize,
    pub mismatches: Vec<String>,
}

impl std::fmt::Debug for LinkWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkWorld")
            .field("link", &self.link.base_url())
            .field("home", &self.home.path())
            .field("spend_request", &self.spend_request)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl LinkWorld {
    /// A fresh scenario: mocks on ephemeral ports, an empty HOME.
    pub async fn new() -> Result<Self, WorldError> {
        let link =
            Self::start_link(MockLink::builder().device_poll_interval(Duration::ZERO)).await?;
        let shop = Self::start_shop(&link).await?;
        let home = tempfile::tempdir()?;
        let env = ClientEnv {
            home: home.path().to_path_buf(),
            link_url: link.base_url().to_owned(),
            extra: Vec::new(),
        };
        Ok(Self {
            link,
            shop,
            home,
            env,
            use_mcp: false,
            client: None,
            last: None,
            background: None,
            first: None,
            spend_request: None,
            mark: 0,
            tokens: Vec::new(),
            refresh_tokens: Vec::new(),
            started: Instant::now(),
            decoding: None,
            servers: Vec::new(),
            notes: Default::default(),
            polling: None,
        })
    }

    async fn start_link(builder: mock_link::MockLinkBuilder) -> Result<MockLink, WorldError> {
        builder.start().await.map_err(WorldError::Link)
    }

    async fn start_shop(link: &MockLink) -> Result<MockMerchant, WorldError> {
        Ok(MockMerchant::builder()
            .link(link.base_url())
            .start()
            .await?)
    }

    /// Replaces mock-link (and the merchant that settles there) before anything ran.
    pub async fn restart_link(&mut self, builder: mock_link::MockLinkBuilder) -> StepResult {
        let link = Self::start_link(builder).await?;
        let shop = Self::start_shop(&link).await?;
        self.env.link_url = link.base_url().to_owned();
        let old_link = std::mem::replace(&mut self.link, link);
        let old_shop = std::mem::replace(&mut self.shop, shop);
        old_shop.shutdown().await;
        old_link.shutdown().await;
        self.client = None;
        Ok(())
    }

    /// Replaces mock-merchant (e.g. with another challenge lifetime).
    pub async fn restart_shop(&mut self, lifetime: Duration) -> StepResult {
        let shop = MockMerchant::builder()
            .link(self.link.base_url())
            .challenge_lifetime(lifetime)
            .start()
            .await?;
        let old = std::mem::replace(&mut self.shop, shop);
        old.shutdown().await;
        Ok(())
    }

    /// Adds a variable to the client's environment (an MCP server is
    /// restarted to see it).
    pub fn add_env(&mut self, key: &str, value: String) {
        self.env.extra.push((key.to_owned(), value));
        if self.client.as_ref().is_some_and(Client::is_mcp) {
            self.client = None;
        }
    }

    async fn client(&mut self) -> StepResult<&Client> {
        if self.client.is_none() {
            let suite = suite().ok_or("the suite is not configured")?;
            let spec = if self.use_mcp {
                match (&suite.client, &suite.mcp) {
                    (ClientSpec::Mcp(words), _) => ClientSpec::Mcp(words.clone()),
                    (_, Some(words)) => ClientSpec::Mcp(words.clone()),
                    (_, None) => return Err("this scenario needs an MCP server (--mcp)".into()),
                }
            } else {
                suite.client.clone()
            };
            self.client = Some(Client::connect(&spec, &self.env).await?);
        }
        Ok(self.client.as_ref().expect("just connected"))
    }

    /// Whether the scenario drives an MCP server.
    pub async fn is_mcp(&mut self) -> StepResult<bool> {
        Ok(self.client().await?.is_mcp())
    }

    /// The MCP session, for tool listing.
    pub async fn mcp_session(&mut self) -> StepResult<std::sync::Arc<crate::mcp::McpSession>> {
        match self.client().await? {
            Client::Mcp(session) => Ok(session.clone()),
            Client::Command(_) => Err("not an MCP client".into()),
        }
    }

    /// The spend request the scenario is about: the last one the agent created.
    pub fn spend_request_id(&self) -> StepResult<&str> {
        self.spend_request
            .as_deref()
            .ok_or_else(|| "no spend request in this scenario".into())
    }

    /// Fills placeholders: `{id}` (the spend request), `{context}`, `{link}`,
    /// `{merchant:<id>/<path>}`, `{note:<name>}`.
    pub fn expand(&self, text: &str) -> String {
        let mut out = text
            .replace("{context}", &format!("'{CONTEXT}'"))
            .replace("{link}", self.link.base_url())
            .replace("{merchant}", &format!("{}/m", self.shop.base_url()));
        if let Some(id) = &self.spend_request {
            out = out.replace("{id}", id);
        }
        for (name, value) in &self.notes {
            out = out.replace(&format!("{{note:{name}}}"), value);
        }
        while let Some(start) = out.find("{merchant:") {
            let Some(len) = out[start..].find('}') else {
                break;
            };
            let Ok(route) = out[start + "{merchant:".len()..start + len].parse::<MerchantRoute>();
            out.replace_range(start..start + len + 1, &route.url(&self.shop));
        }
        out
    }

    /// Reads a command line with placeholders.
    pub fn op(&self, text: &str) -> StepResult<Op> {
        Ok(Op::parse(&self.expand(text))?)
    }

    /// Runs an operation to its end; it becomes `last`.
    pub async fn run(&mut self, op: &Op) -> StepResult<&Outcome> {
        self.mark = self.request_log().await?.len();
        let env = self.env.clone();
        let outcome = self
            .client()
            .await?
            .run(op, &env)
            .await
            .map_err(|e| StepError::operation(op, e))?;
        if op.group == "spend-request"
            && op.command == "create"
            && outcome.exit == 0
            && let Some(id) = outcome
                .last()
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
        {
            self.spend_request = Some(id.to_owned());
        }
        self.last = Some(outcome);
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Runs a command line.
    pub async fn run_text(&mut self, text: &str) -> StepResult<&Outcome> {
        let op = self.op(text)?;
        self.run(&op).await
    }

    /// Runs a command line for a person to read; it becomes `last` (no JSON).
    pub async fn run_human(&mut self, text: &str) -> StepResult<&Outcome> {
        let op = self.op(text)?;
        let env = self.env.clone();
        let outcome = self
            .client()
            .await?
            .run_human(&op, &env)
            .await
            .map_err(|e| StepError::operation(&op, e))?;
        self.last = Some(outcome);
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Runs many operations, `at_once` at a time; outcomes in order.
    pub async fn run_many(&mut self, ops: &[Op], at_once: usize) -> StepResult<Vec<Outcome>> {
        use futures::StreamExt as _;
        let env = self.env.clone();
        let client = self.client().await?;
        let outcomes: Vec<StepResult<Outcome>> = futures::stream::iter(ops)
            .map(|op| {
                let env = env.clone();
                async move {
                    client
                        .run(op, &env)
                        .await
                        .map_err(|e| StepError::operation(op, e))
                }
            })
            .buffered(at_once.max(1))
            .collect()
            .await;
        outcomes.into_iter().collect()
    }

    /// Starts an operation in the background and waits for its first object.
    pub async fn start(&mut self, op: &Op) -> StepResult {
        self.remember_polling(op);
        self.mark = self.request_log().await?.len();
        let env = self.env.clone();
        let mut background = self
            .client()
            .await?
            .start(op, &env)
            .await
            .map_err(|e| StepError::operation(op, e))?;
        // A login prints its URL at once; a poll prints only at its end.
        if op.group == "auth" && op.command == "login" {
            self.first = background.first_value(OPERATION_BOUND).await?;
        }
        self.background = Some(background);
        Ok(())
    }

    /// Waits for the background operation; it becomes `last`.
    pub async fn finish(&mut self) -> StepResult<&Outcome> {
        let mut background = self
            .background
            .take()
            .ok_or("nothing runs in the background")?;
        let outcome = background.finish(OPERATION_BOUND).await?;
        self.last = Some(outcome);
        Ok(self.last.as_ref().expect("just set"))
    }

    /// Remembers `op` when it polls a spend request.
    pub fn remember_polling(&mut self, op: &Op) {
        if op.group == "spend-request" && op.command == "retrieve" && op.flag("interval").is_some()
        {
            self.polling = Some(op.clone());
        }
    }

    /// SR-17: a 1.x client's poll returns at any status change, with a
    /// `_next.command` to poll on or none; while the request still waits for
    /// the user, the agent follows it, or polls again as it did (a 0.13.1
    /// client returns only once the waiting is over). Bounded.
    pub async fn follow_polling(&mut self) -> StepResult {
        const MOST_HAND_OVERS: usize = 10;
        for _ in 0..MOST_HAND_OVERS {
            let out = self.last()?;
            let Some(value) = out.last().filter(|_| out.exit == 0) else {
                return Ok(());
            };
            let auto_resume = value
                .pointer("/status_details/requires_action/next_action/resolution")
                .is_some_and(|r| r == "auto_resume");
            let waiting = match value.get("status").and_then(Value::as_str) {
                Some("created" | "pending_approval") => true,
                Some("requires_action") => auto_resume,
                _ => false,
            };
            if !waiting {
                return Ok(());
            }
            let op = match value.pointer("/_next/command").and_then(Value::as_str) {
                Some(command) => hand_over("command", command)?,
                None => match &self.polling {
                    Some(op) => op.clone(),
                    None => return Ok(()),
                },
            };
            if (op.group.as_str(), op.command.as_str()) != ("spend-request", "retrieve") {
                return Ok(());
            }
            self.run(&op).await?;
        }
        Ok(())
    }

    /// The last outcome.
    pub fn last(&self) -> StepResult<&Outcome> {
        self.last
            .as_ref()
            .ok_or_else(|| "the agent ran nothing yet".into())
    }

    /// Runs `_next.command` of the last output if the client handed over.
    /// Follows a payment the client handed back before paying: a whole-flow
    /// `mpp pay` that created the spend request and returned with
    /// `_next.pay_command` (and `_next.poll_command` to wait for approval), as
    /// the public client does. The pay command's outcome becomes `last`.
    pub async fn follow_pay_hand_over(&mut self) -> StepResult {
        let Some(next) = self.last()?.last().and_then(|v| v.get("_next")).cloned() else {
            return Ok(());
        };
        let Some(pay) = next.get("pay_command").and_then(Value::as_str) else {
            return Ok(());
        };
        if let Some(poll) = next.get("poll_command").and_then(Value::as_str) {
            let op = hand_over("poll_command", poll)?;
            let polled = self.run(&op).await?;
            if polled.exit != 0 {
                return Ok(());
            }
        }
        let op = hand_over("pay_command", pay)?;
        self.run(&op).await?;
        Ok(())
    }

    pub async fn follow_next(&mut self) -> StepResult {
        let next = self
            .last()?
            .last()
            .and_then(|v| v.pointer("/_next/command"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(command) = next {
            let op = hand_over("command", &command)?;
            self.run(&op).await?;
        }
        Ok(())
    }

    /// The scenario's spend request as Link holds it (control API).
    pub async fn spend_request_at_link(&self) -> StepResult<Value> {
        let id = self.spend_request_id()?;
        Ok(self.link.control().spend_request(id).await?)
    }

    /// The field `name` of the first login (device code) mock-link saw.
    pub async fn login_field(&self, name: &str) -> StepResult<Option<String>> {
        let codes = self.link.control().get("/device_codes").await?;
        Ok(codes
            .pointer(&format!("/data/0/{name}"))
            .and_then(Value::as_str)
            .map(str::to_owned))
    }

    /// The request log of mock-link, as the wire shows it (the checks read JSON members).
    pub async fn request_log(&self) -> StepResult<Vec<Value>> {
        as_json(self.link.control().received_requests().await?)
    }

    /// Requests that reached mock-link during the last operation (and after).
    pub async fn requests_since_mark(&self) -> StepResult<Vec<Value>> {
        Ok(self
            .request_log()
            .await?
            .into_iter()
            .skip(self.mark)
            .collect())
    }

    /// mock-link's credential ledger, as the wire shows it.
    pub async fn link_ledger(&self) -> StepResult<Vec<Value>> {
        as_json(self.link.control().ledger().await?)
    }

    /// The phrase of the pending login (from the first object of the login).
    pub fn phrase(&self) -> StepResult<String> {
        self.first
            .as_ref()
            .or_else(|| self.last.as_ref().and_then(Outcome::first))
            .and_then(|v| v.get("phrase"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no phrase in the login output: {:?}", self.first).into())
    }

    /// Logs in through the client: `auth login --interval 0`, the user approves
    /// (as `user`), then the login is finished as the client says.
    pub async fn login(&mut self, user: Option<&str>) -> StepResult {
        let op = Op::parse("auth login --client-name conformance")?;
        self.start(&op).await?;
        let phrase = self.phrase()?;
        let control = self.link.control();
        match user {
            Some(user) => control.approve_device_as(&phrase, user).await,
            None => control.approve_device(&phrase).await,
        }?;
        self.finish().await?;
        // The user has approved already: a single `auth status` finishes a
        // handed-over login (the contract's `_next` would wait an interval first).
        let handed_over = self
            .last()?
            .last()
            .is_some_and(|v| v["authenticated"] != true && v.pointer("/_next/command").is_some());
        if handed_over {
            let login = self.last.clone();
            let status = self.run_text("auth status").await?;
            if status.last().is_none_or(|v| v["authenticated"] != true) {
                // Not finished by one status call: follow the hand-over as given.
                self.last = login;
            }
        }
        self.complete_login().await?;
        self.snapshot_tokens().await
    }

    /// Follows the client's hand-over until it says `authenticated: true`.
    pub async fn complete_login(&mut self) -> StepResult {
        let authenticated = |w: &Self| {
            w.last
                .as_ref()
                .and_then(Outcome::last)
                .is_some_and(|v| v["authenticated"] == true)
        };
        if !authenticated(self) {
            self.follow_next().await?;
        }
        if !authenticated(self) {
            bail!(
                "the login did not end authenticated: {}",
                self.last()?.describe()
            );
        }
        Ok(())
    }

    /// Every token mock-link has issued, read through its control API (so the suite
    /// would work the same against a mock-link in another process).
    pub async fn issued_tokens(&self) -> StepResult<Vec<Value>> {
        Ok(self.link.control().tokens().await?)
    }

    /// The users with a live (not revoked) session at Link.
    pub async fn signed_in_users(&self) -> StepResult<Vec<String>> {
        let mut users: Vec<String> = self
            .issued_tokens()
            .await?
            .iter()
            .filter(|t| t["revoked"] == false)
            .filter_map(|t| t["user_id"].as_str().map(str::to_owned))
            .collect();
        users.sort();
        users.dedup();
        Ok(users)
    }

    /// Remembers the tokens mock-link has issued so far.
    pub async fn snapshot_tokens(&mut self) -> StepResult {
        let issued = self.issued_tokens().await?;
        let of_kind = |kind: &str| {
            issued
                .iter()
                .filter(|t| t["kind"] == kind && t["used"] == false)
                .filter_map(|t| t["token"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        self.tokens = of_kind("access");
        self.refresh_tokens = of_kind("refresh");
        Ok(())
    }

    /// The id field of the last output.
    pub fn last_id(&self) -> StepResult<String> {
        self.last()?
            .last()
            .and_then(|v| v.get("id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!(
                    "no id in the output: {}",
                    self.last().map(Outcome::describe).unwrap_or_default()
                )
                .into()
            })
    }
}

/// Typed records as the JSON objects the control API answered.
fn as_json<T: serde::Serialize>(records: Vec<T>) -> StepResult<Vec<Value>> {
    Ok(records
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?)
}
