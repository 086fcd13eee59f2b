//! Everything mock-link remembers, in one place behind one mutex.

use std::collections::{BTreeSet, HashMap, VecDeque};
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
use crate::model::spend_request::{Include, SpendRequest};

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
/// With `--state` the serialized store is the database's snapshot (see [`crate::model::state_db`]).
/// What the command line or builder decides at each start (`config`, `base_url`, `seed`
/// and the settings taken from the config) and the request log are not saved.
#[derive(Debug, Serialize, Deserialize)]
pub struct Store {
    #[serde(skip)]
    pub config: Config,
    /// Saved: times already handed out were computed on this clock.
    pub clock: Clock,
    /// The base URL the server listens on, used to build verification and approval URLs.
    #[serde(skip)]
    pub base_url: String,
    pub users: Vec<User>,
    pub merchants: Vec<Merchant>,
    pub device_codes: Vec<DeviceCode>,
    pub grants: HashMap<String, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub spend_requests: Vec<SpendRequest>,
    /// Where each spend request sits in `spend_requests`, by id: a hint checked on use, so a
    /// missing or stale entry (a restored store) costs a scan, never a wrong answer. Without
    /// it every retrieve walked the whole history (docs/benchmarks.md, growth).
    #[serde(skip)]
    spend_request_positions: HashMap<String, usize>,
    /// When the earliest open spend request can expire, as of the last expiry sweep and the
    /// requests added or re-dated since; `None` until a sweep has run. Lets the sweep that
    /// precedes every spend-request call skip the whole history until something is due.
    #[serde(skip)]
    pub(crate) next_expiry: Option<NextExpiry>,
    pub shared_payment_tokens: HashMap<String, SharedPaymentToken>,
    /// SPTs sellers made with Stripe's test helper, by id.
    pub test_granted_tokens: HashMap<String, TestGrantedToken>,
    /// When each revoked SPT (of either kind) was revoked, by id.
    pub revoked_tokens: HashMap<String, SystemTime>,
    /// Keyed by (secret key, idempotency key).
    #[serde(with = "pairs")]
    pub idempotency: HashMap<(String, String), StoredResponse>,
    /// What this process was asked; not saved (it can be large, and it is not data a
    /// client made).
    #[serde(skip)]
    pub request_log: RequestLog,
    pub ledger: Vec<LedgerEntry>,
    /// Applied on top of the defaults at start and after every reset.
    #[serde(skip)]
    pub seed: Seed,
    /// Faults armed for upcoming calls. Not saved: like the request log, they belong to the
    /// process a test talks to.
    #[serde(skip)]
    pub faults: Vec<ArmedFault>,
    /// Scripts for the next device codes created, first first.
    pub device_scripts: VecDeque<DeviceScript>,
    /// Scripts for the next spend requests created, first first.
    pub spend_request_scripts: VecDeque<SpendRequestScript>,
    /// PaymentIntents created, by id, with the secret key that created them.
    pub payment_intents: HashMap<String, (String, Value)>,
    /// Reports sent to `POST /agent_observations`.
    pub agent_observations: Vec<Value>,
    /// OAuth client ids allowed to send `expires_at` (from the config, changed by the control API).
    /// Not saved: each start's flags decide the settings.
    #[serde(skip)]
    pub expires_at_clients: BTreeSet<String>,
    /// How long after approval an SPT appears, unless the request has its own delay.
    #[serde(skip)]
    pub spt_delay: Duration,
    /// Each user's approval policy (`GET /approval-policy`), set through the control API.
    pub approval_policies: HashMap<String, Value>,
}

impl Store {
    /// A store holding the default user and merchant plus `seed`.
    pub fn new(config: Config, base_url: String, seed: Seed) -> Result<Self, Error> {
        let mut store = Self {
            expires_at_clients: config.expires_at_clients.iter().cloned().collect(),
            spt_delay: config.spt_delay,
            approval_policies: HashMap::new(),
            config,
            clock: Clock::default(),
            base_url,
            users: Vec::new(),
            merchants: Vec::new(),
            device_codes: Vec::new(),
            grants: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            spend_requests: Vec::new(),
            spend_request_positions: HashMap::new(),
            next_expiry: None,
            shared_payment_tokens: HashMap::new(),
            test_granted_tokens: HashMap::new(),
            revoked_tokens: HashMap::new(),
            idempotency: HashMap::new(),
            request_log: RequestLog::default(),
            ledger: Vec::new(),
            seed,
            faults: Vec::new(),
            device_scripts: VecDeque::new(),
            spend_request_scripts: VecDeque::new(),
            agent_observations: Vec::new(),
            payment_intents: HashMap::new(),
        };
        store.seed_defaults();
        let seed = store.seed.clone();
        store.apply_seed(&seed)?;
        Ok(store)
    }

    /// A store read back from its JSON snapshot (`--state`), with what is not saved taken
    /// from this start: the configuration and its settings, the base URL and the seed.
    pub fn restore(
        snapshot: &str,
        config: Config,
        base_url: String,
        seed: Seed,
    ) -> Result<Self, serde_json::Error> {
        let mut store: Self = serde_json::from_str(snapshot)?;
        store.expires_at_clients = config.expires_at_clients.iter().cloned().collect();
        store.spt_delay = config.spt_delay;
        store.config = config;
        store.base_url = base_url;
        store.seed = seed;
        for user in &mut store.users {
            user.restore_history();
        }
        Ok(store)
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
        self.spend_request_index(id)
            .map(|index| &self.spend_requests[index])
    }

    /// The position of the spend request with this id in `spend_requests`.
    pub fn spend_request_index(&self, id: &str) -> Option<usize> {
        if let Some(&index) = self.spend_request_positions.get(id)
            && self
                .spend_requests
                .get(index)
                .is_some_and(|request| request.id == id)
        {
            return Some(index);
        }
        self.spend_requests
            .iter()
            .position(|request| request.id == id)
    }

    /// Adds a new spend request (the only way one enters the store after a restore).
    pub(crate) fn add_spend_request(&mut self, request: SpendRequest) {
        if request.state.is_open() {
            self.note_expiry(request.expires_at);
        }
        self.spend_request_positions
            .insert(request.id.clone(), self.spend_requests.len());
        self.spend_requests.push(request);
    }

    /// Records that an open spend request may now expire at `at` (it was added, or its
    /// `expires_at` changed), so the next sweep does not skip it.
    pub(crate) fn note_expiry(&mut self, at: SystemTime) {
        self.next_expiry = match self.next_expiry {
            None => None,
            Some(NextExpiry::Never) => Some(NextExpiry::At(at)),
            Some(NextExpiry::At(due)) => Some(NextExpiry::At(due.min(at))),
        };
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

    /// The spend request with this id, whoever owns it.
    pub fn spend_request_mut(&mut self, id: &str) -> Option<&mut SpendRequest> {
        let index = self.spend_request_index(id)?;
        Some(&mut self.spend_requests[index])
    }
}

/// When the next expiry sweep has work to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NextExpiry {
    /// Not before this instant (the earliest `expires_at` of an open request).
    At(SystemTime),
    /// No open request is left.
    Never,
}

/// A map with a pair key as a JSON list of `[[k1, k2], value]` (JSON keys are strings only).
mod pairs {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type PairMap<V> = HashMap<(String, String), V>;

    pub fn serialize<V: Serialize, S: Serializer>(
        map: &PairMap<V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PairMap<V>, D::Error> {
        let entries = Vec::<((String, String), V)>::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}
