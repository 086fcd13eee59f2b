//! What every handler shares: the store behind its mutex and, with `--state`, its database.

use std::sync::{Arc, Mutex};

use crate::model::state_db::{StateDb, StoreGuard};
use crate::model::store::Store;

/// What every handler shares: the store behind its mutex (and, with `--state`, its database).
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Arc<Mutex<Store>>,
    pub state_db: Option<Arc<StateDb>>,
}

impl AppState {
    /// Locks the store. A handler never panics while holding it, but if one ever did the
    /// data is still consistent enough for a test double, so poisoning is ignored.
    /// With `--state`, a change is saved when the guard is released (see [`StoreGuard`]).
    pub fn lock(&self) -> StoreGuard<'_> {
        let guard = self
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        StoreGuard::new(guard, self.state_db.as_deref())
    }
}
