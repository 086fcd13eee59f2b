//! What reached mock-link: requests, spend requests, tokens, login polls and
//! the credential ledger.

use cucumber::then;
use serde_json::Value;

use super::{expected, same};
use crate::output::lookup;
use crate::step_error::{StepResult, check};
use crate::world::LinkWorld;

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
            .await?
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
async fn token_polls(w: &LinkWorld) -> StepResult<Vec<(i64, u64)>> {
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

#[then(expr = "Link redeemed the shared payment token at most {int} time(s)")]
async fn redeemed_at_most(w: &mut LinkWorld, count: usize) -> StepResult {
    let ledger = w.link_ledger().await?;
    let n = ledger.iter().filter(|e| e["event"] == "redeemed").count();
    check(n <= count, || format!("Link redeemed {n} token(s)"))
}
