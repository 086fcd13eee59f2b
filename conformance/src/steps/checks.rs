//! Checks on the client's output and on the mocks' side.

use cucumber::gherkin::Step;
use cucumber::then;
use serde_json::Value;

use crate::output::{Outcome, lookup};
use crate::world::{self, LinkWorld, StepResult};

fn last(w: &LinkWorld) -> Result<&Outcome, String> {
    w.last()
}

fn field(out: &Outcome, path: &str) -> Result<Value, String> {
    let value = out
        .last()
        .ok_or_else(|| format!("no output: {}", out.describe()))?;
    lookup(value, path).ok_or_else(|| format!("no field {path:?} in {value}"))
}

/// An expected value: JSON when it reads as JSON, a string otherwise.
fn expected(w: &LinkWorld, text: &str) -> Value {
    let text = w.expand(text);
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// Whether `actual` is what the feature wrote: the same JSON, the same text,
/// or the same number.
fn same(actual: &Value, want: &Value) -> bool {
    actual == want
        || actual
            .as_str()
            .is_some_and(|s| *s == *want.to_string() || Some(s) == want.as_str())
        || (actual.is_number() && want.is_number() && actual.as_f64() == want.as_f64())
}

fn check(ok: bool, message: impl FnOnce() -> String) -> StepResult {
    if ok { Ok(()) } else { Err(message()) }
}

#[then("it succeeds")]
async fn succeeds(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    check(
        out.exit == 0 && out.parse_error.is_none() && !out.values.is_empty(),
        || format!("expected success with JSON output: {}", out.describe()),
    )?;
    check(
        out.last()
            .is_some_and(|v| !(v.get("code").is_some() && v.get("message").is_some())),
        || format!("exit 0 but the output is an error: {}", out.describe()),
    )
}

/// ERR-01: exit 1 and exactly one `{code, message}` object on stdout.
fn error_object(out: &Outcome) -> Result<&Value, String> {
    check(out.exit == 1, || {
        format!("expected exit 1: {}", out.describe())
    })?;
    check(out.parse_error.is_none(), || {
        format!("the error is not JSON on stdout: {}", out.describe())
    })?;
    let errors: Vec<&Value> = out
        .values
        .iter()
        .filter(|v| v.get("code").is_some())
        .collect();
    check(errors.len() == 1, || {
        format!("expected one error object on stdout: {}", out.describe())
    })?;
    let error = errors[0];
    check(
        error["code"].as_str().is_some_and(|c| !c.is_empty()),
        || format!("the error has no string code: {error}"),
    )?;
    check(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        || format!("the error has no message: {error}"),
    )?;
    Ok(error)
}

/// How a failure reads. Over MCP a failure is a tool result with `isError`
/// (exit 1 here); its text is the `{code, message}` JSON only for a client
/// that declares `mcp-error-codes` (MCP-02), a plain message otherwise.
enum Failure<'a> {
    Coded(&'a Value),
    Plain(&'a Outcome),
}

impl Failure<'_> {
    /// Every text of the error: its fields, or the plain message.
    fn texts(&self) -> Vec<String> {
        match self {
            Failure::Coded(error) => strings(error),
            Failure::Plain(out) => vec![out.stdout.clone()],
        }
    }
}

fn failure(out: &Outcome) -> Result<Failure<'_>, String> {
    if out.via_mcp && !world::declares(world::MCP_ERROR_CODES) {
        check(out.exit == 1, || {
            format!("expected a tool error (isError): {}", out.describe())
        })?;
        return Ok(Failure::Plain(out));
    }
    error_object(out).map(Failure::Coded)
}

#[then("it fails with an error")]
async fn fails(w: &mut LinkWorld) -> StepResult {
    failure(last(w)?).map(|_| ())
}

#[then(expr = "it fails with {string}")]
async fn fails_with(w: &mut LinkWorld, code: String) -> StepResult {
    match failure(last(w)?)? {
        Failure::Coded(error) => check(error["code"] == code.as_str(), || {
            format!("expected code {code}, got {error}")
        }),
        // Codes over MCP are compared only where the client declares them.
        Failure::Plain(_) => Ok(()),
    }
}

#[then(expr = "the output announces version {string} with an update command")]
async fn announces_update(w: &mut LinkWorld, version: String) -> StepResult {
    let out = last(w)?;
    let update = field(out, "update")?;
    // The contract's `latest`, or the public client's `latest_version`.
    let latest = update
        .get("latest")
        .or_else(|| update.get("latest_version"));
    check(latest.is_some_and(|v| v == version.as_str()), || {
        format!("update does not announce {version}: {update}")
    })?;
    check(
        update["update_command"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        || format!("no update_command in {update}"),
    )
}

/// Where the contract says an error names a field (or an id), the name is
/// what is checked, in any text of the error, never the wording around it.
#[then(expr = "the error names {string}")]
async fn error_names(w: &mut LinkWorld, word: String) -> StepResult {
    let word = w.expand(&word).to_lowercase();
    let out = last(w)?;
    let error = failure(out)?;
    let spaced = word.replace('_', " ");
    let named = error.texts().iter().any(|text| {
        let text = text.to_lowercase();
        text.contains(&word) || text.contains(&spaced)
    });
    check(named, || {
        format!("the error does not name {word:?}: {}", out.describe())
    })
}

#[then(expr = "the output field {string} is {string}")]
async fn field_is(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let out = last(w)?;
    let actual = field(out, &path)?;
    let want = expected(w, &value);
    check(same(&actual, &want), || {
        format!("{path}: expected {want}, got {actual}")
    })
}

#[then(expr = "the output field {string} is present")]
async fn field_present(w: &mut LinkWorld, path: String) -> StepResult {
    let out = last(w)?;
    let value = field(out, &path)?;
    check(!value.is_null(), || format!("{path} is null"))
}

#[then(expr = "the output field {string} is absent")]
async fn field_absent(w: &mut LinkWorld, path: String) -> StepResult {
    let out = last(w)?;
    let value = out.last().and_then(|v| lookup(v, &path));
    check(value.is_none_or(|v| v.is_null()), || {
        format!("{path} should be absent: {}", out.describe())
    })
}

#[then(expr = "the output field {string} starts with {string}")]
async fn field_starts(w: &mut LinkWorld, path: String, prefix: String) -> StepResult {
    let prefix = w.expand(&prefix);
    let out = last(w)?;
    let value = field(out, &path)?;
    check(
        value.as_str().is_some_and(|s| s.starts_with(&prefix)),
        || format!("{path} = {value} does not start with {prefix:?}"),
    )
}

#[then(expr = "the output field {string} contains {string}")]
async fn field_contains(w: &mut LinkWorld, path: String, part: String) -> StepResult {
    let part = w.expand(&part);
    let out = last(w)?;
    let value = field(out, &path)?;
    let text = value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    check(text.to_lowercase().contains(&part.to_lowercase()), || {
        format!("{path} = {value} does not contain {part:?}")
    })
}

#[then(expr = "the first object has a {string} starting with {string}")]
async fn first_starts(w: &mut LinkWorld, path: String, prefix: String) -> StepResult {
    let prefix = w.expand(&prefix);
    let first = w
        .first
        .clone()
        .or_else(|| w.last.as_ref().and_then(|o| o.first().cloned()));
    let first = first.ok_or("the command yielded nothing")?;
    let value = lookup(&first, &path).ok_or_else(|| format!("no {path} in {first}"))?;
    check(
        value.as_str().is_some_and(|s| s.starts_with(&prefix)),
        || format!("{path} = {value} does not start with {prefix:?}"),
    )
}

#[then(expr = "the first object has a non-empty {string}")]
async fn first_has(w: &mut LinkWorld, path: String) -> StepResult {
    let first = w
        .first
        .clone()
        .or_else(|| w.last.as_ref().and_then(|o| o.first().cloned()));
    let first = first.ok_or("the command yielded nothing")?;
    let value = lookup(&first, &path).ok_or_else(|| format!("no {path} in {first}"))?;
    check(value.as_str().is_some_and(|s| !s.is_empty()), || {
        format!("{path} is empty in {first}")
    })
}

#[then(expr = "the output lists {int} item(s)")]
async fn lists(w: &mut LinkWorld, count: usize) -> StepResult {
    let out = last(w)?;
    let items = out.items();
    check(items.len() == count, || {
        format!(
            "expected {count} items, got {}: {}",
            items.len(),
            out.describe()
        )
    })
}

#[then(expr = "exactly one item has {string} equal to {string}")]
async fn exactly_one(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let want = expected(w, &value);
    let out = last(w)?;
    let n = out
        .items()
        .iter()
        .filter(|i| lookup(i, &path).is_some_and(|v| same(&v, &want)))
        .count();
    check(n == 1, || {
        format!("{n} items have {path} = {want}: {}", out.describe())
    })
}

#[then(expr = "an item has {string} equal to {string}")]
async fn some_item(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let want = expected(w, &value);
    let out = last(w)?;
    let n = out
        .items()
        .iter()
        .filter(|i| lookup(i, &path).is_some_and(|v| same(&v, &want)))
        .count();
    check(n >= 1, || {
        format!("no item has {path} = {want}: {}", out.describe())
    })
}

#[then(expr = "no item has {string} equal to {string}")]
async fn no_item(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let want = expected(w, &value);
    let out = last(w)?;
    let n = out
        .items()
        .iter()
        .filter(|i| lookup(i, &path).is_some_and(|v| same(&v, &want)))
        .count();
    check(n == 0, || {
        format!("{n} items have {path} = {want}: {}", out.describe())
    })
}

/// A string that is a card number: 13 to 19 digits, spaces or dashes allowed.
fn card_like(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    (13..=19).contains(&digits)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
}

#[then("the output shows no card details")]
async fn no_card(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    let has = out.values.iter().any(|v| {
        v.get("card").is_some_and(|c| !c.is_null()) || v.pointer("/card/number").is_some()
    }) || out
        .values
        .iter()
        .any(|v| strings(v).iter().any(|s| card_like(s)))
        || out.stdout.contains("\"cvc\"");
    check(!has, || {
        format!("card details in the output: {}", out.describe())
    })
}

/// Whether the digits of `number` (at least 12) pass the Luhn check.
pub(crate) fn luhn(number: &str) -> bool {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    digits.len() >= 12 && mock_link::passes_luhn(&digits)
}

#[then("the card number passes the Luhn check and is the card Link issued")]
async fn card_luhn(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    let number = field(out, "card.number")?
        .as_str()
        .ok_or("card.number is not a string")?
        .to_owned();
    check(luhn(&number), || format!("{number} fails the Luhn check"))?;
    let id = w.spend_request.clone().ok_or("no spend request")?;
    let issued = w
        .link
        .control()
        .spend_request(&id)
        .await
        .map_err(|e| e.to_string())?;
    let issued_number = issued
        .pointer("/card/number")
        .and_then(Value::as_str)
        .unwrap_or_default();
    check(issued_number == number, || {
        "the card is not the one Link issued".into()
    })
}

#[then("the output contains no terminal control characters")]
async fn no_controls(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    let text: String = out.values.iter().map(|v| v.to_string()).collect();
    let raw_bad = out
        .stdout
        .chars()
        .any(|c| c == '\u{1b}' || ('\u{80}'..='\u{9f}').contains(&c));
    let decoded_bad = out.values.iter().any(|v| {
        strings(v).iter().any(|s| {
            s.chars()
                .any(|c| c == '\u{1b}' || c == '\u{7}' || ('\u{80}'..='\u{9f}').contains(&c))
        })
    });
    check(!raw_bad && !decoded_bad, || {
        format!("control characters in the output: {text:?}")
    })
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let mut all = strings(v);
                all.push(k.clone());
                all
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[then("the output reveals no secret")]
async fn no_secret(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    let text = format!("{}{}", out.stdout, out.stderr);
    let mut secrets: Vec<String> = w.tokens.clone();
    secrets.extend(w.refresh_tokens.clone());
    secrets.extend(
        w.issued_tokens()
            .await?
            .iter()
            .filter_map(|t| t["token"].as_str().map(str::to_owned)),
    );
    let leaked = secrets.iter().any(|s| text.contains(s.as_str()));
    check(!leaked && !text.contains("panicked at"), || {
        format!("a token or a panic in the output: {}", out.describe())
    })
}

// --- mock-link's side ---

fn is_api(path: &str) -> bool {
    !path.starts_with("/device/") && !path.starts_with("/v1/")
}

#[then("no request reached Link's API")]
async fn no_api_request(w: &mut LinkWorld) -> StepResult {
    let log = w.requests_since_mark().await?;
    let api: Vec<String> = log
        .iter()
        .filter(|r| is_api(r["path"].as_str().unwrap_or_default()))
        .map(|r| format!("{} {}", r["method"], r["path"]))
        .collect();
    check(api.is_empty(), || {
        format!("requests reached Link's API: {api:?}")
    })
}

#[then("no request reached Link")]
async fn no_request(w: &mut LinkWorld) -> StepResult {
    let log = w.requests_since_mark().await?;
    check(log.is_empty(), || format!("requests reached Link: {log:?}"))
}

#[then(expr = "Link received {string}")]
async fn link_received(w: &mut LinkWorld, what: String) -> StepResult {
    let (method, path) = what.split_once(' ').ok_or("expected \"METHOD /path\"")?;
    let path = w.expand(path);
    let log = w.requests_since_mark().await?;
    let n = log
        .iter()
        .filter(|r| r["method"] == method && r["path"] == path.as_str())
        .count();
    check(n >= 1, || format!("Link never received {method} {path}"))
}

#[then("no spend request was created at Link")]
async fn nothing_created(w: &mut LinkWorld) -> StepResult {
    let log = w.requests_since_mark().await?;
    let created: Vec<&Value> = log
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/spend_requests"))
                && r["status"].as_u64().is_some_and(|s| s < 300)
        })
        .collect();
    check(created.is_empty(), || {
        format!("spend requests were created or changed at Link: {created:?}")
    })
}

#[then(expr = "Link has the spend request as {string}")]
async fn link_status(w: &mut LinkWorld, status: String) -> StepResult {
    let request = w.spend_request_at_link().await?;
    check(request["status"] == status.as_str(), || {
        format!("Link has {} as {}", request["id"], request["status"])
    })
}

#[then(expr = "Link has the spend request with {string} equal to {string}")]
async fn link_field(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let want = expected(w, &value);
    let request = w.spend_request_at_link().await?;
    let actual = lookup(&request, &path).unwrap_or(Value::Null);
    check(same(&actual, &want), || {
        format!("Link has {path} = {actual}, expected {want}")
    })
}

#[then(expr = "Link shows the login's connection label starting with {string}")]
async fn connection_label(w: &mut LinkWorld, prefix: String) -> StepResult {
    let label = w.login_field("connection_label").await?.unwrap_or_default();
    check(label.starts_with(&prefix), || {
        format!("connection label {label:?}")
    })
}

#[then("the tokens the client held no longer work at Link")]
async fn tokens_dead(w: &mut LinkWorld) -> StepResult {
    check(!w.tokens.is_empty(), || "no token was issued".into())?;
    let http = mock_link::loopback_http_client();
    for token in &w.tokens {
        let status = http
            .get(format!("{}/userinfo", w.link.base_url()))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        check(status == 401, || {
            format!("an access token still works ({status})")
        })?;
    }
    Ok(())
}

#[then("the client refreshed its token once and the refresh token rotated")]
async fn refreshed(w: &mut LinkWorld) -> StepResult {
    let log = w.requests_since_mark().await?;
    let refreshes = log
        .iter()
        .filter(|r| r["path"] == "/device/token" && r["body"]["grant_type"] == "refresh_token")
        .count();
    check(refreshes == 1, || {
        format!("{refreshes} refresh grants, expected 1")
    })?;
    let issued = w.issued_tokens().await?;
    let rotated = w.refresh_tokens.iter().all(|old| {
        issued
            .iter()
            .any(|t| t["token"] == old.as_str() && t["used"] == true)
    });
    check(rotated, || "the old refresh token was not spent".into())
}

/// The times (ms, on mock-link's clock) and statuses of the login polls since the mark.
async fn token_polls(w: &LinkWorld) -> Result<Vec<(i64, u64)>, String> {
    Ok(w.requests_since_mark()
        .await?
        .iter()
        .filter(|r| r["path"] == "/device/token" && r["body"]["grant_type"] != "refresh_token")
        .map(|r| {
            (
                r["at_ms"].as_i64().unwrap_or(0),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect())
}

/// Slack for timer and scheduling granularity when comparing gaps between polls.
const POLL_SLACK_MS: i64 = 50;

#[then(expr = "the agent polled Link's token endpoint no faster than every {int} second(s)")]
async fn polled_slowly(w: &mut LinkWorld, seconds: i64) -> StepResult {
    let polls = token_polls(w).await?;
    check(!polls.is_empty(), || "no login poll reached Link".into())?;
    let shortest = polls.windows(2).map(|p| p[1].0 - p[0].0).min();
    check(
        shortest.is_none_or(|gap| gap >= seconds * 1000 - POLL_SLACK_MS),
        || {
            format!(
                "{} login polls, two of them {} ms apart, at a {seconds} s interval",
                polls.len(),
                shortest.unwrap_or_default()
            )
        },
    )
}

#[then(expr = "after slow_down the agent waited at least {int} seconds before polling again")]
async fn backed_off(w: &mut LinkWorld, seconds: i64) -> StepResult {
    let polls = token_polls(w).await?;
    let slowed = polls
        .iter()
        .position(|(_, status)| *status == 400)
        .ok_or_else(|| format!("no login poll was answered slow_down: {polls:?}"))?;
    let (at, _) = polls[slowed];
    let (next, _) = polls
        .get(slowed + 1)
        .ok_or("the agent never polled again after slow_down")?;
    let gap = next - at;
    check(gap >= seconds * 1000 - POLL_SLACK_MS, || {
        format!("the agent polled again {gap} ms after slow_down, expected at least {seconds} s")
    })
}

#[then("Link issued no credential")]
async fn no_credential(w: &mut LinkWorld) -> StepResult {
    let ledger = w.link_ledger().await?;
    let issued = ledger.iter().filter(|e| e["event"] == "issued").count();
    check(issued == 0, || {
        format!("Link issued {issued} credential(s)")
    })
}

#[then(expr = "Link redeemed the shared payment token {int} time(s)")]
async fn redeemed(w: &mut LinkWorld, count: usize) -> StepResult {
    let ledger = w.link_ledger().await?;
    let n = ledger.iter().filter(|e| e["event"] == "redeemed").count();
    check(n == count, || {
        format!("Link redeemed {n} token(s): {ledger:?}")
    })
}

#[then(expr = "Link refused a redemption as {string}")]
async fn refused(w: &mut LinkWorld, reason: String) -> StepResult {
    let ledger = w.link_ledger().await?;
    let n = ledger
        .iter()
        .filter(|e| e["event"] == "redemption_refused" && e["reason"] == reason.as_str())
        .count();
    check(n >= 1, || {
        format!("no redemption refused as {reason}: {ledger:?}")
    })
}

// --- mock-merchant's side ---

#[then(expr = "the merchant {string} was paid {int} time(s)")]
async fn merchant_paid(w: &mut LinkWorld, merchant: String, count: usize) -> StepResult {
    let n = w
        .shop
        .ledger_of(&merchant)
        .iter()
        .filter(|e| e.event == "paid")
        .count();
    check(n == count, || format!("{merchant} was paid {n} time(s)"))
}

#[then(expr = "the merchant {string} received no credential")]
async fn merchant_no_credential(w: &mut LinkWorld, merchant: String) -> StepResult {
    let entries = w.shop.ledger_of(&merchant);
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received" || e.event == "paid")
        .count();
    check(n == 0, || format!("{merchant} received {n} credential(s)"))
}

#[then(expr = "no merchant received a credential")]
async fn no_merchant_credential(w: &mut LinkWorld) -> StepResult {
    let entries = w.shop.ledger();
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received" || e.event == "paid")
        .count();
    check(n == 0, || format!("merchants received {n} credential(s)"))
}

#[then(expr = "the merchant {string} received {int} credential(s)")]
async fn merchant_credentials(w: &mut LinkWorld, merchant: String, count: usize) -> StepResult {
    let entries = w.shop.ledger_of(&merchant);
    let n = entries
        .iter()
        .filter(|e| e.event == "credential_received")
        .count();
    check(n == count, || {
        format!("{merchant} received {n} credential(s): {entries:?}")
    })
}

// --- MCP ---

#[then("the client's MCP server lists these tools with input schemas:")]
async fn lists_tools(w: &mut LinkWorld, step: &Step) -> StepResult {
    let session = w.mcp_session().await?;
    let tools = session.list_tools().await.map_err(|e| e.to_string())?;
    let table = step.table.as_ref().ok_or("a table of tool names")?;
    for row in &table.rows {
        let name = row.first().ok_or("an empty row")?;
        let tool = tools
            .iter()
            .find(|t| t["name"] == name.as_str())
            .ok_or_else(|| format!("no tool {name}"))?;
        check(tool["inputSchema"]["type"] == "object", || {
            format!("{name} has no object input schema")
        })?;
        for arg in row.iter().skip(1).flat_map(|a| a.split_whitespace()) {
            check(tool["inputSchema"]["properties"][arg].is_object(), || {
                format!("{name} lacks argument {arg}")
            })?;
        }
    }
    Ok(())
}

#[then("the payment is refused")]
async fn payment_refused(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    if out.exit == 1 {
        return failure(out).map(|_| ());
    }
    let status = out
        .last()
        .and_then(|v| v.get("status"))
        .and_then(Value::as_u64);
    check(out.exit == 0 && status.is_some_and(|s| s >= 400), || {
        format!(
            "expected the client to refuse, or a 4xx answer: {}",
            out.describe()
        )
    })
}

#[then(expr = "the page contains {string}")]
async fn page_contains(w: &mut LinkWorld, text: String) -> StepResult {
    let page = w.notes.get("page").ok_or("no page fetched")?;
    check(page.contains(&text), || format!("the page lacks {text:?}"))
}

#[then(expr = "the page answered {int}")]
async fn page_status(w: &mut LinkWorld, status: u16) -> StepResult {
    let got = w.notes.get("page_status").ok_or("no page fetched")?;
    check(*got == status.to_string(), || {
        format!("the page answered {got}")
    })
}

#[then("the text shows only the last 4 digits of the card Link issued")]
async fn masked(w: &mut LinkWorld) -> StepResult {
    let out = last(w)?;
    check(out.exit == 0, || {
        format!("expected success: {}", out.describe())
    })?;
    let id = w.spend_request.clone().ok_or("no spend request")?;
    let issued = w
        .link
        .control()
        .spend_request(&id)
        .await
        .map_err(|e| e.to_string())?;
    let number = issued
        .pointer("/card/number")
        .and_then(Value::as_str)
        .ok_or("Link issued no card")?;
    let cvc = issued
        .pointer("/card/cvc")
        .and_then(Value::as_str)
        .unwrap_or("");
    check(!out.stdout.contains(number), || {
        "the full card number is shown".into()
    })?;
    check(out.stdout.contains(&number[number.len() - 4..]), || {
        format!("the last 4 digits are not shown: {}", out.stdout)
    })?;
    check(
        cvc.is_empty() || !out.stdout.contains(&format!("cvc: {cvc}")),
        || "the cvc is shown".into(),
    )
}

// --- where credentials went (SAFE-01, SAFE-04) ---

/// The `credential_received` entries of every merchant.
fn credentials_received(w: &LinkWorld) -> Vec<mock_merchant::LedgerEntry> {
    w.shop
        .ledger()
        .into_iter()
        .filter(|e| e.event == "credential_received")
        .collect()
}

/// A URL without its query, for comparing where requests went.
fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

#[then(expr = "no credential was sent to {string}")]
async fn no_credential_to(w: &mut LinkWorld, url: String) -> StepResult {
    let url = w.expand(&url);
    let sent: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| without_query(u) == without_query(&url))
        .collect();
    check(sent.is_empty(), || {
        format!("{} credential(s) went to {url}", sent.len())
    })
}

#[then("no credential was sent to the redirect's landing")]
async fn no_credential_to_landing(w: &mut LinkWorld) -> StepResult {
    let landing = "/m/redirects/landing";
    let sent: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| without_query(u).ends_with(landing))
        .collect();
    check(sent.is_empty(), || {
        format!("the credential followed the redirect: {sent:?}")
    })
}

#[then("every credential went to a URL that answered 402")]
async fn credentials_where_402(w: &mut LinkWorld) -> StepResult {
    let ledger = w.shop.ledger();
    let challenged: Vec<&str> = ledger
        .iter()
        .filter(|e| e.event == "challenge_issued")
        .filter_map(|e| e.url.as_deref().map(without_query))
        .collect();
    let stray: Vec<String> = credentials_received(w)
        .into_iter()
        .filter_map(|e| e.url)
        .filter(|u| !challenged.contains(&without_query(u)))
        .collect();
    check(stray.is_empty(), || {
        format!("credentials went where no 402 came from: {stray:?}")
    })
}

#[then(expr = "the merchant {string} received every credential in {string}")]
async fn credential_field(w: &mut LinkWorld, merchant: String, field: String) -> StepResult {
    let fields: Vec<Option<String>> = credentials_received(w)
        .into_iter()
        .filter(|e| e.merchant == merchant)
        .map(|e| e.header)
        .collect();
    let all_there = fields
        .iter()
        .all(|f| f.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(&field)));
    check(!fields.is_empty() && all_there, || {
        format!("{merchant} received credentials in {fields:?}, expected {field}")
    })
}

#[then(expr = "Link redeemed the shared payment token at most {int} time(s)")]
async fn redeemed_at_most(w: &mut LinkWorld, count: usize) -> StepResult {
    let ledger = w.link_ledger().await?;
    let n = ledger.iter().filter(|e| e["event"] == "redeemed").count();
    check(n <= count, || format!("Link redeemed {n} token(s)"))
}
