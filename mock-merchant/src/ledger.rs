//! What each merchant saw and did, in order: challenges issued, credentials
//! received, their outcomes, receipts. Tests read it through
//! [`crate::MockMerchant::ledger`] or `GET /__control/ledger`.

use serde::{Deserialize, Serialize};

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// The merchant's clock, RFC 3339.
    pub at: String,
    /// The merchant id (see `docs/mock-merchant.md`).
    pub merchant: String,
    /// `METHOD /path?query` of the request.
    pub route: String,
    /// `challenge_issued`, `credential_received` (every Payment credential in
    /// any header of any request), `rejected`, `paid`, `redirected`,
    /// `order_placed`, `order_declined`, `card_details_collected`.
    pub event: String,
    /// The challenge concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<String>,
    /// `method/intent` of the challenge or credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The shared payment token a credential carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spt: Option<String>,
    /// For `rejected`: the problem code (`verification-failed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// For `paid`: the PaymentIntent id the receipt names; for orders, the order id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Free text: why, amounts, last four digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For `credential_received`: the HTTP field it came in, lowercase
    /// (`authorization`, `payment-authorization`, `x-payment`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// The absolute URL the request addressed (`http://<Host><path>?<query>`),
    /// on entries of HTTP requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl LedgerEntry {
    /// An entry of `event` for `merchant` on `route`; fill the rest with the setters.
    pub(crate) fn new(merchant: &str, route: &str, event: &str) -> Self {
        Self {
            seq: 0,
            at: String::new(),
            merchant: merchant.to_owned(),
            route: route.to_owned(),
            event: event.to_owned(),
            challenge_id: None,
            method: None,
            spt: None,
            problem: None,
            reference: None,
            detail: None,
            header: None,
            url: None,
        }
    }

    /// With the HTTP field a credential came in.
    pub(crate) fn header(mut self, field: &str) -> Self {
        self.header = Some(field.to_ascii_lowercase());
        self
    }

    /// With the absolute URL requested.
    pub(crate) fn url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self
    }

    /// With the challenge id.
    pub(crate) fn challenge(mut self, id: &str) -> Self {
        self.challenge_id = Some(id.to_owned());
        self
    }

    /// With `method/intent`.
    pub(crate) fn method(mut self, method: &str, intent: &str) -> Self {
        self.method = Some(format!("{method}/{intent}"));
        self
    }

    /// With the SPT.
    pub(crate) fn spt(mut self, spt: Option<&str>) -> Self {
        self.spt = spt.map(str::to_owned);
        self
    }

    /// With the problem code.
    pub(crate) fn problem(mut self, code: &str) -> Self {
        self.problem = Some(code.to_owned());
        self
    }

    /// With a reference.
    pub(crate) fn reference(mut self, reference: &str) -> Self {
        self.reference = Some(reference.to_owned());
        self
    }

    /// With free text.
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The most entries the ledger keeps; beyond it the oldest are forgotten, so a
/// merchant left running under load holds bounded memory. Sequence numbers go on
/// counting, so a gap at the start shows what was forgotten.
pub const MAX_LEDGER_ENTRIES: usize = 100_000;

/// The entries, oldest first.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: std::collections::VecDeque<LedgerEntry>,
    /// Entries ever pushed (the last `seq`).
    pushed: u64,
}

impl Ledger {
    /// Appends `entry`, numbering and timestamping it, and forgets the oldest
    /// beyond [`MAX_LEDGER_ENTRIES`].
    pub fn push(&mut self, mut entry: LedgerEntry, at: String) {
        self.pushed += 1;
        entry.seq = self.pushed;
        entry.at = at;
        if self.entries.len() == MAX_LEDGER_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Every entry kept, or those of one merchant.
    pub fn entries(&self, merchant: Option<&str>) -> Vec<LedgerEntry> {
        self.entries
            .iter()
            .filter(|e| merchant.is_none_or(|m| e.merchant == m))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_keeps_the_newest_entries_and_goes_on_counting() {
        let mut ledger = Ledger::default();
        for _ in 0..MAX_LEDGER_ENTRIES + 3 {
            ledger.push(
                LedgerEntry::new("api", "GET /", "challenge_issued"),
                "t".into(),
            );
        }
        let kept = ledger.entries(None);
        assert_eq!(kept.len(), MAX_LEDGER_ENTRIES);
        assert_eq!(kept[0].seq, 4);
        assert_eq!(kept.last().unwrap().seq, MAX_LEDGER_ENTRIES as u64 + 3);
    }
}
