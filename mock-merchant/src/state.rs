//! The server's shared state: configuration, clock, ledger and the few
//! things merchants remember (claimed challenges, probes, charged cards).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::challenges::Issued;
use crate::clock::{SharedClock, rfc3339};
use crate::knobs::Knobs;
use crate::ledger::{Ledger, LedgerEntry};

/// How a merchant is configured.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL of the Stripe-compatible API (mock-link), e.g. `http://127.0.0.1:4010`.
    pub link_url: String,
    /// The Stripe secret key the merchants settle with.
    pub secret_key: String,
    /// The merchants' Stripe business network profile (`profile_...`).
    pub network_id: String,
    /// The HMAC key challenge ids are bound with (at least 32 bytes).
    pub challenge_secret: String,
    /// How long a challenge stays payable.
    pub challenge_lifetime: Duration,
    /// The card shop checks cards with mock-link's control API.
    pub verify_cards_at_link: bool,
    /// The token mock-link's control API requires, sent by the card shop's checks.
    pub link_control_token: Option<String>,
    /// How settlement calls the Stripe API.
    pub settle_style: SettleStyle,
    /// Where a challenge's credential `header` goes in its HMAC input.
    pub header_slot: mpp_wire::HeaderSlot,
    /// Connection and request timeouts, the connection cap, the drain bound.
    pub limits: crate::listen::Limits,
    /// Who may use the control API.
    pub control: crate::control_access::ControlAccess,
}

/// How settlement authenticates and labels its Stripe calls, to mirror a
/// given merchant library.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettleStyle {
    /// Secret key as HTTP Basic username (empty password) instead of Bearer.
    pub basic_auth: bool,
    /// A `Stripe-Version` header (mppx sends `2026-07-29.preview`).
    pub stripe_version: Option<String>,
    /// Prefix of the idempotency key `<prefix><challenge id>_<spt>` (the `mpp` crate uses `mpp_`).
    pub idempotency_prefix: String,
}

/// What a paid retry holds on a challenge id while it settles, and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The SPT the claiming credential carried.
    pub spt: String,
    /// Settled (paid) rather than in flight.
    pub settled: bool,
}

/// State shared by every handler.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: Config,
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// Another origin reaching this server (for cross-origin redirects and the phishing form).
    pub cross_origin: String,
    /// The merchant clock.
    pub clock: SharedClock,
    /// HTTP client for settlement.
    pub http: reqwest::Client,
    issued: AtomicU64,
    ledger: Mutex<Ledger>,
    claims: Mutex<HashMap<String, Claim>>,
    probes: Mutex<HashMap<String, u64>>,
    charged_cards: Mutex<HashSet<String>>,
    /// Orders placed since the last reset (declined attempts do not count).
    orders: AtomicU64,
    knobs: Mutex<HashMap<String, Knobs>>,
    issued_stripe: Mutex<Remembered<Issued>>,
    paid_answers: Mutex<Remembered<PaidAnswer>>,
}

/// How many issued stripe challenges are remembered; the oldest beyond this
/// are forgotten (their credentials then get `invalid-challenge`).
pub const REMEMBERED_CHALLENGES: usize = 20_000;

/// How many paid answers are kept for `Idempotency-Key` replays.
pub const REMEMBERED_ANSWERS: usize = 10_000;

/// A paid answer kept for a retry under the same `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidAnswer {
    /// The credential header value that paid.
    pub credential: String,
    /// Digest of the request body that was paid for (`None`: no body).
    pub body_digest: Option<String>,
    /// The JSON resource answered.
    pub body: serde_json::Value,
    /// The `Payment-Receipt` value answered.
    pub receipt: String,
}

/// Values by key, the oldest forgotten beyond a cap.
#[derive(Debug)]
struct Remembered<V> {
    by_key: HashMap<String, V>,
    order: VecDeque<String>,
    cap: usize,
}

impl<V: Clone> Remembered<V> {
    fn new(cap: usize) -> Self {
        Self {
            by_key: HashMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    fn insert(&mut self, key: &str, value: V) {
        if self.by_key.insert(key.to_owned(), value).is_none() {
            self.order.push_back(key.to_owned());
        }
        while self.order.len() > self.cap {
            if let Some(oldest) = self.order.pop_front() {
                self.by_key.remove(&oldest);
            }
        }
    }

    fn get(&self, key: &str) -> Option<V> {
        self.by_key.get(key).cloned()
    }

    fn clear(&mut self) {
        self.by_key.clear();
        self.order.clear();
    }
}

/// The handlers' state.
pub type AppState = Arc<Shared>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler never panics while holding a lock; recover the data anyway.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// How a claim on a challenge id ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This request holds the challenge now.
    Claimed,
    /// The same SPT already claimed it (a replay, concurrent or not).
    SameSpt,
    /// Another SPT already used it.
    OtherSpt,
}

/// The client for calls to Link at `link_url`, built without panicking anywhere.
///
/// reqwest's TLS is compiled in, and a default client reads the system trust store when built.
/// A plain-HTTP Link (mock-link) needs no store, so none is read: the merchant starts in a
/// container without CA certificates. For an `https` Link the store is loaded; when there is
/// none the merchant still starts, and each settlement answers that Link is unreachable.
fn settlement_client(link_url: &str) -> reqwest::Client {
    let trust_nobody = || {
        reqwest::Client::builder()
            .tls_certs_only(Vec::new())
            .build()
            .expect("a client without trust roots or proxies has nothing that can fail to load")
    };
    if !link_url.starts_with("https:") {
        return trust_nobody();
    }
    reqwest::Client::builder().build().unwrap_or_else(|error| {
        tracing::warn!(%error, "no usable trust store: settlements at {link_url} will fail");
        trust_nobody()
    })
}

impl Shared {
    /// State for a server at `base_url`.
    pub fn new(config: Config, base_url: String, cross_origin: String) -> Self {
        Self {
            http: settlement_client(&config.link_url),
            config,
            base_url,
            cross_origin,
            clock: SharedClock::default(),
            issued: AtomicU64::new(0),
            ledger: Mutex::default(),
            claims: Mutex::default(),
            probes: Mutex::default(),
            charged_cards: Mutex::default(),
            orders: AtomicU64::new(0),
            knobs: Mutex::default(),
            issued_stripe: Mutex::new(Remembered::new(REMEMBERED_CHALLENGES)),
            paid_answers: Mutex::new(Remembered::new(REMEMBERED_ANSWERS)),
        }
    }

    /// A number unique to each 402 this server issues.
    pub fn next_issue(&self) -> u64 {
        self.issued.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Remembers the stripe challenge `id` as issued (kept across `reset`,
    /// like the binding key: a challenge issued before stays payable).
    pub fn remember_issued(&self, id: &str, issued: Issued) {
        lock(&self.issued_stripe).insert(id, issued);
    }

    /// The stripe challenge `id` as issued, if this server issued it.
    pub fn issued(&self, id: &str) -> Option<Issued> {
        lock(&self.issued_stripe).get(id)
    }

    /// Keeps the paid answer to `idempotency_key` (scoped by the route in it).
    pub fn remember_paid(&self, idempotency_key: &str, answer: PaidAnswer) {
        lock(&self.paid_answers).insert(idempotency_key, answer);
    }

    /// The paid answer kept for `idempotency_key`, if any.
    pub fn paid_answer(&self, idempotency_key: &str) -> Option<PaidAnswer> {
        lock(&self.paid_answers).get(idempotency_key)
    }

    /// Appends to the ledger at the merchant clock's time.
    pub fn record(&self, entry: LedgerEntry) {
        let at = rfc3339(self.clock.now());
        lock(&self.ledger).push(entry, at);
    }

    /// The ledger, or one merchant's part of it.
    pub fn ledger(&self, merchant: Option<&str>) -> Vec<LedgerEntry> {
        lock(&self.ledger).entries(merchant)
    }

    /// Claims challenge `id` for `spt`, atomically.
    pub fn claim(&self, id: &str, spt: &str) -> ClaimOutcome {
        let mut claims = lock(&self.claims);
        match claims.get(id) {
            Some(claim) if claim.spt == spt => ClaimOutcome::SameSpt,
            Some(_) => ClaimOutcome::OtherSpt,
            None => {
                claims.insert(
                    id.to_owned(),
                    Claim {
                        spt: spt.to_owned(),
                        settled: false,
                    },
                );
                ClaimOutcome::Claimed
            }
        }
    }

    /// Marks challenge `id` paid (`paid`) or releases it after a refusal.
    pub fn settle_claim(&self, id: &str, paid: bool) {
        let mut claims = lock(&self.claims);
        if paid {
            if let Some(claim) = claims.get_mut(id) {
                claim.settled = true;
            }
        } else {
            claims.remove(id);
        }
    }

    /// The knobs of `merchant` (all off unless set).
    pub fn knobs_of(&self, merchant: &str) -> Knobs {
        lock(&self.knobs).get(merchant).cloned().unwrap_or_default()
    }

    /// Every merchant's knobs that are set.
    pub fn all_knobs(&self) -> HashMap<String, Knobs> {
        lock(&self.knobs).clone()
    }

    /// Replaces the knobs of `merchant` (the default clears them).
    pub fn set_knobs(&self, merchant: &str, knobs: Knobs) {
        let mut all = lock(&self.knobs);
        if knobs == Knobs::default() {
            all.remove(merchant);
        } else {
            all.insert(merchant.to_owned(), knobs);
        }
    }

    /// Forgets the ledger, claims, probes, charged cards, knobs and paid
    /// answers kept for replays (the clock and the issued challenges stay).
    pub fn reset(&self) {
        lock(&self.paid_answers).clear();
        lock(&self.knobs).clear();
        *lock(&self.ledger) = Ledger::default();
        lock(&self.claims).clear();
        lock(&self.probes).clear();
        lock(&self.charged_cards).clear();
        self.orders.store(0, Ordering::SeqCst);
    }

    /// The number of the next order placed (1 after a reset).
    pub fn next_order(&self) -> u64 {
        self.orders.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Counts a probe of `key`; returns how many came before.
    pub fn next_probe(&self, key: &str) -> u64 {
        let mut probes = lock(&self.probes);
        let count = probes.entry(key.to_owned()).or_insert(0);
        let before = *count;
        *count += 1;
        before
    }

    /// How many probes of `key` were counted.
    pub fn probes_of(&self, key: &str) -> u64 {
        lock(&self.probes).get(key).copied().unwrap_or(0)
    }

    /// Records a card charge; false if this card was charged before.
    pub fn charge_card_once(&self, number: &str) -> bool {
        lock(&self.charged_cards).insert(number.to_owned())
    }
}
