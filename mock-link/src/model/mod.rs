//! The records mock-link keeps and the rules that change them, below every handler: the store
//! (with `AppState` beside it, its `--state` database and its change-tracking collections),
//! the seed, accounts, spend requests and their credentials, granted tokens, the ledger and
//! the request log's entries. Nothing here imports a handler; handlers and pages import from
//! here.

pub mod accounts;
pub mod app_state;
pub mod granted_token;
pub mod ledger;
pub mod request_log;
pub mod scripts;
pub mod seed;
pub mod spend_request;
pub mod state_db;
pub mod store;
pub mod table;

pub use app_state::AppState;
pub use store::Store;
