//! A small client of the Stripe subset as a seller calls it (secret key, form bodies), for tests
//! that play the merchant developer: mint test SPTs, look at and revoke them, redeem them.

use serde_json::Value;

/// A Stripe answer: the HTTP status and the JSON body (`null` when the body was not JSON), so
/// that a test can check refusals as well as successes.
#[derive(Debug, Clone)]
pub struct StripeAnswer {
    pub status: u16,
    pub body: Value,
}

impl StripeAnswer {
    /// `error.code` of a refusal, if any.
    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// Calls one mock-link's `/v1` routes with one merchant's secret key (as a Bearer token).
#[derive(Debug, Clone)]
pub struct SellerClient {
    http: reqwest::Client,
    base_url: String,
    secret_key: String,
}

impl SellerClient {
    /// A seller with `secret_key` (e.g. the seeded `sk_test_mock_merchant`) at `base_url`.
    pub fn new(base_url: impl Into<String>, secret_key: impl Into<String>) -> Self {
        Self {
            http: crate::control_client::loopback_http_client(),
            base_url: base_url.into(),
            secret_key: secret_key.into(),
        }
    }

    async fn answer(request: reqwest::RequestBuilder) -> Result<StripeAnswer, reqwest::Error> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok(StripeAnswer { status, body })
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.secret_key)
            .form(form)
    }

    /// `POST /v1/test_helpers/shared_payment/granted_tokens` with `form` as given.
    pub async fn create_test_token(
        &self,
        form: &[(&str, &str)],
    ) -> Result<StripeAnswer, reqwest::Error> {
        Self::answer(self.post("/v1/test_helpers/shared_payment/granted_tokens", form)).await
    }

    /// A test SPT on `pm_card_visa` for at most `max_amount` `currency`; returns its id, or the
    /// refusal.
    pub async fn mint_test_token(
        &self,
        max_amount: i64,
        currency: &str,
    ) -> Result<String, StripeAnswer> {
        let max_amount = max_amount.to_string();
        let answer = self
            .create_test_token(&[
                ("payment_method", "pm_card_visa"),
                ("usage_limits[currency]", currency),
                ("usage_limits[max_amount]", &max_amount),
            ])
            .await
            .map_err(|error| StripeAnswer {
                status: 0,
                body: Value::String(error.to_string()),
            })?;
        match answer.body["id"].as_str() {
            Some(id) if answer.status == 200 => Ok(id.to_owned()),
            _ => Err(answer),
        }
    }

    /// `GET /v1/shared_payment/granted_tokens/{id}`.
    pub async fn granted_token(&self, id: &str) -> Result<StripeAnswer, reqwest::Error> {
        let request = self
            .http
            .get(format!(
                "{}/v1/shared_payment/granted_tokens/{id}",
                self.base_url
            ))
            .bearer_auth(&self.secret_key);
        Self::answer(request).await
    }

    /// `POST /v1/test_helpers/shared_payment/granted_tokens/{id}/revoke`.
    pub async fn revoke_test_token(&self, id: &str) -> Result<StripeAnswer, reqwest::Error> {
        let path = format!("/v1/test_helpers/shared_payment/granted_tokens/{id}/revoke");
        Self::answer(self.post(&path, &[])).await
    }

    /// `POST /v1/payment_intents` with `form` as given (e.g. `amount`, `currency`,
    /// `shared_payment_granted_token`, `confirm=true`), under `idempotency_key` if any.
    pub async fn create_payment_intent(
        &self,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<StripeAnswer, reqwest::Error> {
        let mut request = self.post("/v1/payment_intents", form);
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        Self::answer(request).await
    }
}
