//! `--state PATH`: the store kept in an embedded SQLite database, so a developer's sessions,
//! spend requests and issued credentials survive a restart (and a crash).
//!
//! The whole [`Store`] is one JSON snapshot in one row. The one door is [`StoreGuard`], what
//! [`crate::model::AppState::lock`] hands out: when a guard that was borrowed mutably is
//! released, the store is serialized and, if it differs from what the database holds, written
//! in one SQLite transaction *before the store's mutex is released*. So no response (of this
//! request or of another one that saw the change) can leave before the change is on disk.
//! If the write fails, the change is undone in memory and the request answers 503
//! `state_not_saved` ([`refuse_unsaved`]).
//!
//! The database runs in WAL mode with `synchronous=FULL`: a commit returns only after the log
//! is flushed to the device, so an answered change survives SIGKILL and power loss, at the
//! price of one fsync per change. `locking_mode=EXCLUSIVE` keeps the file locked while
//! mock-link runs, so a second mock-link on the same path is refused instead of overwriting.

use std::cell::Cell;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use crate::clock::unix_millis;
use crate::config::Config;
use crate::error::{Error, ErrorShape};
use crate::model::seed::Seed;
use crate::model::store::Store;

/// The database layout this mock-link reads and writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// How long opening waits for a lock held by someone else before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_millis(500);

/// Why the state database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the state database {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state database {path} is in use by another mock-link")]
    InUse { path: PathBuf },
    #[error(
        "the state database {path} has schema version {found}, which this mock-link does not \
         know (it reads version {SCHEMA_VERSION}); use the mock-link that wrote it, or another path"
    )]
    UnknownSchema { path: PathBuf, found: i64 },
    #[error("{path} is not a mock-link state database (it holds other tables)")]
    Foreign { path: PathBuf },
    #[error("the state database {path} holds a snapshot this mock-link cannot read: {source}")]
    BadSnapshot {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the seed is invalid: {0}")]
    Seed(Box<Error>),
    #[error("cannot save the state: {0}")]
    Save(String),
}

impl From<Error> for StateError {
    fn from(error: Error) -> Self {
        // Boxed: `Error` is large, and this is the rare path.
        Self::Seed(Box::new(error))
    }
}

/// The open database and the snapshot it holds.
pub struct StateDb {
    path: PathBuf,
    saved: Mutex<Saved>,
}

struct Saved {
    connection: Connection,
    /// The JSON the database holds, to skip writes that would change nothing.
    snapshot: String,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("StateDb")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Opens (or creates) the database at `path` and builds the store: the saved one when there
/// is one, with this start's configuration, base URL and seed; else a fresh one, saved at once.
pub fn open_store(
    path: &Path,
    config: Config,
    base_url: String,
    seed: Seed,
) -> Result<(Store, StateDb), StateError> {
    let (connection, saved) = open(path)?;
    let store = match &saved {
        Some(snapshot) => Store::restore(snapshot, config, base_url, seed).map_err(|source| {
            StateError::BadSnapshot {
                path: path.to_owned(),
                source,
            }
        })?,
        None => Store::new(config, base_url, seed)?,
    };
    let db = StateDb {
        path: path.to_owned(),
        saved: Mutex::new(Saved {
            connection,
            snapshot: saved.unwrap_or_default(),
        }),
    };
    db.save(&store)?;
    Ok((store, db))
}

fn open(path: &Path) -> Result<(Connection, Option<String>), StateError> {
    let failed = |source: rusqlite::Error| match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StateError::InUse {
            path: path.to_owned(),
        },
        _ => StateError::Open {
            path: path.to_owned(),
            source,
        },
    };
    create_private(path).map_err(|source| StateError::Create {
        path: path.to_owned(),
        source,
    })?;
    let mut connection = Connection::open(path).map_err(failed)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
    // Set before the first read, so the lock is taken and kept, and WAL needs no shared memory.
    connection
        .pragma_update(None, "locking_mode", "EXCLUSIVE")
        .map_err(failed)?;
    connection
        .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
        .map_err(failed)?;
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    let transaction = connection
        .transaction_with_behavior(TransactionBehavior::Exclusive)
        .map_err(failed)?;
    let found: i64 = transaction
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(failed)?;
    match found {
        SCHEMA_VERSION => {}
        0 => {
            let tables: i64 = transaction
                .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
                .map_err(failed)?;
            if tables > 0 {
                return Err(StateError::Foreign {
                    path: path.to_owned(),
                });
            }
            transaction
                .execute_batch(
                    "CREATE TABLE snapshot (
                         id INTEGER PRIMARY KEY CHECK (id = 1),
                         saved_at_ms INTEGER NOT NULL,
                         store TEXT NOT NULL
                     );
                     PRAGMA user_version = 1;",
                )
                .map_err(failed)?;
        }
        _ => {
            return Err(StateError::UnknownSchema {
                path: path.to_owned(),
                found,
            });
        }
    }
    let saved = transaction
        .query_row("SELECT store FROM snapshot WHERE id = 1", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(failed)?;
    transaction.commit().map_err(failed)?;
    Ok((connection, saved))
}

/// Creates the file readable by its owner only: it holds live tokens and test card numbers.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

impl StateDb {
    fn lock(&self) -> MutexGuard<'_, Saved> {
        self.saved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes `store` in one transaction, unless the database already holds exactly it.
    pub fn save(&self, store: &Store) -> Result<(), StateError> {
        let snapshot =
            serde_json::to_string(store).map_err(|error| StateError::Save(error.to_string()))?;
        let mut saved = self.lock();
        if saved.snapshot == snapshot {
            return Ok(());
        }
        let write = |connection: &mut Connection| -> rusqlite::Result<()> {
            let transaction = connection.transaction()?;
            transaction.execute(
                "INSERT INTO snapshot (id, saved_at_ms, store) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET saved_at_ms = excluded.saved_at_ms, store = excluded.store",
                params![unix_millis(SystemTime::now()), snapshot],
            )?;
            transaction.commit()
        };
        write(&mut saved.connection).map_err(|error| StateError::Save(error.to_string()))?;
        saved.snapshot = snapshot;
        Ok(())
    }

    /// Puts `store` back to what the database holds, keeping what is not saved.
    fn roll_back(&self, store: &mut Store) {
        let saved = self.lock();
        match Store::restore(
            &saved.snapshot,
            store.config.clone(),
            store.base_url.clone(),
            store.seed.clone(),
        ) {
            Ok(mut restored) => {
                restored.request_log = std::mem::take(&mut store.request_log);
                restored.faults = std::mem::take(&mut store.faults);
                restored.expires_at_clients = std::mem::take(&mut store.expires_at_clients);
                restored.spt_delay = store.spt_delay;
                *store = restored;
            }
            Err(error) => tracing::error!(%error, "the saved state cannot be read back"),
        }
    }
}

tokio::task_local! {
    /// Set when a change made while serving this request could not be saved.
    static UNSAVED: Cell<bool>;
}

/// The store, locked. A mutable borrow marks it changed; on release a changed store is saved
/// (with `--state`) before the mutex is.
pub struct StoreGuard<'a> {
    guard: MutexGuard<'a, Store>,
    db: Option<&'a StateDb>,
    touched: bool,
}

impl<'a> StoreGuard<'a> {
    pub(crate) fn new(guard: MutexGuard<'a, Store>, db: Option<&'a StateDb>) -> Self {
        Self {
            guard,
            db,
            touched: false,
        }
    }

    /// The store for a change to what is never saved (the request log, armed faults):
    /// releasing the guard then costs no snapshot. Anything else changed through it is lost
    /// at the next restart, so use it for those fields only.
    pub fn unsaved_mut(&mut self) -> &mut Store {
        &mut self.guard
    }
}

impl Deref for StoreGuard<'_> {
    type Target = Store;

    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.touched = true;
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        let Some(db) = self.db.filter(|_| self.touched) else {
            return;
        };
        if let Err(error) = db.save(&self.guard) {
            tracing::error!(%error, "a change was not saved to the state database; it is undone");
            db.roll_back(&mut self.guard);
            // Outside a request (no scope) there is no answer to correct.
            let _ = UNSAVED.try_with(|unsaved| unsaved.set(true));
        }
    }
}

/// Middleware: a request whose change could not be saved answers 503 `state_not_saved` (in
/// its path's error shape) instead of what the handler said, since the change was undone.
pub async fn refuse_unsaved(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let (unsaved, response) = UNSAVED
        .scope(Cell::new(false), async {
            let response = next.run(request).await;
            (UNSAVED.with(Cell::get), response)
        })
        .await;
    if !unsaved {
        return response;
    }
    Error::in_shape(
        ErrorShape::for_path(&path),
        StatusCode::SERVICE_UNAVAILABLE,
        "state_not_saved",
        "the change could not be saved to the state database and was undone; retry",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!(
            "mock-link-state-{name}-{}-{}.db",
            std::process::id(),
            uuid::Uuid::new_v4()
        ))
    }

    fn fresh(path: &Path) -> (Store, StateDb) {
        open_store(
            path,
            Config::default(),
            "http://127.0.0.1:1".into(),
            Seed::default(),
        )
        .unwrap()
    }

    #[test]
    fn a_saved_store_comes_back_with_this_starts_configuration() {
        let path = temp_path("roundtrip");
        {
            let (store, db) = fresh(&path);
            let store = Mutex::new(store);
            let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
            guard.clock.advance(Duration::from_secs(60));
            guard.merchants[0].network_id = "profile_saved".into();
            guard.spt_delay = Duration::from_secs(9);
        }
        let config = Config {
            spt_delay: Duration::from_secs(3),
            ..Config::default()
        };
        let (store, _db) =
            open_store(&path, config, "http://127.0.0.1:2".into(), Seed::default()).unwrap();
        assert_eq!(store.merchants[0].network_id, "profile_saved");
        assert_eq!(store.clock.offset(), Duration::from_secs(60));
        assert_eq!(store.base_url, "http://127.0.0.1:2");
        assert_eq!(
            store.spt_delay,
            Duration::from_secs(3),
            "settings follow the flags"
        );
        assert_eq!(
            store.users[0].transactions.len(),
            30,
            "the fixed history is put back"
        );
    }

    #[test]
    fn a_second_opener_of_the_same_database_is_refused() {
        let path = temp_path("in-use");
        let _first = fresh(&path);
        let second = open_store(&path, Config::default(), String::new(), Seed::default());
        assert!(
            matches!(second, Err(StateError::InUse { .. })),
            "{second:?}"
        );
    }

    #[test]
    fn an_unknown_schema_version_or_a_foreign_database_is_refused() {
        let path = temp_path("newer");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 7;")
            .unwrap();
        let error = open_store(&path, Config::default(), String::new(), Seed::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("schema version 7"), "{error}");

        let path = temp_path("foreign");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE notes (text TEXT);")
            .unwrap();
        let error =
            open_store(&path, Config::default(), String::new(), Seed::default()).unwrap_err();
        assert!(matches!(error, StateError::Foreign { .. }), "{error}");
    }

    #[tokio::test]
    async fn a_change_that_cannot_be_saved_is_undone_and_flagged() {
        let path = temp_path("unsaved");
        let (store, db) = fresh(&path);
        db.lock()
            .connection
            .execute_batch("DROP TABLE snapshot;")
            .unwrap();
        let store = Mutex::new(store);
        let unsaved = UNSAVED
            .scope(Cell::new(false), async {
                let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
                guard.merchants.clear();
                drop(guard);
                UNSAVED.with(Cell::get)
            })
            .await;
        assert!(unsaved);
        assert_eq!(
            store.lock().unwrap().merchants.len(),
            1,
            "the change is undone"
        );
    }
}
