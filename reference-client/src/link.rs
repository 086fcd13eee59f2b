//! The HTTP side: Link's auth host (OAuth device flow) and API host, with the
//! session's tokens, one refresh on 401, and every failure mapped to a
//! [`ClientError`] with a code from the contract.

use std::sync::Mutex;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{CLIENT_ID, Config, DEFAULT_SCOPE};
use crate::error::{ClientError, Result, codes};
use crate::sanitize::clean_text;
use crate::session::{self, Session};

/// `User-Agent` of every request.
pub const USER_AGENT: &str = concat!("link-ref/", env!("CARGO_PKG_VERSION"));

/// What `POST /device/code` answers.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceCode {
    /// Secret code the client polls with.
    pub device_code: String,
    /// The phrase shown to the user.
    pub user_code: String,
    /// The page where the user approves.
    pub verification_uri: String,
    /// The same page with the phrase filled in.
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    /// Seconds until the code expires.
    #[serde(default)]
    pub expires_in: Option<f64>,
    /// Seconds between polls.
    #[serde(default)]
    pub interval: Option<f64>,
}

/// A token grant.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    /// Bearer token for the API.
    pub access_token: String,
    /// Token that gets a new access token.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// `Bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scope: Option<String>,
}

/// One poll of the device token endpoint.
#[derive(Debug, Clone)]
pub enum TokenPoll {
    /// The user approved.
    Granted(Tokens),
    /// Not yet.
    Pending,
    /// Polling too fast: add 5 seconds to the interval.
    SlowDown,
}

/// A connection to Link, with the session it acts for.
pub struct Link {
    config: Config,
    /// Built on first use: TLS setup is most of a cold start, and commands
    /// such as `auth status` without a session never need it.
    http: std::sync::OnceLock<reqwest::Client>,
    session: Mutex<Session>,
}

impl Link {
    /// Connects with `config`, reading the session file unless a token is in the environment.
    pub fn new(config: Config) -> Result<Self> {
        config.check()?;
        let session = match &config.access_token {
            Some(token) => Session {
                access_token: Some(token.clone()),
                refresh_token: config.refresh_token.clone(),
                token_type: Some("Bearer".into()),
                ..Session::default()
            },
            None => session::load(&config.credentials_path)?,
        };
        Ok(Self {
            config,
            http: std::sync::OnceLock::new(),
            session: Mutex::new(session),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP client (also used for merchants).
    pub fn http(&self) -> &reqwest::Client {
        self.http.get_or_init(|| http_client(&self.config))
    }

    /// A copy of the current session.
    pub fn session(&self) -> Session {
        self.session.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Replaces the session and writes it (unless tokens came from the environment).
    pub fn store_session(&self, new: Session) -> Result<()> {
        if self.config.access_token.is_none() {
            session::save(&self.config.credentials_path, &new)?;
        }
        if let Ok(mut s) = self.session.lock() {
            *s = new;
        }
        Ok(())
    }

    /// Forgets the session, on disk too.
    pub fn clear_session(&self) -> Result<()> {
        if self.config.access_token.is_none() {
            session::remove(&self.config.credentials_path)?;
        }
        if let Ok(mut s) = self.session.lock() {
            *s = Session::default();
        }
        Ok(())
    }

    fn auth_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.auth_base_url)
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<(StatusCode, Value)> {
        let response = self
            .http()
            .post(self.auth_url(path))
            .form(form)
            .send()
            .await
            .map_err(|e| network_error(&self.config.auth_base_url, &e))?;
        read_json(response).await
    }

    /// Starts a device login.
    pub async fn device_code(&self, client_name: &str) -> Result<DeviceCode> {
        let label = format!("{client_name} on {}", hostname());
        let (status, body) = self
            .post_form(
                "/device/code",
                &[
                    ("client_id", CLIENT_ID),
                    ("scope", DEFAULT_SCOPE),
                    ("connection_label", &label),
                    ("client_hint", client_name),
                ],
            )
            .await?;
        if !status.is_success() {
            return Err(auth_error(status, &body));
        }
        parse_body(body, "device code")
    }

    /// Polls the token endpoint once for `device_code`.
    pub async fn poll_device_token(&self, device_code: &str) -> Result<TokenPoll> {
        let (status, body) = self
            .post_form(
                "/device/token",
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", device_code),
                    ("client_id", CLIENT_ID),
                ],
            )
            .await?;
        if status.is_success() {
            return parse_body(body, "token").map(TokenPoll::Granted);
        }
        match body.get("error").and_then(Value::as_str) {
            Some("authorization_pending") => Ok(TokenPoll::Pending),
            Some("slow_down") => Ok(TokenPoll::SlowDown),
            Some("access_denied") => Err(ClientError::new(
                codes::ACCESS_DENIED,
                "the login was denied on the verification page; nothing was stored",
            )),
            Some("expired_token") => Err(ClientError::new(
                codes::LOGIN_EXPIRED,
                "the login code expired before it was approved; run `link-ref auth login` again",
            )),
            // An unknown or already used code can never be approved either.
            Some("invalid_grant") => Err(ClientError::new(
                codes::LOGIN_EXPIRED,
                format!(
                    "Link no longer accepts this login code ({}); run `link-ref auth login` again",
                    oauth_error_text(&body)
                ),
            )),
            _ => Err(auth_error(status, &body)),
        }
    }

    /// Exchanges the refresh token for new tokens and stores them (rotation).
    pub async fn refresh(&self) -> Result<()> {
        let current = self.session();
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(ClientError::not_authenticated(
                "the access token expired and there is no refresh token",
            ));
        };
        let (status, body) = self
            .post_form(
                "/device/token",
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &refresh_token),
                    ("client_id", CLIENT_ID),
                ],
            )
            .await?;
        let refused = body.get("error").and_then(Value::as_str) == Some("invalid_grant");
        if !status.is_success() && !refused {
            // A 5xx, a rate limit, a proxy's page: nothing says the refresh
            // token is dead, so the session is kept for the next try.
            return Err(auth_error(status, &body));
        }
        if !status.is_success() {
            // Link refused the refresh token (revoked, expired): the session is
            // dead, so forget it and let `auth login` start afresh.
            self.clear_session()?;
            return Err(ClientError::not_authenticated(&format!(
                "the session could not be refreshed ({})",
                oauth_error_text(&body)
            )));
        }
        let tokens: Tokens = parse_body(body, "token")?;
        self.store_session(Session {
            access_token: Some(tokens.access_token),
            refresh_token: tokens.refresh_token.or(Some(refresh_token)),
            token_type: tokens.token_type.or(current.token_type),
            scope: tokens.scope.or(current.scope),
            pending_login: None,
        })
    }

    /// Revokes `token` at Link (idempotent there).
    pub async fn revoke(&self, token: &str) -> Result<()> {
        let (status, body) = self
            .post_form(
                "/device/revoke",
                &[("client_id", CLIENT_ID), ("token", token)],
            )
            .await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(auth_error(status, &body))
        }
    }

    /// Calls the API host: `Authorization: Bearer`, one refresh and retry on 401.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value> {
        let Some(token) = self.session().access_token else {
            return Err(ClientError::not_authenticated("not logged in"));
        };
        let (status, value) = self.api_once(&method, path, query, body, &token).await?;
        if status != StatusCode::UNAUTHORIZED {
            return api_result(status, value);
        }
        let can_refresh = !self.config.no_refresh && self.session().refresh_token.is_some();
        if !can_refresh {
            return Err(ClientError::not_authenticated(
                "Link refused the access token (expired or revoked)",
            ));
        }
        self.refresh().await?;
        let token = self.session().access_token.unwrap_or_default();
        let (status, value) = self.api_once(&method, path, query, body, &token).await?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::not_authenticated(
                "Link refused the refreshed access token",
            ));
        }
        api_result(status, value)
    }

    async fn api_once(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        token: &str,
    ) -> Result<(StatusCode, Value)> {
        let mut request = self
            .http()
            .request(
                method.clone(),
                format!("{}{path}", self.config.api_base_url),
            )
            .bearer_auth(token)
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| network_error(&self.config.api_base_url, &e))?;
        read_json(response).await
    }
}

/// Why the system trust store could not be used, when it could not (a container without CA
/// certificates); https calls then fail saying so.
static NO_TRUST_STORE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn http_client(config: &Config) -> reqwest::Client {
    let builder = || {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout.min(std::time::Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
    };
    builder()
        .build()
        .or_else(|error| {
            // Building fails only when the system's trust store is unusable. Plain-HTTP Links
            // and merchants (the mocks) need none, so they still work; a client trusting no
            // authority makes every https call fail, and `network_error` says why.
            let _ = NO_TRUST_STORE.set(innermost_cause(&error));
            builder().tls_certs_only(Vec::new()).build()
        })
        .expect("a client without trust roots has nothing left that can fail to load")
}

fn innermost_cause(error: &dyn std::error::Error) -> String {
    let mut source = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// The machine's name, for the connection label the user sees.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this machine".into())
}

/// A transport failure: which host, and what happened (never a token).
pub fn network_error(base: &str, error: &reqwest::Error) -> ClientError {
    let what = if error.is_timeout() {
        "timed out".to_owned()
    } else if let Some(why) = NO_TRUST_STORE.get().filter(|_| base.starts_with("https:")) {
        format!("no trusted certificate authorities to check TLS ({why}); set SSL_CERT_FILE")
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        // The chain's innermost cause is the useful part (connection reset, ...).
        innermost_cause(error)
    };
    ClientError::new(
        codes::NETWORK_ERROR,
        format!("request to {base} failed: {what}"),
    )
    .with("retryable", true)
}

/// Reads a body as JSON; a body that is not JSON becomes `Value::Null` with the
/// status kept, so that errors can still be classified.
async fn read_json(response: reqwest::Response) -> Result<(StatusCode, Value)> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        ClientError::new(
            codes::NETWORK_ERROR,
            format!("the response was cut off: {e}"),
        )
        .with("retryable", true)
    })?;
    if bytes.is_empty() {
        return Ok((status, Value::Null));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(value) => Ok((status, value)),
        Err(_) if status.is_success() => Err(ClientError::new(
            codes::INVALID_RESPONSE,
            format!("Link answered {status} with a body that is not JSON"),
        )),
        Err(_) => Ok((status, json!({"__non_json": true}))),
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(body: Value, what: &str) -> Result<T> {
    serde_json::from_value(body).map_err(|e| {
        ClientError::new(
            codes::INVALID_RESPONSE,
            format!("Link's {what} answer is not what was expected: {e}"),
        )
    })
}

fn oauth_error_text(body: &Value) -> String {
    let error = body.get("error").and_then(Value::as_str).unwrap_or("error");
    match body.get("error_description").and_then(Value::as_str) {
        Some(d) => clean_text(&format!("{error}: {d}")),
        None => clean_text(error),
    }
}

fn auth_error(status: StatusCode, body: &Value) -> ClientError {
    if status.is_server_error() {
        return ClientError::new(
            codes::SERVER_ERROR,
            format!("Link's auth host answered {status}"),
        )
        .with("retryable", true);
    }
    if body.get("__non_json").is_some() {
        return ClientError::new(
            codes::INVALID_RESPONSE,
            format!("Link's auth host answered {status} with a body that is not JSON"),
        );
    }
    ClientError::new(
        codes::API_ERROR,
        format!(
            "Link's auth host answered {status}: {}",
            oauth_error_text(body)
        ),
    )
}

/// The message of an API error body, in any of the shapes Link uses.
fn api_message(body: &Value) -> Option<String> {
    let error = body.get("error");
    error
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .or_else(|| error.and_then(Value::as_str))
        .or_else(|| body.get("message").and_then(Value::as_str))
        .map(clean_text)
}

fn api_result(status: StatusCode, body: Value) -> Result<Value> {
    if status.is_success() {
        return Ok(body);
    }
    if body.get("__non_json").is_some() {
        let message = format!("Link answered {status} with a body that is not JSON");
        // A proxy's error page in front of a failing Link: as transient as a JSON 5xx.
        return Err(if status.is_server_error() {
            ClientError::new(codes::SERVER_ERROR, message).with("retryable", true)
        } else {
            ClientError::new(codes::INVALID_RESPONSE, message)
        });
    }
    let message = api_message(&body).unwrap_or_else(|| format!("Link answered {status}"));
    let api_code = body
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut error = match status {
        StatusCode::NOT_FOUND => ClientError::new(codes::NOT_FOUND, message),
        StatusCode::TOO_MANY_REQUESTS if api_code == codes::SPEND_REQUEST_RATE_LIMITED => {
            let mut e = ClientError::new(codes::SPEND_REQUEST_RATE_LIMITED, message);
            if let Some(existing) = body
                .get("error")
                .and_then(|e| e.get("duplicate_spend_request"))
            {
                e = e.with("duplicate_spend_request", existing.clone());
            }
            e
        }
        // Any other 429 is Link (or a proxy) asking to slow down: as transient as a
        // 5xx, so a polling loop backs off and tries again within its bounds.
        StatusCode::TOO_MANY_REQUESTS => {
            ClientError::new(codes::API_ERROR, message).with("retryable", true)
        }
        s if s.is_server_error() => {
            ClientError::new(codes::SERVER_ERROR, message).with("retryable", true)
        }
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ClientError::new(codes::VALIDATION_ERROR, message)
        }
        _ => ClientError::new(codes::API_ERROR, message),
    };
    if !api_code.is_empty() {
        error = error.with("link_code", clean_text(api_code));
    }
    for key in ["verification_url", "support_url"] {
        if let Some(url) = body
            .get("error")
            .and_then(|e| e.get(key))
            .and_then(Value::as_str)
        {
            error = error.with(key, clean_text(url));
        }
    }
    Err(error)
}
