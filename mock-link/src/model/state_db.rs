//! `--state PATH`: the store kept in an embedded SQLite database, so a developer's sessions,
//! spend requests and issued credentials survive a restart (and a crash).
//!
//! Each growing collection of the [`Store`] (spend requests, device codes, grants, access and
//! refresh tokens, SPTs, revocations, Stripe idempotency answers, PaymentIntents, the ledger,
//! agent observations) has its own table, one row per record: `seq` (the record's position in
//! creation order, the row id), `key` and the record as JSON. The rest (clock, users,
//! merchants, scripts, approval policies: small, rarely changed) is one row of the `store`
//! table. The collections ([`crate::model::table`]) record which records were changed through
//! their mutable accessors, the only way to change one.
//!
//! The one door is [`StoreGuard`], what [`crate::model::AppState::lock`] hands out: when a
//! guard is released, the records changed through it (and the rest, when its JSON differs from
//! the saved one) are written in one SQLite transaction *before the store's mutex is
//! released*, so a change costs the records it touched, not the whole store. No response (of
//! this request or of another one that saw the change) can leave before the change is on disk.
//! If the write fails, the change is undone in memory (each collection kept the records'
//! values before their first change) and the request answers 503 `state_not_saved`
//! ([`refuse_unsaved`]).
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
use crate::model::store::{COLLECTIONS, Rest, Store};
use crate::model::table::{LoadError, Row};

/// The database layout this mock-link reads and writes (`PRAGMA user_version`).
/// Version 1 held the whole store as one JSON snapshot; version 2 a table per collection.
pub const SCHEMA_VERSION: i64 = 2;

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
    #[error(
        "the state database {path} has schema version 1 (one snapshot of the whole store, \
         written by an older mock-link); this mock-link reads version {SCHEMA_VERSION} (a table \
         per collection) and does not convert it: use the mock-link that wrote it, or start \
         with another path"
    )]
    OldSchema { path: PathBuf },
    #[error("{path} is not a mock-link state database (it holds other tables)")]
    Foreign { path: PathBuf },
    #[error("the state database {path} holds a store this mock-link cannot read: {detail}")]
    BadSnapshot { path: PathBuf, detail: String },
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

/// The open database and what it holds of the store's rest.
pub struct StateDb {
    path: PathBuf,
    saved: Mutex<Saved>,
}

struct Saved {
    connection: Connection,
    /// The rest's JSON the database holds, to skip writes that would change nothing.
    rest: String,
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
    let connection = open(path)?;
    let loaded =
        load(&connection, config.clone(), base_url.clone(), seed.clone()).map_err(|detail| {
            StateError::BadSnapshot {
                path: path.to_owned(),
                detail,
            }
        })?;
    let (mut store, rest) = match loaded {
        Some(loaded) => loaded,
        None => (Store::new(config, base_url, seed)?, String::new()),
    };
    let db = StateDb {
        path: path.to_owned(),
        saved: Mutex::new(Saved { connection, rest }),
    };
    db.save(&mut store)?;
    Ok((store, db))
}

/// The saved store and its rest's JSON, if the database holds one.
fn load(
    connection: &Connection,
    config: Config,
    base_url: String,
    seed: Seed,
) -> Result<Option<(Store, String)>, String> {
    let rest_json: Option<String> = connection
        .query_row("SELECT rest FROM store WHERE id = 1", [], |row| row.get(0))
        .optional()
        .map_err(|error| error.to_string())?;
    let Some(rest_json) = rest_json else {
        return Ok(None);
    };
    let rest: Rest = serde_json::from_str(&rest_json).map_err(|error| format!("store: {error}"))?;
    let rows = |name: &'static str| -> Result<Vec<Row>, LoadError> {
        read_rows(connection, name).map_err(|error| LoadError::Query(error.to_string()))
    };
    let store = Store::restore(rest, rows, config, base_url, seed)
        .map_err(|(name, error)| format!("{name}: {error}"))?;
    Ok(Some((store, rest_json)))
}

fn read_rows(connection: &Connection, table: &str) -> rusqlite::Result<Vec<Row>> {
    let mut statement =
        connection.prepare(&format!("SELECT seq, key, value FROM {table} ORDER BY seq"))?;
    statement
        .query_map([], |row| {
            Ok(Row {
                seq: row.get(0)?,
                key: row.get(1)?,
                value: row.get(2)?,
            })
        })?
        .collect()
}

/// The tables of [`SCHEMA_VERSION`].
fn create_schema(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "CREATE TABLE store (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             saved_at_ms INTEGER NOT NULL,
             rest TEXT NOT NULL
         );",
    )?;
    for table in COLLECTIONS {
        connection.execute_batch(&format!(
            "CREATE TABLE {table} (seq INTEGER PRIMARY KEY, key TEXT, value TEXT NOT NULL);"
        ))?;
    }
    connection.pragma_update(None, "user_version", SCHEMA_VERSION)
}

fn open(path: &Path) -> Result<Connection, StateError> {
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
            create_schema(&transaction).map_err(failed)?;
        }
        1 => {
            return Err(StateError::OldSchema {
                path: path.to_owned(),
            });
        }
        _ => {
            return Err(StateError::UnknownSchema {
                path: path.to_owned(),
                found,
            });
        }
    }
    transaction.commit().map_err(failed)?;
    Ok(connection)
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

/// What one save writes.
struct Changes {
    /// The rest's JSON, when it differs from the saved one.
    rest: Option<String>,
    /// Every collection's table is emptied first (the store was replaced).
    replace: bool,
    rows: Vec<(&'static str, Vec<Row>)>,
}

impl Changes {
    fn of(store: &Store, saved_rest: &str) -> serde_json::Result<Self> {
        let rest = store.rest_json()?;
        let replace = store.replaced;
        let mut rows = Vec::new();
        for (name, collection) in store.collections() {
            let changed = if replace {
                collection.all_rows()?
            } else {
                collection.changed_rows()?
            };
            if !changed.is_empty() {
                rows.push((name, changed));
            }
        }
        Ok(Self {
            rest: (replace || rest != saved_rest).then_some(rest),
            replace,
            rows,
        })
    }

    fn is_empty(&self) -> bool {
        self.rest.is_none() && !self.replace && self.rows.is_empty()
    }

    fn write(&self, connection: &mut Connection) -> rusqlite::Result<()> {
        let transaction = connection.transaction()?;
        if self.replace {
            for table in COLLECTIONS {
                transaction.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        for (table, rows) in &self.rows {
            let mut upsert = transaction.prepare_cached(&format!(
                "INSERT INTO {table} (seq, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (seq) DO UPDATE SET key = excluded.key, value = excluded.value"
            ))?;
            for row in rows {
                upsert.execute(params![row.seq, row.key, row.value])?;
            }
        }
        if let Some(rest) = &self.rest {
            transaction.execute(
                "INSERT INTO store (id, saved_at_ms, rest) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET saved_at_ms = excluded.saved_at_ms, rest = excluded.rest",
                params![unix_millis(SystemTime::now()), rest],
            )?;
        }
        transaction.commit()
    }
}

impl StateDb {
    fn lock(&self) -> MutexGuard<'_, Saved> {
        self.saved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes what changed in `store` since the last save in one transaction (nothing when
    /// nothing did), then forgets the changes.
    pub fn save(&self, store: &mut Store) -> Result<(), StateError> {
        let mut saved = self.lock();
        let changes =
            Changes::of(store, &saved.rest).map_err(|error| StateError::Save(error.to_string()))?;
        if !changes.is_empty() {
            changes
                .write(&mut saved.connection)
                .map_err(|error| StateError::Save(error.to_string()))?;
            if let Some(rest) = changes.rest {
                saved.rest = rest;
            }
        }
        store.commit_changes();
        Ok(())
    }

    /// Puts `store` back to what the database holds, keeping what is not saved.
    fn roll_back(&self, store: &mut Store) {
        let saved = self.lock();
        if !store.replaced {
            store.roll_back_changes();
            match serde_json::from_str::<Rest>(&saved.rest) {
                Ok(rest) => store.set_rest(rest),
                Err(error) => tracing::error!(%error, "the saved state cannot be read back"),
            }
            return;
        }
        // A reset replaced the whole store: read the saved one back.
        match load(
            &saved.connection,
            store.config.clone(),
            store.base_url.clone(),
            store.seed.clone(),
        ) {
            Ok(Some((mut restored, _))) => {
                restored.request_log = std::mem::take(&mut store.request_log);
                restored.faults = std::mem::take(&mut store.faults);
                restored.expires_at_clients = std::mem::take(&mut store.expires_at_clients);
                restored.spt_delay = store.spt_delay;
                *store = restored;
            }
            Ok(None) => tracing::error!("the saved state is gone"),
            Err(error) => tracing::error!(%error, "the saved state cannot be read back"),
        }
    }
}

tokio::task_local! {
    /// Set when a change made while serving this request could not be saved.
    static UNSAVED: Cell<bool>;
}

/// The store, locked. A mutable borrow marks it touched; on release the records changed
/// through it are saved (with `--state`) before the mutex is.
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
    /// releasing the guard then costs no save. Anything else changed through it is lost
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
        if !self.touched {
            return;
        }
        let Some(db) = self.db else {
            // Nothing to save to: the changes need not be remembered.
            self.guard.commit_changes();
            return;
        };
        if let Err(error) = db.save(&mut self.guard) {
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
    use crate::model::store::Grant;

    /// A database path in a directory of its own, removed when the test ends.
    struct TempDb {
        _dir: tempfile::TempDir,
        path: PathBuf,
    }

    impl Deref for TempDb {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.path
        }
    }

    impl AsRef<Path> for TempDb {
        fn as_ref(&self) -> &Path {
            &self.path
        }
    }

    fn temp_path(name: &str) -> TempDb {
        let dir = tempfile::Builder::new()
            .prefix("mock-link-state-")
            .tempdir()
            .unwrap();
        let path = dir.path().join(format!("{name}.db"));
        TempDb { _dir: dir, path }
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

    fn grant(user_id: &str) -> Grant {
        Grant {
            user_id: user_id.into(),
            scope: "userinfo:read".into(),
            client_id: "client".into(),
            connection_label: None,
            authorization_details: Vec::new(),
            revoked: false,
        }
    }

    fn count_rows(db: &StateDb, table: &str) -> i64 {
        db.lock()
            .connection
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
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
            guard.grants.insert("grant_1".into(), grant("usr_default"));
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
        assert_eq!(store.grants["grant_1"].user_id, "usr_default");
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
    fn a_change_writes_only_the_records_it_touched() {
        let path = temp_path("per-record");
        let (store, db) = fresh(&path);
        let store = Mutex::new(store);
        {
            let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
            for index in 0..50 {
                guard
                    .grants
                    .insert(format!("grant_{index}"), grant("usr_default"));
            }
        }
        assert_eq!(count_rows(&db, "grants"), 50);
        let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
        guard.grants.get_mut("grant_7").unwrap().revoked = true;
        let changes = Changes::of(&guard, &db.lock().rest).unwrap();
        assert_eq!(changes.rest, None, "the rest did not change");
        assert!(!changes.replace);
        let rows: Vec<_> = changes
            .rows
            .iter()
            .flat_map(|(table, rows)| rows.iter().map(move |row| (*table, row.seq)))
            .collect();
        assert_eq!(rows, vec![("grants", 7)], "one record, nothing else");
        drop(guard);
        let saved: String = db
            .lock()
            .connection
            .query_row(
                "SELECT value FROM grants WHERE key = 'grant_7'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(saved.contains(r#""revoked":true"#), "{saved}");

        let guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
        let changes = Changes::of(&guard, &db.lock().rest).unwrap();
        assert!(changes.is_empty(), "a save forgets what it wrote");
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

    #[test]
    fn a_version_1_snapshot_is_refused_by_name_and_left_as_it_is() {
        let path = temp_path("v1");
        let v1 = "CREATE TABLE snapshot (
                      id INTEGER PRIMARY KEY CHECK (id = 1),
                      saved_at_ms INTEGER NOT NULL,
                      store TEXT NOT NULL
                  );
                  INSERT INTO snapshot VALUES (1, 0, '{}');
                  PRAGMA user_version = 1;";
        Connection::open(&path).unwrap().execute_batch(v1).unwrap();
        let error =
            open_store(&path, Config::default(), String::new(), Seed::default()).unwrap_err();
        assert!(matches!(error, StateError::OldSchema { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("schema version 1") && message.contains("reads version 2"),
            "{message}"
        );
        let snapshot: String = Connection::open(&path)
            .unwrap()
            .query_row("SELECT store FROM snapshot", [], |row| row.get(0))
            .unwrap();
        assert_eq!(snapshot, "{}", "the old file is not touched");
    }

    #[tokio::test]
    async fn a_change_that_cannot_be_saved_is_undone_and_flagged() {
        let path = temp_path("unsaved");
        let (store, db) = fresh(&path);
        let store = Mutex::new(store);
        {
            let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
            guard
                .grants
                .insert("grant_kept".into(), grant("usr_default"));
        }
        db.lock()
            .connection
            .execute_batch("DROP TABLE store;")
            .unwrap();
        let unsaved = UNSAVED
            .scope(Cell::new(false), async {
                let mut guard = StoreGuard::new(store.lock().unwrap(), Some(&db));
                guard.merchants.clear();
                guard.grants.get_mut("grant_kept").unwrap().revoked = true;
                guard
                    .grants
                    .insert("grant_new".into(), grant("usr_default"));
                guard.ledger.push(crate::model::ledger::LedgerEntry {
                    at: 0,
                    event: "issued".into(),
                    credential_type: "card".into(),
                    credential: "card ending 4242".into(),
                    source: "spend_request".into(),
                    spend_request_id: None,
                    network_id: None,
                    amount: 1,
                    currency: "usd".into(),
                    merchant_network_id: None,
                    payment_intent: None,
                    reason: None,
                });
                drop(guard);
                UNSAVED.with(Cell::get)
            })
            .await;
        assert!(unsaved);
        let store = store.lock().unwrap();
        assert_eq!(store.merchants.len(), 1, "the change is undone");
        assert!(!store.grants["grant_kept"].revoked, "the change is undone");
        assert!(!store.grants.contains_key("grant_new"), "the addition too");
        assert!(store.ledger.is_empty(), "and the ledger line");
        assert!(!store.has_changes(), "nothing is left to save");
    }
}
