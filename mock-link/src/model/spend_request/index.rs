//! Every spend request ever made, in creation order, with the indexes that let list, create
//! and the expiry sweep look at the requests concerned instead of the whole history.
//!
//! The requests are reachable mutably only through [`SpendRequestMut`], which marks the
//! request changed for `--state` and re-indexes it when dropped, so the indexes cannot drift
//! from the records; after a restore or an undone change they are rebuilt from the records.

use std::collections::{BTreeSet, HashMap};
use std::ops::{Deref, DerefMut, Index};
use std::time::SystemTime;

use super::SpendRequest;
use super::validation::SpendRequestInput;
use crate::error::{Error, Result};
use crate::model::table::{Collection, LoadError, Row, Table};

/// What the indexes hold of one request.
#[derive(Debug, Clone, PartialEq)]
struct Indexed {
    user_id: String,
    /// Shown by `list` without `include_history`.
    listed: bool,
    /// While open: its `expires_at` and amount.
    open: Option<(SystemTime, i64)>,
    idempotency_key: Option<String>,
}

impl Indexed {
    fn of(request: &SpendRequest) -> Self {
        Self {
            user_id: request.user_id.clone(),
            listed: !request.state.is_history(),
            open: request
                .state
                .is_open()
                .then_some((request.expires_at, request.input.amount)),
            idempotency_key: request
                .idempotency
                .as_ref()
                .map(|create| create.key.clone()),
        }
    }
}

/// One user's requests, by position (creation order).
#[derive(Debug, Clone, Default)]
struct UserIndex {
    all: BTreeSet<usize>,
    listed: BTreeSet<usize>,
    /// Open requests by amount: a duplicate has the same amount.
    open_by_amount: HashMap<i64, BTreeSet<usize>>,
    /// The first request created with each `idempotency_key`.
    by_idempotency_key: HashMap<String, usize>,
}

/// One page of a user's requests, newest first (see [`SpendRequests::page`]).
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub limit: usize,
    pub starting_after: Option<&'a str>,
    pub ending_before: Option<&'a str>,
}

/// The spend requests with their indexes.
#[derive(Debug, Clone, Default)]
pub struct SpendRequests {
    table: Table<String, SpendRequest>,
    /// What each position is indexed under now.
    indexed: Vec<Indexed>,
    users: HashMap<String, UserIndex>,
    /// Open requests by `expires_at`, for the expiry sweep.
    open_by_expiry: BTreeSet<(SystemTime, usize)>,
}

impl SpendRequests {
    pub fn get(&self, id: &str) -> Option<&SpendRequest> {
        self.table.get(id)
    }

    /// Where the request with this id sits in creation order.
    pub fn position(&self, id: &str) -> Option<usize> {
        self.table.position(id)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The requests in creation order.
    pub fn iter(&self) -> indexmap::map::Values<'_, String, SpendRequest> {
        self.table.values()
    }

    /// The request with this id, to change it.
    pub fn get_mut(&mut self, id: &str) -> Option<SpendRequestMut<'_>> {
        let position = self.table.position(id)?;
        Some(self.at_mut(position))
    }

    /// The request at `position`, to change it. Panics when there is none (as indexing does).
    pub fn at_mut(&mut self, position: usize) -> SpendRequestMut<'_> {
        assert!(
            position < self.table.len(),
            "no spend request at {position}"
        );
        SpendRequestMut {
            requests: self,
            position,
        }
    }

    /// Adds a new request (ids are random, so it is new); answers its position.
    pub fn add(&mut self, request: SpendRequest) -> usize {
        let position = self.table.insert(request.id.clone(), request);
        self.reindex(position);
        position
    }

    /// The oldest open request of `user_id` that `input` would duplicate.
    pub fn open_duplicate(&self, user_id: &str, input: &SpendRequestInput) -> Option<usize> {
        self.users
            .get(user_id)?
            .open_by_amount
            .get(&input.amount)?
            .iter()
            .copied()
            .find(|&position| self[position].input.duplicates(input))
    }

    /// The request `user_id` created with this `idempotency_key`.
    pub fn by_idempotency_key(&self, user_id: &str, key: &str) -> Option<usize> {
        self.users
            .get(user_id)?
            .by_idempotency_key
            .get(key)
            .copied()
    }

    /// The open requests whose `expires_at` is not after `now`, oldest deadline first.
    pub fn due(&self, now: SystemTime) -> Vec<usize> {
        self.open_by_expiry
            .range(..=(now, usize::MAX))
            .map(|&(_, position)| position)
            .collect()
    }

    /// One page of `user_id`'s requests (without the finished ones unless
    /// `include_history`), newest first: the positions and whether more follow in the paging
    /// direction. A cursor must be a request of this list.
    pub fn page(
        &self,
        user_id: &str,
        include_history: bool,
        page: PageRequest<'_>,
    ) -> Result<(Vec<usize>, bool)> {
        let empty = BTreeSet::new();
        let listed = self
            .users
            .get(user_id)
            .map(|user| {
                if include_history {
                    &user.all
                } else {
                    &user.listed
                }
            })
            .unwrap_or(&empty);
        let cursor = |id: &str, param: &str| {
            self.position(id)
                .filter(|position| listed.contains(position))
                .ok_or_else(|| Error::invalid_param(param, format!("no item '{id}' in this list")))
        };
        let take = |positions: &mut dyn Iterator<Item = &usize>| -> (Vec<usize>, bool) {
            let mut taken: Vec<usize> = positions.take(page.limit + 1).copied().collect();
            let more = taken.len() > page.limit;
            taken.truncate(page.limit);
            (taken, more)
        };
        Ok(if let Some(id) = page.starting_after {
            let after = cursor(id, "starting_after")?;
            take(&mut listed.range(..after).rev())
        } else if let Some(id) = page.ending_before {
            let before = cursor(id, "ending_before")?;
            let (mut newer, more) = take(&mut listed.range(before + 1..));
            newer.reverse();
            (newer, more)
        } else {
            take(&mut listed.iter().rev())
        })
    }

    /// Brings the indexes of `position` in line with its record.
    fn reindex(&mut self, position: usize) {
        let Some(request) = self.table.at(position) else {
            return;
        };
        let now = Indexed::of(request);
        if let Some(before) = self.indexed.get(position) {
            if *before == now {
                return;
            }
            let before = before.clone();
            self.unindex(position, &before);
        }
        self.index(position, &now);
        if position < self.indexed.len() {
            self.indexed[position] = now;
        } else {
            debug_assert_eq!(position, self.indexed.len(), "added at the end");
            self.indexed.push(now);
        }
    }

    fn index(&mut self, position: usize, indexed: &Indexed) {
        let user = self.users.entry(indexed.user_id.clone()).or_default();
        user.all.insert(position);
        if indexed.listed {
            user.listed.insert(position);
        }
        if let Some((expires_at, amount)) = indexed.open {
            user.open_by_amount
                .entry(amount)
                .or_default()
                .insert(position);
            self.open_by_expiry.insert((expires_at, position));
        }
        if let Some(key) = &indexed.idempotency_key {
            user.by_idempotency_key
                .entry(key.clone())
                .and_modify(|first| *first = (*first).min(position))
                .or_insert(position);
        }
    }

    fn unindex(&mut self, position: usize, indexed: &Indexed) {
        if let Some((expires_at, _)) = indexed.open {
            self.open_by_expiry.remove(&(expires_at, position));
        }
        let Some(user) = self.users.get_mut(&indexed.user_id) else {
            return;
        };
        user.all.remove(&position);
        user.listed.remove(&position);
        if let Some((_, amount)) = indexed.open
            && let Some(open) = user.open_by_amount.get_mut(&amount)
        {
            open.remove(&position);
            if open.is_empty() {
                user.open_by_amount.remove(&amount);
            }
        }
        if let Some(key) = &indexed.idempotency_key
            && user.by_idempotency_key.get(key) == Some(&position)
        {
            user.by_idempotency_key.remove(key);
        }
    }

    /// Builds every index again from the records.
    fn rebuild(&mut self) {
        self.indexed.clear();
        self.users.clear();
        self.open_by_expiry.clear();
        for position in 0..self.table.len() {
            self.reindex(position);
        }
    }
}

impl Index<usize> for SpendRequests {
    type Output = SpendRequest;

    fn index(&self, position: usize) -> &SpendRequest {
        self.table
            .at(position)
            .unwrap_or_else(|| panic!("no spend request at {position}"))
    }
}

impl Collection for SpendRequests {
    fn changed_rows(&self) -> serde_json::Result<Vec<Row>> {
        self.table.changed_rows()
    }

    fn all_rows(&self) -> serde_json::Result<Vec<Row>> {
        self.table.all_rows()
    }

    fn has_changes(&self) -> bool {
        self.table.has_changes()
    }

    fn commit(&mut self) {
        self.table.commit();
    }

    fn roll_back(&mut self) {
        if self.table.has_changes() {
            self.table.roll_back();
            self.rebuild();
        }
    }

    fn load(&mut self, rows: Vec<Row>) -> std::result::Result<(), LoadError> {
        self.table.load(rows)?;
        self.rebuild();
        Ok(())
    }
}

/// A spend request borrowed to change it: marked changed for `--state` when taken,
/// re-indexed when dropped.
pub struct SpendRequestMut<'a> {
    requests: &'a mut SpendRequests,
    position: usize,
}

impl Deref for SpendRequestMut<'_> {
    type Target = SpendRequest;

    fn deref(&self) -> &SpendRequest {
        &self.requests[self.position]
    }
}

impl DerefMut for SpendRequestMut<'_> {
    fn deref_mut(&mut self) -> &mut SpendRequest {
        self.requests
            .table
            .at_mut(self.position)
            .expect("the position was checked when borrowed")
    }
}

impl Drop for SpendRequestMut<'_> {
    fn drop(&mut self) {
        self.requests.reindex(self.position);
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::accounts::User;
    use crate::model::spend_request::IdempotentCreate;
    use crate::model::spend_request::state_machine::{Event, State as Status, transition};
    use crate::model::spend_request::validation::validate;

    const USERS: [&str; 3] = ["usr_a", "usr_b", "usr_c"];

    fn request(
        id: usize,
        user: usize,
        amount: i64,
        idempotency_key: Option<usize>,
        expires_at: SystemTime,
    ) -> SpendRequest {
        let body = json!({
            "payment_details": "csmrpd_default_visa",
            "amount": amount,
            "currency": "usd",
            "merchant_name": "Trail Shoes Inc",
            "merchant_url": "https://trailshoes.example",
            "context": "Buying a pair of running shoes for the user, who asked for size 42 trail \
                        shoes under one hundred dollars.",
        });
        let Value::Object(fields) = body else {
            unreachable!("an object")
        };
        let input = validate(&fields, &User::default_user().payment_methods).unwrap();
        SpendRequest {
            id: format!("lsrq_{id}"),
            user_id: USERS[user].into(),
            idempotency: idempotency_key.map(|key| IdempotentCreate {
                key: format!("key_{key}"),
                body: fields.clone(),
                delegated: false,
            }),
            fields,
            input,
            state: Status::Created,
            next_action: None,
            created_at: expires_at,
            updated_at: expires_at,
            expires_at,
            card: None,
            shared_payment_token: None,
            payment_intent: None,
            payment_status: None,
            script: None,
            polls: 0,
            spt_delay: None,
            spt_available_at: None,
            link_pay_token: None,
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Create {
            user: usize,
            amount: i64,
            idempotency_key: Option<usize>,
            lifetime: u64,
        },
        Apply {
            pick: usize,
            event: Event,
        },
        Advance(u64),
        Commit,
        RollBack,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => (0..3usize, 1..4i64, proptest::option::of(0..3usize), 1..10u64).prop_map(
                |(user, amount, idempotency_key, lifetime)| Step::Create {
                    user,
                    amount: amount * 100,
                    idempotency_key,
                    lifetime,
                }
            ),
            4 => (any::<usize>(), prop::sample::select(vec![
                Event::RequestApproval,
                Event::Approve,
                Event::Deny,
                Event::Cancel,
                Event::Submit,
                Event::Redeem,
                Event::Fail,
            ]))
            .prop_map(|(pick, event)| Step::Apply { pick, event }),
            2 => (1..5u64).prop_map(Step::Advance),
            1 => Just(Step::Commit),
            1 => Just(Step::RollBack),
        ]
    }

    /// The list as the old scan made it: newest first, filtered, then windowed.
    fn scanned_page(
        requests: &SpendRequests,
        user_id: &str,
        include_history: bool,
        page: PageRequest<'_>,
    ) -> Option<(Vec<usize>, bool)> {
        let listed: Vec<usize> = (0..requests.len())
            .rev()
            .filter(|&position| requests[position].user_id == user_id)
            .filter(|&position| include_history || !requests[position].state.is_history())
            .collect();
        let find = |id: &str| {
            listed
                .iter()
                .position(|&position| requests[position].id == id)
        };
        let (range, more) = if let Some(cursor) = page.starting_after {
            let start = find(cursor)? + 1;
            let end = (start + page.limit).min(listed.len());
            (start..end, end < listed.len())
        } else if let Some(cursor) = page.ending_before {
            let end = find(cursor)?;
            let start = end.saturating_sub(page.limit);
            (start..end, start > 0)
        } else {
            let end = page.limit.min(listed.len());
            (0..end, end < listed.len())
        };
        Some((listed[range].to_vec(), more))
    }

    /// Every indexed answer against a scan of all requests.
    fn check(requests: &SpendRequests, now: SystemTime) {
        let due: Vec<usize> = (0..requests.len())
            .filter(|&p| requests[p].state.is_open() && requests[p].expires_at <= now)
            .collect();
        let mut indexed_due = requests.due(now);
        indexed_due.sort_unstable();
        assert_eq!(indexed_due, due, "due for expiry");
        let some_ids: Vec<String> = (0..requests.len())
            .step_by(3)
            .map(|p| requests[p].id.clone())
            .collect();
        for user_id in USERS {
            for amount in [100, 200, 300] {
                let probe = request(0, 0, amount, None, now);
                let scanned = (0..requests.len()).find(|&p| {
                    requests[p].state.is_open()
                        && requests[p].input.duplicates(&probe.input)
                        && requests[p].user_id == user_id
                });
                assert_eq!(requests.open_duplicate(user_id, &probe.input), scanned);
            }
            for key in 0..3 {
                let key = format!("key_{key}");
                let scanned = (0..requests.len()).find(|&p| {
                    requests[p].user_id == user_id
                        && requests[p]
                            .idempotency
                            .as_ref()
                            .is_some_and(|i| i.key == key)
                });
                assert_eq!(requests.by_idempotency_key(user_id, &key), scanned);
            }
            for include_history in [false, true] {
                for limit in [1, 2, 100] {
                    let mut pages = vec![PageRequest {
                        limit,
                        starting_after: None,
                        ending_before: None,
                    }];
                    for id in &some_ids {
                        pages.push(PageRequest {
                            limit,
                            starting_after: Some(id),
                            ending_before: None,
                        });
                        pages.push(PageRequest {
                            limit,
                            starting_after: None,
                            ending_before: Some(id),
                        });
                    }
                    for page in pages {
                        let indexed = requests.page(user_id, include_history, page).ok();
                        let scanned = scanned_page(requests, user_id, include_history, page);
                        assert_eq!(indexed, scanned, "{user_id} {include_history} {page:?}");
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn indexed_answers_equal_a_scan_of_every_request(
            steps in prop::collection::vec(step(), 1..60)
        ) {
            let mut requests = SpendRequests::default();
            let mut now = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
            let mut created = 0;
            for step in steps {
                match step {
                    Step::Create { user, amount, idempotency_key, lifetime } => {
                        created += 1;
                        let expires_at = now + Duration::from_secs(lifetime);
                        requests.add(request(created, user, amount, idempotency_key, expires_at));
                    }
                    Step::Apply { pick, event } if !requests.is_empty() => {
                        let mut request = requests.at_mut(pick % requests.len());
                        if let Ok(next) = transition(request.state, event) {
                            request.state = next;
                        }
                    }
                    Step::Apply { .. } => {}
                    Step::Advance(seconds) => {
                        now += Duration::from_secs(seconds);
                        for position in requests.due(now) {
                            let mut request = requests.at_mut(position);
                            request.state = transition(request.state, Event::Expire).unwrap();
                        }
                    }
                    Step::Commit => requests.commit(),
                    Step::RollBack => requests.roll_back(),
                }
                check(&requests, now);
            }
        }
    }
}
