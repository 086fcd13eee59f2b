//! The OpenAPI 3.1 document of mock-merchant's control API (`/__control`), generated from the
//! handlers' `#[utoipa::path]` annotations in `control.rs`. Served at
//! `GET /__control/openapi.json` (`/openapi.json` stays the MPP discovery document of the paid
//! routes) and committed as `docs/openapi/mock-merchant-control.json`.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::control::JsonObject;
use crate::respond::OPENAPI_CACHE_CONTROL;

/// `GET /__control/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/__control/openapi.json",
    tag = "control",
    responses((status = 200, description = "This OpenAPI 3.1 document", body = JsonObject))
)]
pub(crate) async fn serve() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, OPENAPI_CACHE_CONTROL)],
        Json(document()),
    )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mock-merchant control API",
        description = "The control API a test drives mock-merchant with: the ledger of what every merchant saw, the clock, per-merchant fault knobs, reset. Loopback only, or with the control token. The paid routes are described by the MPP discovery document at `/openapi.json`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        serve,
        crate::control::control_ledger,
        crate::control::control_clock,
        crate::control::control_advance_clock,
        crate::control::control_reset,
        crate::control::control_all_knobs,
        crate::control::control_knobs,
        crate::control::control_set_knobs,
        crate::control::control_clear_knobs,
    ),
    components(responses(crate::respond::ProblemBody)),
    modifiers(&MiddlewareAnswers),
    tags((name = "control", description = "mock-merchant's control API")),
)]
struct ControlApi;

/// The control token, and the answers of the shared middleware (the access guard, the body
/// reader) on every operation.
struct MiddlewareAnswers;

impl Modify for MiddlewareAnswers {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "control_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (false, item.get.as_mut()),
                (false, item.delete.as_mut()),
                (true, item.post.as_mut()),
                (true, item.put.as_mut()),
            ];
            for (writes, operation) in operations {
                let Some(operation) = operation else { continue };
                // No control token or a wrong one; a foreign Host or Origin; the API turned
                // off; a body too large or too slow.
                let mut statuses = vec!["401", "403", "404", "408", "413"];
                if writes {
                    statuses.push("415");
                }
                for status in statuses {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name("ProblemBody")));
                }
                operation.security = Some(vec![
                    SecurityRequirement::default(),
                    SecurityRequirement::new("control_token", Vec::<String>::new()),
                ]);
            }
        }
    }
}

/// The whole document.
pub fn document() -> Document {
    ControlApi::openapi()
}

#[cfg(test)]
mod tests {
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use crate::MockMerchant;
    use crate::control::{ClockObject, KnobsByMerchant, LedgerList, ResetAnswer};
    use crate::knobs::Knobs;
    use crate::respond::ProblemBody;

    /// A real answer, read into its schema type (so the schema cannot drift).
    async fn conforms<T: DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
        let text = request.send().await.unwrap().text().await.unwrap();
        serde_json::from_str(&text).unwrap_or_else(|error| {
            panic!(
                "{} does not match its schema: {error}\n{text}",
                std::any::type_name::<T>()
            )
        })
    }

    /// Every hand-built control answer, errors included, matches the schema the document gives it.
    #[tokio::test]
    async fn control_answers_match_their_schemas() {
        // No mock-link: settling is never reached by these calls.
        let merchant = MockMerchant::start("http://127.0.0.1:9").await;
        let http = reqwest::Client::new();
        let url = |path: &str| format!("{}/__control{path}", merchant.base_url());
        let knobs = json!({"refuse_payers": ["*"], "change_refreshed": "amount"});
        conforms::<Knobs>(http.put(url("/merchants/api/knobs")).json(&knobs)).await;
        conforms::<Knobs>(http.get(url("/merchants/api/knobs"))).await;
        conforms::<KnobsByMerchant>(http.get(url("/knobs"))).await;
        conforms::<Knobs>(http.delete(url("/merchants/api/knobs"))).await;
        conforms::<ProblemBody>(http.get(url("/merchants/nobody/knobs"))).await;
        conforms::<ProblemBody>(http.put(url("/merchants/api/knobs")).json(&json!({"x": 1}))).await;
        conforms::<ProblemBody>(http.post(url("/reset"))).await;
        http.get(format!("{}/m/api/report", merchant.base_url()))
            .send()
            .await
            .unwrap();
        let ledger: LedgerList = conforms(http.get(url("/ledger?merchant=api"))).await;
        assert!(!ledger.data.is_empty());
        conforms::<ClockObject>(http.get(url("/clock"))).await;
        conforms::<ClockObject>(
            http.post(url("/clock/advance"))
                .json(&json!({"seconds": 5})),
        )
        .await;
        conforms::<ProblemBody>(
            http.post(url("/clock/advance"))
                .json(&json!({"seconds": -1})),
        )
        .await;
        conforms::<ResetAnswer>(http.post(url("/reset")).json(&json!({}))).await;
        let document: Value = conforms(http.get(url("/openapi.json"))).await;
        assert_eq!(document["openapi"], "3.1.0");
        merchant.shutdown().await;
    }
}
