//! The router: auth, API, Stripe, control and page routes side by side on one listener.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::body::MAX_BODY_BYTES;
use crate::error::{Error, ErrorShape};
use crate::model::{AppState, state_db};
use crate::{
    accounts, auth, balances, control, granted_tokens, insights, observations, openapi, pages,
    request_log, spend_requests, stripe,
};

async fn not_found(uri: Uri) -> impl IntoResponse {
    let path = uri.path();
    Error::in_shape(
        ErrorShape::for_path(path),
        StatusCode::NOT_FOUND,
        "resource_missing",
        &format!("Unrecognized request URL: {path}"),
    )
}

async fn method_not_allowed(uri: Uri) -> impl IntoResponse {
    let path = uri.path();
    Error::in_shape(
        ErrorShape::for_path(path),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        &format!("this method is not allowed on {path}"),
    )
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/device/code", post(auth::device_code))
        .route("/device/token", post(auth::token))
        .route("/device/revoke", post(auth::revoke))
        .route(
            "/spend_requests",
            post(spend_requests::create).get(spend_requests::list),
        )
        .route(
            "/spend_requests/create_delegated",
            post(spend_requests::create_delegated),
        )
        .route(
            "/spend_requests/{id}",
            get(spend_requests::retrieve).post(spend_requests::update),
        )
        .route("/spend_requests/{id}/cancel", post(spend_requests::cancel))
        .route(
            "/spend_requests/{id}/update_delegated",
            post(spend_requests::update_delegated),
        )
        .route(
            "/spend_requests/{id}/request_approval",
            post(spend_requests::request_approval),
        )
        .route("/payment-details", get(accounts::list_payment_details))
        .route(
            "/payment-details/{id}",
            get(accounts::retrieve_payment_details).post(accounts::update_payment_details),
        )
        .route("/userinfo", get(accounts::userinfo))
        .route("/approval-policy", get(accounts::approval_policy))
        .route("/insights", get(insights::list))
        .route("/insights/available_types", get(insights::available_types))
        .route(
            "/shipping_addresses",
            get(accounts::list_shipping_addresses),
        )
        .route("/sources", get(balances::list_sources))
        .route("/balances", get(balances::list_balances))
        .route("/transactions", get(balances::list_transactions))
        .route("/agent_observations", post(observations::create))
        .route("/v1/payment_intents", post(stripe::payment_intents))
        .route(
            "/v1/payment_intents/{id}",
            get(stripe::retrieve_payment_intent),
        )
        .route(
            "/v1/shared_payment/granted_tokens/{id}",
            get(granted_tokens::retrieve),
        )
        .route(
            "/v1/test_helpers/shared_payment/granted_tokens",
            post(granted_tokens::create_test_token),
        )
        .route(
            "/v1/test_helpers/shared_payment/granted_tokens/{id}/revoke",
            post(granted_tokens::revoke_test_token),
        )
        .route("/openapi.json", get(openapi::serve))
        .merge(control::routes())
        .merge(pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_log::record,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(state_db::refuse_unsaved))
        .with_state(state)
}
