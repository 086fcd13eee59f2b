//! A spend request's life at Link beyond approval (1.x contract): expiry
//! terms, the payment's outcome, a token minted late.

use cucumber::{given, then, when};
use serde_json::{Value, json};

use crate::step_error::{StepResult, bail};
use crate::world::LinkWorld;

/// Unix seconds of an RFC 3339 or numeric timestamp.
fn unix_seconds(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| {
        let text = value.as_str()?;
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .ok()
            .map(|t| t.unix_timestamp())
    })
}

/// Link's clock now, in unix seconds.
async fn link_now(w: &LinkWorld) -> StepResult<i64> {
    let clock = w.link.control().get("/clock").await?;
    Ok(unix_seconds(&clock["now"])
        .ok_or_else(|| format!("no time in mock-link's clock: {clock}"))?)
}

#[given("Link allows expires_at for the client the user logged in with")]
async fn allow_expires_at(w: &mut LinkWorld) -> StepResult {
    let client_id = w
        .login_field("client_id")
        .await?
        .ok_or("no login's client_id at Link")?;
    w.link
        .control()
        .post("/settings", json!({"expires_at_clients": [client_id]}))
        .await?;
    Ok(())
}

#[when(expr = "the agent creates a card spend request expiring in {int} hours")]
async fn create_expiring(w: &mut LinkWorld, hours: i64) -> StepResult {
    let at = link_now(w).await? + hours * 3600;
    w.notes.insert("expires_at".into(), at.to_string());
    let command = format!(
        "spend-request create --credential-type card --amount 1500 --currency usd --merchant-name 'Example Times' --merchant-url https://times.example --context {{context}} --expires-at {at}"
    );
    let op = w.op(&command)?;
    w.run(&op).await?;
    Ok(())
}

#[then("Link has the spend request expiring at the time asked")]
async fn expiring_as_asked(w: &mut LinkWorld) -> StepResult {
    let asked: i64 = w
        .notes
        .get("expires_at")
        .and_then(|t| t.parse().ok())
        .ok_or("no expiry was asked")?;
    let request = w.spend_request_at_link().await?;
    let got = unix_seconds(&request["expires_at"]);
    if got != Some(asked) {
        bail!(
            "Link has expires_at {}, asked {asked}",
            request["expires_at"]
        );
    }
    Ok(())
}

#[then(expr = "Link has the spend request expiring {int} hours after its creation")]
async fn expiring_after(w: &mut LinkWorld, hours: i64) -> StepResult {
    let request = w.spend_request_at_link().await?;
    let created = unix_seconds(&request["created_at"]).ok_or("no created_at")?;
    let expires = unix_seconds(&request["expires_at"]).ok_or("no expires_at")?;
    let want = hours * 3600;
    // Creation and the expiry are stamped in the same request; allow a second.
    if (expires - created - want).abs() > 1 {
        bail!(
            "expires {} s after creation, expected {want}",
            expires - created
        );
    }
    Ok(())
}

#[given(expr = "Link's clock moves on by {int} hours")]
#[when(expr = "Link's clock moves on by {int} hours")]
async fn clock_hours(w: &mut LinkWorld, hours: u64) -> StepResult {
    w.link
        .control()
        .advance_clock(std::time::Duration::from_secs(hours * 3600))
        .await?;
    Ok(())
}

#[then(expr = "Link answered {int} to {string}")]
async fn link_answered(w: &mut LinkWorld, status: u64, what: String) -> StepResult {
    let (method, path) = what.split_once(' ').ok_or("expected \"METHOD /path\"")?;
    let log = w.requests_since_mark().await?;
    let statuses: Vec<u64> = log
        .iter()
        .filter(|r| r["method"] == method && r["path"] == path)
        .filter_map(|r| r["status"].as_u64())
        .collect();
    if !statuses.contains(&status) {
        bail!("Link answered {what} with {statuses:?}");
    }
    Ok(())
}

#[given(expr = "Link marks the payment {word}")]
#[when(expr = "Link marks the payment {word}")]
async fn marks_payment(w: &mut LinkWorld, status: String) -> StepResult {
    let event = match status.as_str() {
        "submitted" => "submit",
        "succeeded" => "succeed",
        "failed" => "fail",
        other => bail!("submitted, succeeded or failed, not {other:?}"),
    };
    w.link
        .control()
        .spend_request_event(w.spend_request_id()?, event, json!({}))
        .await?;
    Ok(())
}

#[given(expr = "Link mints the token {int} seconds after approval")]
async fn late_token(w: &mut LinkWorld, seconds: u64) -> StepResult {
    let id = w.spend_request_id()?;
    w.link
        .control()
        .post(
            &format!("/spend_requests/{id}/spt_delay"),
            json!({"seconds": seconds}),
        )
        .await?;
    Ok(())
}

#[then(expr = "the output field {string} is one of {string}")]
async fn field_one_of(w: &mut LinkWorld, path: String, values: String) -> StepResult {
    let out = w.last()?;
    let value = out
        .last()
        .and_then(|v| crate::output::lookup(v, &path))
        .ok_or_else(|| format!("no field {path:?}: {}", out.describe()))?;
    let allowed: Vec<&str> = values.split(',').map(str::trim).collect();
    if !value.as_str().is_some_and(|v| allowed.contains(&v)) {
        bail!("{path} = {value}, expected one of {allowed:?}");
    }
    Ok(())
}
