//! Everything mock-link remembers, in one place behind one mutex.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::{Clock, from_unix_seconds};
use crate::config::Config;
use crate::error::Error;
use crate::faults::ArmedFault;
use crate::model::accounts::{Merchant, User};
use crate::model::granted_token::{Terms, TestGrantedToken};
use crate::model::ledger::LedgerEntry;
use crate::model::request_log::RequestLog;
use crate::model::scripts::{DeviceScript, SpendRequestScript};
use crate::model::seed::Seed;
use crate::model::spend_request::credentials::SharedPaymentToken;
use crate::model::spend_request::index::{SpendRequestMut, SpendRequests};
use crate::model::spend_request::{Include, SpendRequest};
use crate::model::table::{Collection, LoadError, Log, Row, Table};

/// Where a device authorization stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum DeviceDecision {
    /// The user has not acted yet.
    Pending,
    /// The user approved; the next poll gets tokens for this user.
    Approved { user_id: String },
    /// The user denied.
    Denied,
    /// Tokens were handed out; the device code is spent.
    Redeemed,
}

/// One `POST /device/code` and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceCode {
    pub device_code: String,
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub connection_label: Option<String>,
    pub client_hint: Option<String>,
    pub authorization_details: Vec<Value>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub decision: DeviceDecision,
    pub last_polled_at: Option<SystemTime>,
    pub polls: u32,
    /// The least time between two polls: the configured interval, raised by every `slow_down`.
    pub interval: Duration,
    /// An outcome decided ahead of time.
    pub script: Option<DeviceScript>,
}

/// A login session: every access and refresh token descending from one device approval.
/// Revoking any of its tokens revokes the whole grant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub user_id: String,
    pub scope: String,
    pub client_id: String,
    pub connection_label: Option<String>,
    pub authorization_details: Vec<Value>,
    pub revoked: bool,
}

/// An issued access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessToken {
    pub grant_id: String,
    pub expires_at: SystemTime,
}

/// An issued refresh token; it works once (rotation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshToken {
    pub grant_id: String,
    pub expires_at: SystemTime,
    pub used: bool,
}

/// A stored Stripe answer, replayed for a repeated `Idempotency-Key`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredResponse {
    pub request_fingerprint: String,
    pub status: u16,
    pub body: Value,
}

/// All state of one mock-link instance.
///
/// With `--state` the growing collections are saved a record at a time, each in its own
/// table, and the rest ([`Rest`]: the clock, users, merchants, scripts and approval
/// policies) as one small row (see [`crate::model::state_db`]). What the command line or
/// builder decides at each start (`config`, `base_url`, `seed` and the settings taken from
/// the config), the request log and armed faults are not saved.
#[derive(Debug)]
pub struct Store {
    pub config: Config,
    /// Saved: times already handed out were computed on this clock.
    pub clock: Clock,
    /// The base URL the server listens on, used to build verification and approval URLs.
    pub base_url: String,
    pub users: Vec<User>,
    pub merchants: Vec<Merchant>,
    /// Device logins by device code.
    pub device_codes: Table<String, DeviceCode>,
    pub grants: Table<String, Grant>,
    pub access_tokens: Table<String, AccessToken>,
    pub refresh_tokens: Table<String, RefreshToken>,
    /// Every spend request, in creation order, with the indexes list, create and the expiry
    /// sweep use.
    pub spend_requests: SpendRequests,
    pub shared_payment_tokens: Table<String, SharedPaymentToken>,
    /// SPTs sellers made with Stripe's test helper, by id.
    pub test_granted_tokens: Table<String, TestGrantedToken>,
    /// When each revoked SPT (of either kind) was revoked, by id.
    pub revoked_tokens: Table<String, SystemTime>,
    /// Keyed by (secret key, idempotency key).
    pub idempotency: Table<(String, String), StoredResponse>,
    /// What this process was asked; not saved (it can be large, and it is not data a
    /// client made).
    pub request_log: RequestLog,
    pub ledger: Log<LedgerEntry>,
    /// Applied on top of the defaults at start and after every reset.
    pub seed: Seed,
    /// Faults armed for upcoming calls. Not saved: like the request log, they belong to the
    /// process a test talks to.
    pub faults: Vec<ArmedFault>,
    /// Scripts for the next device codes created, first first.
    pub device_scripts: VecDeque<DeviceScript>,
    /// Scripts for the next spend requests created, first first.
    pub spend_request_scripts: VecDeque<SpendRequestScript>,
    /// PaymentIntents created, by id, with the secret key that created them.
    pub payment_intents: Table<String, (String, Value)>,
    /// Reports sent to `POST /agent_observations`.
    pub agent_observations: Log<Value>,
    /// OAuth client ids allowed to send `expires_at` (from the config, changed by the control API).
    /// Not saved: each start's flags decide the settings.
    pub expires_at_clients: BTreeSet<String>,
    /// How long after approval an SPT appears, unless the request has its own delay.
    pub spt_delay: Duration,
    /// Each user's approval policy (`GET /approval-policy`), set through the control API.
    pub approval_policies: BTreeMap<String, Value>,
    /// Set when the whole store was replaced (a new store, a reset) since the last save:
    /// the database's tables are then written anew.
    pub(crate) replaced: bool,
}

/// The part of the store saved as one row: small, and rarely changed.
#[derive(Serialize)]
pub(crate) struct RestRef<'a> {
    clock: &'a Clock,
    users: &'a [User],
    merchants: &'a [Merchant],
    device_scripts: &'a VecDeque<DeviceScript>,
    spend_request_scripts: &'a VecDeque<SpendRequestScript>,
    approval_policies: &'a BTreeMap<String, Value>,
}

/// [`RestRef`] read back.
#[derive(Deserialize)]
pub(crate) struct Rest {
    clock: Clock,
    users: Vec<User>,
    merchants: Vec<Merchant>,
    device_scripts: VecDeque<DeviceScript>,
    spend_request_scripts: VecDeque<SpendRequestScript>,
    approval_policies: BTreeMap<String, Value>,
}

/// Lists the saved collections once: their table names (the field names) and accessors.
macro_rules! saved_collections {
    ($($field:ident),* $(,)?) => {
        /// The database table of each saved collection (named after its field).
        pub(crate) const COLLECTIONS: &[&str] = &[$(stringify!($field)),*];

        impl Store {
            /// Each saved collection with its table name.
            pub(crate) fn collections(&self) -> Vec<(&'static str, &dyn Collection)> {
                vec![$((stringify!($field), &self.$field as &dyn Collection)),*]
            }

            /// Each saved collection with its table name, mutably.
            pub(crate) fn collections_mut(&mut self) -> Vec<(&'static str, &mut dyn Collection)> {
                vec![$((stringify!($field), &mut self.$field as &mut dyn Collection)),*]
            }
        }
    };
}

saved_collections!(
    spend_requests,
    device_codes,
    grants,
    access_tokens,
    refresh_tokens,
    shared_payment_tokens,
    test_granted_tokens,
    revoked_tokens,
    idempotency,
    payment_intents,
    ledger,
    agent_observations,
);

impl Store {
    /// A store holding the default user and merchant plus `seed`.
    pub fn new(config: Config, base_url: String, seed: Seed) -> Result<Self, Error> {
        let mut store = Self::empty(config, base_url, seed);
        store.seed_defaults();
        let seed = store.seed.clone();
        store.apply_seed(&seed)?;
        Ok(store)
    }

    /// A store with nothing in it and this start's configuration, base URL and seed.
    fn empty(config: Config, base_url: String, seed: Seed) -> Self {
        Self {
            expires_at_clients: config.expires_at_clients.iter().cloned().collect(),
            spt_delay: config.spt_delay,
            approval_policies: BTreeMap::new(),
            config,
            clock: Clock::default(),
            base_url,
            users: Vec::new(),
            merchants: Vec::new(),
            device_codes: Table::default(),
            grants: Table::default(),
            access_tokens: Table::default(),
            refresh_tokens: Table::default(),
            spend_requests: SpendRequests::default(),
            shared_payment_tokens: Table::default(),
            test_granted_tokens: Table::default(),
            revoked_tokens: Table::default(),
            idempotency: Table::default(),
            request_log: RequestLog::default(),
            ledger: Log::default(),
            seed,
            faults: Vec::new(),
            device_scripts: VecDeque::new(),
            spend_request_scripts: VecDeque::new(),
            agent_observations: Log::default(),
            payment_intents: Table::default(),
            replaced: true,
        }
    }

    /// A store read back from its saved rest and collections (`--state`), with what is not
    /// saved taken from this start: the configuration and its settings, the base URL and the
    /// seed. `rows` gives each collection's saved rows, by table name, in `seq` order.
    pub(crate) fn restore(
        rest: Rest,
        mut rows: impl FnMut(&'static str) -> Result<Vec<Row>, LoadError>,
        config: Config,
        base_url: String,
        seed: Seed,
    ) -> Result<Self, (&'static str, LoadError)> {
        let mut store = Self::empty(config, base_url, seed);
        store.set_rest(rest);
        for (name, collection) in store.collections_mut() {
            rows(name)
                .and_then(|rows| collection.load(rows))
                .map_err(|error| (name, error))?;
        }
        store.replaced = false;
        Ok(store)
    }

    /// The saved rest of the store, as JSON.
    pub(crate) fn rest_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&RestRef {
            clock: &self.clock,
            users: &self.users,
            merchants: &self.merchants,
            device_scripts: &self.device_scripts,
            spend_request_scripts: &self.spend_request_scripts,
            approval_policies: &self.approval_policies,
        })
    }

    /// Puts saved rest back (restore, or a change the database refused).
    pub(crate) fn set_rest(&mut self, rest: Rest) {
        self.clock = rest.clock;
        self.users = rest.users;
        self.merchants = rest.merchants;
        self.device_scripts = rest.device_scripts;
        self.spend_request_scripts = rest.spend_request_scripts;
        self.approval_policies = rest.approval_policies;
        for user in &mut self.users {
            user.restore_history();
        }
    }

    /// Whether a collection changed (or the store was replaced) since the last save.
    #[cfg(test)]
    pub(crate) fn has_changes(&self) -> bool {
        self.replaced
            || self
                .collections()
                .iter()
                .any(|(_, collection)| collection.has_changes())
    }

    /// The changes are saved (or, without `--state`, need not be): forget them.
    pub(crate) fn commit_changes(&mut self) {
        for (_, collection) in self.collections_mut() {
            collection.commit();
        }
        self.replaced = false;
    }

    /// The collections' changes could not be saved: undo them.
    pub(crate) fn roll_back_changes(&mut self) {
        for (_, collection) in self.collections_mut() {
            collection.roll_back();
        }
    }

    /// Forgets everything (including the clock offset) and seeds the defaults again.
    pub fn reset(&mut self) {
        let fresh = Self::new(
            self.config.clone(),
            self.base_url.clone(),
            self.seed.clone(),
        );
        match fresh {
            Ok(fresh) => *self = fresh,
            // The seed was applied once at start, so it cannot fail now; keep the defaults anyway.
            Err(_) => {
                let mut defaults =
                    Self::new(self.config.clone(), self.base_url.clone(), Seed::default())
                        .expect("the empty seed always applies");
                defaults.seed = self.seed.clone();
                *self = defaults;
            }
        }
    }

    fn seed_defaults(&mut self) {
        self.users.push(User::default_user());
        self.merchants.push(Merchant::default_merchant());
    }

    /// The current virtual time.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The user with this id.
    pub fn user(&self, user_id: &str) -> Option<&User> {
        self.users.iter().find(|user| user.id == user_id)
    }

    /// The user with this id, mutably.
    pub fn user_mut(&mut self, user_id: &str) -> Option<&mut User> {
        self.users.iter_mut().find(|user| user.id == user_id)
    }

    /// Adds the seed's users and merchants; a user or merchant with a known id or key replaces
    /// it. Answers the users added.
    pub fn apply_seed(&mut self, seed: &Seed) -> Result<Vec<User>, Error> {
        let users = seed.users()?;
        for user in &users {
            self.users.retain(|existing| existing.id != user.id);
            self.users.push(user.clone());
        }
        for merchant in &seed.merchants {
            self.merchants
                .retain(|existing| existing.secret_key != merchant.secret_key);
            self.merchants.push(merchant.clone());
        }
        Ok(users)
    }

    /// The spend request with this id, whoever owns it.
    pub fn spend_request(&self, id: &str) -> Option<&SpendRequest> {
        self.spend_requests.get(id)
    }

    /// The position of the spend request with this id in `spend_requests` (creation order).
    pub fn spend_request_index(&self, id: &str) -> Option<usize> {
        self.spend_requests.position(id)
    }

    /// Adds a new spend request.
    pub(crate) fn add_spend_request(&mut self, request: SpendRequest) {
        self.spend_requests.add(request);
    }

    /// The wire object of `request`, with its SPT once minted on the virtual clock.
    pub fn spend_request_json(&self, request: &SpendRequest, include: Include) -> Value {
        let minted = request
            .spt_available_at
            .is_none_or(|available_at| self.now() >= available_at);
        let spt = request
            .shared_payment_token
            .as_ref()
            .filter(|_| minted)
            .and_then(|id| self.shared_payment_tokens.get(id));
        request.to_json(&self.base_url, spt, include)
    }

    /// The terms of token `id`, if mock-link minted it.
    pub fn token_terms(&self, id: &str) -> Option<Terms> {
        let revoked_at = self.revoked_tokens.get(id).copied();
        if let Some(token) = self.shared_payment_tokens.get(id) {
            // Issued on approval: the ledger's `issued` entry says when.
            let created = self
                .ledger
                .iter()
                .find(|entry| entry.event == "issued" && entry.credential == id)
                .map(|entry| from_unix_seconds(entry.at))
                .unwrap_or(token.valid_until);
            return Some(Terms {
                id: token.id.clone(),
                spend_request_id: Some(token.spend_request_id.clone()),
                network_id: token.network_id.clone(),
                max_amount: token.amount,
                currency: token.currency.clone(),
                created,
                expires_at: token.valid_until,
                redeemed_by: token.redeemed_by.clone(),
                revoked_at,
            });
        }
        self.test_granted_tokens
            .get(id)
            .map(|token| token.terms(revoked_at))
    }

    /// The spend request with this id, whoever owns it, to change it.
    pub fn spend_request_mut(&mut self, id: &str) -> Option<SpendRequestMut<'_>> {
        self.spend_requests.get_mut(id)
    }
}
