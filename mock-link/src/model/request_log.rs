//! The request log's entries: what a client sent (secrets already redacted by the recording
//! middleware, `crate::request_log`), bounded in count and bytes.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The most entries the request log keeps; older ones are dropped.
pub const MAX_LOGGED_REQUESTS: usize = 10_000;

/// The most bytes the whole log keeps (entries as JSON); the oldest go first.
pub const MAX_LOGGED_BYTES: usize = 4 * 1024 * 1024;

/// The most bytes of one body the log keeps (as redacted JSON); longer ones are cut and the
/// entry says `truncated: true`.
pub const MAX_LOGGED_BODY_BYTES: usize = 8 * 1024;

/// The most bytes of a path, a query or one header value the log keeps.
const MAX_LOGGED_TEXT_BYTES: usize = 2 * 1024;

/// One logged request.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoggedRequest {
    /// `req_<n>`, increasing: the cursor of `GET /__control/requests?starting_after=`.
    pub id: String,
    /// Unix seconds on the virtual clock.
    pub at: i64,
    /// Unix milliseconds on the virtual clock (for checks of polling intervals).
    pub at_ms: i64,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
    pub status: u16,
    /// Whether the body (or the path, the query, a header value) was cut to its bound.
    pub truncated: bool,
    /// Bytes of this entry as JSON, counted against [`MAX_LOGGED_BYTES`].
    #[serde(skip)]
    pub(crate) size: usize,
}

/// `text` cut to at most `limit` bytes (at a character boundary), and whether it was cut.
fn bounded(text: String, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

impl LoggedRequest {
    /// Cuts every part to its bound (after redaction, so a cut never uncovers a secret) and
    /// measures the entry.
    fn bound(mut self) -> Self {
        let mut truncated = false;
        let mut cut = |text: &mut String, limit| {
            let (kept, was_cut) = bounded(std::mem::take(text), limit);
            *text = kept;
            truncated |= was_cut;
        };
        cut(&mut self.path, MAX_LOGGED_TEXT_BYTES);
        if let Some(query) = &mut self.query {
            cut(query, MAX_LOGGED_TEXT_BYTES);
        }
        for value in self.headers.values_mut() {
            cut(value, MAX_LOGGED_TEXT_BYTES);
        }
        let body = self.body.to_string();
        if body.len() > MAX_LOGGED_BODY_BYTES {
            let (kept, _) = bounded(body, MAX_LOGGED_BODY_BYTES);
            self.body = Value::String(kept);
            truncated = true;
        }
        self.truncated = truncated;
        self.size = serde_json::to_vec(&self).map_or(0, |json| json.len());
        self
    }
}

/// The kept requests, oldest first, with their total size, so that an append costs the same
/// however full the log is (summing the sizes and draining the front of a `Vec` on every
/// request moved the whole log: a third of a busy mock-link's time, docs/benchmarks.md).
#[derive(Debug, Default, Clone)]
pub struct RequestLog {
    entries: VecDeque<LoggedRequest>,
    bytes: usize,
}

impl RequestLog {
    /// The kept entries, oldest first.
    pub(crate) fn iter(&self) -> std::collections::vec_deque::Iter<'_, LoggedRequest> {
        self.entries.iter()
    }
}

/// Appends `entry`, then drops the oldest entries until the log is within its count and byte
/// caps.
pub(crate) fn append(log: &mut RequestLog, entry: LoggedRequest) {
    let entry = entry.bound();
    log.bytes += entry.size;
    log.entries.push_back(entry);
    while log.entries.len() > 1
        && (log.bytes > MAX_LOGGED_BYTES || log.entries.len() > MAX_LOGGED_REQUESTS)
    {
        if let Some(oldest) = log.entries.pop_front() {
            log.bytes -= oldest.size;
        }
    }
}

/// One page of the log, oldest first: `{object: "list", data, has_more}`. `limit` (1-10000)
/// and `starting_after` (an entry id) are optional; without them every entry is answered.
pub fn page(log: &RequestLog, query: Option<&str>) -> Result<Value, Error> {
    let log = &log.entries;
    let query = crate::body::parse_query(query)?;
    let limit = match query.get("limit") {
        None => None,
        Some(text) => Some(
            text.parse::<usize>()
                .ok()
                .filter(|limit| (1..=MAX_LOGGED_REQUESTS).contains(limit))
                .ok_or_else(|| {
                    Error::invalid_param(
                        "limit",
                        format!("limit must be an integer from 1 to {MAX_LOGGED_REQUESTS}"),
                    )
                })?,
        ),
    };
    let start = match query.get("starting_after") {
        None => 0,
        Some(id) => {
            log.iter().position(|entry| entry.id == id).ok_or_else(|| {
                Error::invalid_param(
                    "starting_after",
                    "starting_after must be the id of an entry still in the log",
                )
            })? + 1
        }
    };
    let rest = log.len().saturating_sub(start);
    let end = limit.map_or(rest, |limit| limit.min(rest));
    let data: Vec<&LoggedRequest> = log.range(start..start + end).collect();
    Ok(serde_json::json!({
        "object": "list",
        "data": data,
        "has_more": end < rest,
    }))
}
