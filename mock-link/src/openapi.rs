//! The OpenAPI 3.1 document of mock-link, generated from the handlers' `#[utoipa::path]`
//! annotations: the auth host, the API host, the Stripe subset and the control API (the human
//! pages are HTML for a browser and are not in it). Served at `GET /openapi.json` and committed
//! as `docs/openapi/mock-link.json` (see `docs/openapi.md`).
//!
//! The answers the shared middleware gives on any route (408 and 413 while reading a body, 415
//! for a body of the wrong type, 503 when `--state` could not save a change, and the control
//! API's access checks) are added to every operation they apply to by [`MiddlewareAnswers`],
//! so the annotations list only what the handler itself answers.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::api_schemas::JsonObject;
use crate::error::ErrorShape;

/// How long `/openapi.json` may be cached: the document changes only with a new build.
pub const CACHE_CONTROL: &str = "public, max-age=300";

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "discovery",
    responses((status = 200, description = "This OpenAPI 3.1 document", body = JsonObject))
)]
pub(crate) async fn serve() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, CACHE_CONTROL)], Json(document()))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mock-link",
        description = "An offline Link (Stripe's agent wallet) for testing Link clients: the auth host (OAuth device flow), the API host, the Stripe PaymentIntent subset a merchant redeems a shared payment token with, and the control API a test drives it with. One listener serves them all; `docs/mock-link.md` describes every decision.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        serve,
        crate::auth::device_code,
        crate::auth::token,
        crate::auth::revoke,
        crate::spend_requests::create,
        crate::spend_requests::create_delegated,
        crate::spend_requests::list,
        crate::spend_requests::retrieve,
        crate::spend_requests::update,
        crate::spend_requests::update_delegated,
        crate::spend_requests::cancel,
        crate::spend_requests::request_approval,
        crate::accounts::list_payment_details,
        crate::accounts::retrieve_payment_details,
        crate::accounts::update_payment_details,
        crate::accounts::userinfo,
        crate::accounts::approval_policy,
        crate::accounts::list_shipping_addresses,
        crate::insights::list,
        crate::insights::available_types,
        crate::balances::list_sources,
        crate::balances::list_balances,
        crate::balances::list_transactions,
        crate::observations::create,
        crate::stripe::payment_intents,
        crate::stripe::retrieve_payment_intent,
        crate::granted_tokens::retrieve,
        crate::granted_tokens::create_test_token,
        crate::granted_tokens::revoke_test_token,
    ),
    components(
        responses(
            crate::error::ApiErrorBody,
            crate::error::OAuthErrorBody,
            crate::error::StripeErrorBody,
        ),
        schemas(crate::error::ApiErrorDetail, crate::error::StripeErrorDetail),
    ),
    tags(
        (name = "auth", description = "The auth host: OAuth device authorization grant (RFC 8628), refresh with rotation, revocation"),
        (name = "spend_requests", description = "The API host: spend requests"),
        (name = "accounts", description = "The API host: the user's records"),
        (name = "balances", description = "The API host: sources, balances, transactions"),
        (name = "insights", description = "The API host: spending insights"),
        (name = "agent_observations", description = "The API host: what an agent reports about a merchant"),
        (name = "stripe", description = "The Stripe subset a merchant redeems a shared payment token with"),
        (name = "control", description = "The control API a test drives mock-link with (loopback only, or with the control token)"),
        (name = "discovery", description = "This document"),
    )
)]
struct MockLinkApi;

/// The security schemes, unique operation ids, and the answers of the shared middleware on
/// every operation.
struct MiddlewareAnswers;

impl Modify for MiddlewareAnswers {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer =
            || SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build());
        components.add_security_scheme("link_access_token", bearer());
        components.add_security_scheme("stripe_secret_key", bearer());
        components.add_security_scheme(
            "stripe_secret_key_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
        components.add_security_scheme("control_token", bearer());
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (reads_body, operation) in operations(item) {
                add_middleware_answers(path, reads_body, operation);
            }
        }
    }
}

/// Every operation of `item`, with whether its method may carry a body the server reads.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, item.get.as_mut()),
        (false, item.delete.as_mut()),
        (true, item.post.as_mut()),
        (true, item.put.as_mut()),
        (true, item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(reads_body, operation)| operation.map(|operation| (reads_body, operation)))
}

fn add_middleware_answers(path: &str, reads_body: bool, operation: &mut Operation) {
    // Handler names repeat across modules (`create`, `list`, `retrieve`): the tag (one per
    // module) makes each operation id unique.
    if let (Some(tag), Some(id)) = (
        operation.tags.as_ref().and_then(|tags| tags.first()),
        operation.operation_id.as_mut(),
    ) {
        *id = format!("{tag}_{id}");
    }
    if path == "/openapi.json" {
        return;
    }
    let error = match ErrorShape::for_path(path) {
        ErrorShape::Api => "ApiErrorBody",
        ErrorShape::OAuth => "OAuthErrorBody",
        ErrorShape::Stripe => "StripeErrorBody",
    };
    let mut statuses = vec!["503"];
    if operation.request_body.is_some() {
        statuses.extend(["408", "413", "415"]);
    }
    if path.starts_with("/__control") {
        // No control token or a wrong one; a foreign Host or Origin; the API turned off.
        statuses.extend(["401", "403", "404"]);
        if reads_body {
            statuses.push("415");
        }
        operation.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("control_token", Vec::<String>::new()),
        ]);
    }
    for status in statuses {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(error)));
    }
}

/// The whole document.
pub fn document() -> Document {
    let mut document = MockLinkApi::openapi().merge_from(crate::control::ControlApi::openapi());
    MiddlewareAnswers.modify(&mut document);
    document
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use crate::accounts::{PaymentDetailsList, ShippingAddressList};
    use crate::api_schemas::{ApprovalPolicy, EmptyObject, ListPage, conforms};
    use crate::auth::{DeviceCodeResponse, TokenResponse};
    use crate::granted_tokens::GrantedTokenObject;
    use crate::model::accounts::Userinfo;
    use crate::model::spend_request::SpendRequestObject;
    use crate::observations::AgentObservation;
    use crate::spend_requests::{ApprovalLinks, SpendRequestList};
    use crate::stripe::PaymentIntentObject;
    use crate::{
        DEFAULT_CARD_ID, DEFAULT_MERCHANT_NETWORK_ID, DEFAULT_MERCHANT_SECRET_KEY, MockLink,
    };
    use serde_json::Value;

    const CONTEXT: &str = "Buying one premium market report from the mock merchant for the user, who asked for today's edition of it.";

    struct Client {
        http: reqwest::Client,
        base: String,
        token: String,
    }

    impl Client {
        async fn send(&self, request: reqwest::RequestBuilder) -> Value {
            let response = request.send().await.unwrap();
            let status = response.status();
            let body: Value = response.json().await.unwrap();
            assert!(status.is_success(), "{status}: {body}");
            body
        }

        async fn get(&self, path: &str) -> Value {
            let request = self.http.get(format!("{}{path}", self.base));
            self.send(request.bearer_auth(&self.token)).await
        }

        async fn post(&self, path: &str, body: Value) -> Value {
            let request = self.http.post(format!("{}{path}", self.base)).json(&body);
            self.send(request.bearer_auth(&self.token)).await
        }

        async fn get_stripe(&self, path: &str) -> Value {
            let request = self.http.get(format!("{}{path}", self.base));
            self.send(request.bearer_auth(DEFAULT_MERCHANT_SECRET_KEY))
                .await
        }

        async fn stripe(&self, path: &str, form: &[(&str, &str)]) -> Value {
            let request = self.http.post(format!("{}{path}", self.base)).form(form);
            self.send(request.bearer_auth(DEFAULT_MERCHANT_SECRET_KEY))
                .await
        }
    }

    /// Every hand-built answer of the auth host, the API host and the Stripe subset matches
    /// the schema the document gives it.
    #[tokio::test]
    async fn real_answers_match_their_schemas() {
        let link = MockLink::builder()
            .device_poll_interval(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let base = link.base_url().to_owned();
        let code: DeviceCodeResponse = conforms(
            http.post(format!("{base}/device/code"))
                .form(&[
                    ("client_id", "lwlpk_schema"),
                    ("authorization_details", "[{\"type\":\"source\"}]"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap(),
        );
        link.control()
            .approve_device(&code.user_code)
            .await
            .unwrap();
        let tokens: Value = http
            .post(format!("{base}/device/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", code.device_code.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tokens: TokenResponse = conforms(tokens);
        assert!(tokens.authorization_details.is_some());
        let client = Client {
            http,
            base,
            token: tokens.access_token,
        };

        let card = client
            .post(
                "/spend_requests",
                json!({"payment_details": DEFAULT_CARD_ID, "amount": 2500, "context": CONTEXT,
                       "merchant_name": "Mock", "merchant_url": "https://merchant.example",
                       "request_approval": true}),
            )
            .await;
        let card: SpendRequestObject = conforms(card);
        link.control()
            .approve_spend_request(&card.id)
            .await
            .unwrap();
        let included = client
            .get(&format!("/spend_requests/{}?include=card", card.id))
            .await;
        assert!(conforms::<SpendRequestObject>(included).card.is_some());
        let spt = client
            .post(
                "/spend_requests",
                json!({"payment_details": DEFAULT_CARD_ID, "amount": 1000, "context": CONTEXT,
                       "credential_type": "shared_payment_token",
                       "network_id": DEFAULT_MERCHANT_NETWORK_ID}),
            )
            .await;
        let spt: SpendRequestObject = conforms(spt);
        conforms::<ApprovalLinks>(
            client
                .post(
                    &format!("/spend_requests/{}/request_approval", spt.id),
                    json!({}),
                )
                .await,
        );
        link.control().approve_spend_request(&spt.id).await.unwrap();
        let approved = client
            .get(&format!(
                "/spend_requests/{}?include=shared_payment_token",
                spt.id
            ))
            .await;
        let token = conforms::<SpendRequestObject>(approved.clone())
            .shared_payment_token
            .expect("approved SPT request shows its token");
        let token_id = token["id"].as_str().unwrap().to_owned();
        conforms::<GrantedTokenObject>(
            client
                .get_stripe(&format!("/v1/shared_payment/granted_tokens/{token_id}"))
                .await,
        );
        let intent = client
            .stripe(
                "/v1/payment_intents",
                &[
                    ("amount", "1000"),
                    ("currency", "usd"),
                    ("confirm", "true"),
                    ("shared_payment_granted_token", &token_id),
                    ("metadata[order]", "1"),
                ],
            )
            .await;
        conforms::<PaymentIntentObject>(intent);
        let helper = client
            .stripe(
                "/v1/test_helpers/shared_payment/granted_tokens",
                &[
                    ("payment_method", "pm_card_visa"),
                    ("usage_limits[currency]", "usd"),
                    ("usage_limits[max_amount]", "500"),
                ],
            )
            .await;
        conforms::<GrantedTokenObject>(helper);
        conforms::<SpendRequestList>(client.get("/spend_requests?include_history=true").await);
        conforms::<SpendRequestObject>(link.control().spend_request(&card.id).await.unwrap());

        conforms::<PaymentDetailsList>(client.get("/payment-details").await);
        conforms::<Userinfo>(client.get("/userinfo").await);
        conforms::<ShippingAddressList>(client.get("/shipping_addresses").await);
        for path in [
            "/sources",
            "/balances",
            "/transactions",
            "/insights",
            "/insights/available_types",
        ] {
            conforms::<ListPage>(client.get(path).await);
        }
        conforms::<AgentObservation>(
            client
                .post(
                    "/agent_observations",
                    json!({"domain": "merchant.example", "outcome": "success",
                           "spend_request_id": card.id, "tags": ["captcha"]}),
                )
                .await,
        );
        let policy = json!({"rules": [{"action": "auto_approve",
            "limits": {"per_purchase": {"amount": 5000, "currency": "usd"}}}]});
        conforms::<ApprovalPolicy>(
            link.control()
                .post("/users/usr_default/approval_policy", policy)
                .await
                .unwrap(),
        );
        conforms::<ApprovalPolicy>(client.get("/approval-policy").await);
        let revoke = client
            .http
            .post(format!("{}/device/revoke", client.base))
            .form(&[("token", client.token.as_str())]);
        conforms::<EmptyObject>(client.send(revoke).await);
        link.shutdown().await;
    }
}
