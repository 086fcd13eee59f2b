//! A typed client for the control API, for tests that drive a running mock-link.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::faults::ArmedFault;
use crate::model::ledger::LedgerEntry;
use crate::model::request_log::LoggedRequest;
use crate::model::scripts::{DeviceScript, SpendRequestScript};
use crate::model::spend_request::state_machine::Resolution;

/// Why a control call failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The HTTP exchange itself failed.
    #[error("control request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// mock-link answered with an error status.
    #[error("control request answered {status}: {body}")]
    Status { status: u16, body: Value },
    /// mock-link answered, but not in the shape of the typed records.
    #[error("control answer has an unexpected shape: {0}")]
    Decode(#[from] serde_json::Error),
}

/// An HTTP client for the mocks' own plain-HTTP URLs that trusts no certificate authority.
///
/// reqwest's TLS is on in any build that also holds `link-ref` (Cargo unifies features), and a
/// default client then reads the system trust store when it is built, panicking where there is
/// none (a `FROM scratch` container). With no roots it never looks: `http://` works anywhere and
/// an `https://` URL fails as untrusted, at the call that needed TLS.
pub fn loopback_http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only(Vec::new())
        .build()
        .expect("a client without trust roots or proxies has nothing that can fail to load")
}

/// Talks to `/__control` of one mock-link.
#[derive(Debug, Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
}

impl ControlClient {
    /// A client for the mock-link at `base_url` (e.g. `http://127.0.0.1:4010`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: loopback_http_client(),
            base_url: base_url.into(),
            token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` on every call (a mock-link started with a control
    /// token); `None` sends none.
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}/__control{path}", self.base_url));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn answer(response: reqwest::Response) -> Result<Value, ControlError> {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            return Err(ControlError::Status { status, body });
        }
        Ok(body)
    }

    /// `POST /__control{path}` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Result<Value, ControlError> {
        let response = self
            .request(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await?;
        Self::answer(response).await
    }

    /// `DELETE /__control{path}`.
    pub async fn http_delete(&self, path: &str) -> Result<Value, ControlError> {
        let response = self.request(reqwest::Method::DELETE, path).send().await?;
        Self::answer(response).await
    }

    /// Sets `user_id`'s approval policy (`{rules: [...]}`, as `GET /approval-policy` answers it).
    pub async fn set_approval_policy(
        &self,
        user_id: &str,
        policy: Value,
    ) -> Result<Value, ControlError> {
        self.post(&format!("/users/{user_id}/approval_policy"), policy)
            .await
    }

    /// `GET /__control{path}`.
    pub async fn get(&self, path: &str) -> Result<Value, ControlError> {
        let response = self.request(reqwest::Method::GET, path).send().await?;
        Self::answer(response).await
    }

    /// The user approves the device showing `user_code` (as the seeded default user).
    pub async fn approve_device(&self, user_code: &str) -> Result<Value, ControlError> {
        self.post("/device_codes/approve", json!({ "user_code": user_code }))
            .await
    }

    /// The given user approves the device showing `user_code`.
    pub async fn approve_device_as(
        &self,
        user_code: &str,
        user_id: &str,
    ) -> Result<Value, ControlError> {
        self.post(
            "/device_codes/approve",
            json!({ "user_code": user_code, "user_id": user_id }),
        )
        .await
    }

    /// The user denies the device showing `user_code`.
    pub async fn deny_device(&self, user_code: &str) -> Result<Value, ControlError> {
        self.post("/device_codes/deny", json!({ "user_code": user_code }))
            .await
    }

    /// Makes the device code showing `user_code` expire now.
    pub async fn expire_device(&self, user_code: &str) -> Result<Value, ControlError> {
        self.post("/device_codes/expire", json!({ "user_code": user_code }))
            .await
    }

    /// The spend request as the issuer sees it, credentials included.
    pub async fn spend_request(&self, id: &str) -> Result<Value, ControlError> {
        self.get(&format!("/spend_requests/{id}")).await
    }

    /// The user approves spend request `id`.
    pub async fn approve_spend_request(&self, id: &str) -> Result<Value, ControlError> {
        self.post(&format!("/spend_requests/{id}/approve"), json!({}))
            .await
    }

    /// The user denies spend request `id`.
    pub async fn deny_spend_request(&self, id: &str) -> Result<Value, ControlError> {
        self.post(&format!("/spend_requests/{id}/deny"), json!({}))
            .await
    }

    /// Spend request `id` expires now.
    pub async fn expire_spend_request(&self, id: &str) -> Result<Value, ControlError> {
        self.post(&format!("/spend_requests/{id}/expire"), json!({}))
            .await
    }

    /// The issuer asks for an extra step on spend request `id`.
    pub async fn require_action(
        &self,
        id: &str,
        resolution: Resolution,
    ) -> Result<Value, ControlError> {
        self.post(
            &format!("/spend_requests/{id}/require_action"),
            json!({ "resolution": resolution }),
        )
        .await
    }

    /// The user completes the extra step (e.g. 3-D Secure) on spend request `id`.
    pub async fn complete_action(&self, id: &str) -> Result<Value, ControlError> {
        self.post(&format!("/spend_requests/{id}/complete_action"), json!({}))
            .await
    }

    /// Applies a state-machine event to spend request `id` (`POST
    /// /__control/spend_requests/{id}/{event}`): approve, deny, expire, require_action,
    /// complete_action, submit, succeed, fail; `body` carries the event's options.
    pub async fn spend_request_event(
        &self,
        id: &str,
        event: &str,
        body: Value,
    ) -> Result<Value, ControlError> {
        self.post(&format!("/spend_requests/{id}/{event}"), body)
            .await
    }

    /// The approved credential was used; the payment's outcome is pending (`submitted`).
    pub async fn submit_spend_request(&self, id: &str) -> Result<Value, ControlError> {
        self.spend_request_event(id, "submit", json!({})).await
    }

    /// The payment succeeded (`succeeded`); `details` overrides `payment_status_details`
    /// members (`code`, `decline_code`, `amount`, `currency`, `refund_details`).
    pub async fn succeed_spend_request(
        &self,
        id: &str,
        details: Value,
    ) -> Result<Value, ControlError> {
        self.spend_request_event(id, "succeed", details).await
    }

    /// The payment failed (`failed`; default `card_declined` / `generic_decline`).
    pub async fn fail_spend_request(
        &self,
        id: &str,
        details: Value,
    ) -> Result<Value, ControlError> {
        self.spend_request_event(id, "fail", details).await
    }

    /// Moves the virtual clock forward.
    pub async fn advance_clock(&self, by: Duration) -> Result<Value, ControlError> {
        self.post("/clock/advance", json!({ "seconds": by.as_secs_f64() }))
            .await
    }

    /// The request log, oldest first: what clients sent, secrets redacted (the same records
    /// as [`crate::MockLink::received_requests`] in-process).
    pub async fn received_requests(&self) -> Result<Vec<LoggedRequest>, ControlError> {
        typed_data(self.get("/requests").await?)
    }

    /// The credential ledger, oldest first (the same records as [`crate::MockLink::ledger`]).
    pub async fn ledger(&self) -> Result<Vec<LedgerEntry>, ControlError> {
        typed_data(self.get("/ledger").await?)
    }

    /// Forgets everything and seeds the defaults again.
    pub async fn reset(&self) -> Result<Value, ControlError> {
        self.post("/reset", json!({})).await
    }

    /// Creates a user; `body` may carry `email`, `name`, `payment_methods`.
    pub async fn create_user(&self, body: Value) -> Result<Value, ControlError> {
        self.post("/users", body).await
    }

    /// Adds a payment method (`brand`, `last4`, `is_default`, `nickname`, `id`) to a user.
    pub async fn add_payment_method(
        &self,
        user_id: &str,
        body: Value,
    ) -> Result<Value, ControlError> {
        self.post(&format!("/users/{user_id}/payment_methods"), body)
            .await
    }

    /// Registers a merchant's secret key and network id for `/v1/payment_intents`.
    pub async fn add_merchant(
        &self,
        secret_key: &str,
        network_id: &str,
    ) -> Result<Value, ControlError> {
        self.post(
            "/merchants",
            json!({ "secret_key": secret_key, "network_id": network_id }),
        )
        .await
    }

    /// Logs `user_id` in without the device flow; returns the token response.
    pub async fn issue_tokens(&self, user_id: &str) -> Result<Value, ControlError> {
        self.post("/tokens", json!({ "user_id": user_id })).await
    }

    /// Revokes the session `token` belongs to.
    pub async fn revoke_token(&self, token: &str) -> Result<Value, ControlError> {
        self.post("/tokens/revoke", json!({ "token": token })).await
    }

    /// Arms a fault for the next `fault.count` matching calls.
    pub async fn inject_fault(&self, fault: &ArmedFault) -> Result<Value, ControlError> {
        self.post(
            "/faults",
            serde_json::to_value(fault).unwrap_or(Value::Null),
        )
        .await
    }

    /// Decides the next device code created ahead of time.
    pub async fn script_next_device_code(
        &self,
        script: &DeviceScript,
    ) -> Result<Value, ControlError> {
        self.post(
            "/scripts/device_codes",
            serde_json::to_value(script).unwrap_or(Value::Null),
        )
        .await
    }

    /// Decides the next spend request created ahead of time.
    pub async fn script_next_spend_request(
        &self,
        script: &SpendRequestScript,
    ) -> Result<Value, ControlError> {
        self.post(
            "/scripts/spend_requests",
            serde_json::to_value(script).unwrap_or(Value::Null),
        )
        .await
    }

    /// Attaches a script to an existing spend request (its poll count starts again at 0).
    pub async fn script_spend_request(
        &self,
        id: &str,
        script: &SpendRequestScript,
    ) -> Result<Value, ControlError> {
        self.post(
            &format!("/spend_requests/{id}/script"),
            serde_json::to_value(script).unwrap_or(Value::Null),
        )
        .await
    }

    /// Makes `token` (access or refresh) expire now.
    pub async fn expire_token(&self, token: &str) -> Result<Value, ControlError> {
        self.post("/tokens/expire", json!({ "token": token })).await
    }

    /// Revokes every live session of `user_id`.
    pub async fn revoke_user_sessions(&self, user_id: &str) -> Result<Value, ControlError> {
        self.post("/tokens/revoke", json!({ "user_id": user_id }))
            .await
    }

    /// Makes the access tokens of every live session of `user_id` expire now (their refresh
    /// tokens stay valid).
    pub async fn expire_user_access_tokens(&self, user_id: &str) -> Result<Value, ControlError> {
        self.post("/tokens/expire", json!({ "user_id": user_id }))
            .await
    }

    /// Every token issued so far, in full, with its kind, user and state.
    pub async fn tokens(&self) -> Result<Vec<Value>, ControlError> {
        self.get("/tokens").await.map(data)
    }

    /// Logs `user_id` in through OAuth client `client_id` with `scope` (space-separated).
    pub async fn issue_tokens_for_client(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<Value, ControlError> {
        self.post(
            "/tokens",
            json!({ "user_id": user_id, "client_id": client_id, "scope": scope }),
        )
        .await
    }

    /// Replaces the OAuth client ids allowed to send `expires_at` on create.
    pub async fn set_expires_at_clients(&self, client_ids: &[&str]) -> Result<Value, ControlError> {
        self.post("/settings", json!({ "expires_at_clients": client_ids }))
            .await
    }
}

fn data(value: Value) -> Vec<Value> {
    match value {
        Value::Object(mut object) => match object.remove("data") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The `data` list of an answer, as typed records.
fn typed_data<T: DeserializeOwned>(value: Value) -> Result<Vec<T>, ControlError> {
    Ok(serde_json::from_value(Value::Array(data(value)))?)
}
