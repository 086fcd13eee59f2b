//! Human pages (server-rendered HTML forms, no JavaScript): device verification,
//! spend-request approval, 3-D Secure completion, adding a payment method.

use axum::Router;

use crate::server::AppState;

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}
