//! The user's side and the world's: played through the mocks' control APIs,
//! waits bounded and on observable events.

use std::time::Duration;

use cucumber::{given, when};
use mock_link::Resolution;
use mock_link::{ArmedFault, Fault};
use mock_link::{DeviceOutcome, DeviceScript};
use serde_json::json;

use crate::route::MerchantRoute;
use crate::step_error::{StepResult, bail};
use crate::world::LinkWorld;

#[given(expr = "Link asks clients to wait {int} second(s) between login polls")]
async fn poll_interval(w: &mut LinkWorld, seconds: u64) -> StepResult {
    w.restart_link(
        mock_link::MockLink::builder().device_poll_interval(Duration::from_secs(seconds)),
    )
    .await
}

/// Decides the next login ahead of time: `outcome` on the poll after `after_polls`.
async fn script_next_login(w: &LinkWorld, outcome: DeviceOutcome, after_polls: u32) -> StepResult {
    w.link
        .control()
        .script_next_device_code(&DeviceScript {
            outcome,
            after_polls,
            user_id: None,
        })
        .await?;
    Ok(())
}

#[given(expr = "the user will approve the next login after {int} polls")]
async fn script_login(w: &mut LinkWorld, polls: u32) -> StepResult {
    script_next_login(w, DeviceOutcome::Approve, polls).await
}

#[given("Link will answer the first poll of the next login with slow_down")]
async fn script_slow_down(w: &mut LinkWorld) -> StepResult {
    script_next_login(w, DeviceOutcome::SlowDown, 0).await
}

#[given("the user will approve the next spend request")]
async fn script_spend(w: &mut LinkWorld) -> StepResult {
    w.link
        .control()
        .post(
            "/scripts/spend_requests",
            json!({"outcome": "approve", "after_polls": 0}),
        )
        .await?;
    Ok(())
}

#[when("the user approves the login")]
async fn approve_login(w: &mut LinkWorld) -> StepResult {
    let phrase = w.phrase()?;
    w.link.control().approve_device(&phrase).await?;
    Ok(())
}

#[when("the user denies the login")]
async fn deny_login(w: &mut LinkWorld) -> StepResult {
    let phrase = w.phrase()?;
    w.link.control().deny_device(&phrase).await?;
    Ok(())
}

#[when("the login code expires before the user acts")]
async fn expire_login(w: &mut LinkWorld) -> StepResult {
    let phrase = w.phrase()?;
    w.link.control().expire_device(&phrase).await?;
    Ok(())
}

#[when("the user approves the spend request")]
#[given("the user approved the spend request")]
pub(crate) async fn approve(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    w.link.control().approve_spend_request(id).await?;
    Ok(())
}

#[when("the user denies the spend request")]
#[given("the user denied the spend request")]
async fn deny(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    w.link.control().deny_spend_request(id).await?;
    Ok(())
}

#[when("the spend request expires before the user acts")]
async fn expire(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    w.link.control().expire_spend_request(id).await?;
    Ok(())
}

#[when("the issuer asks for 3-D Secure on the spend request")]
#[given("the issuer asked for 3-D Secure on the spend request")]
async fn three_ds(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    w.link
        .control()
        .require_action(id, Resolution::AutoResume)
        .await?;
    Ok(())
}

#[when("the user completes 3-D Secure and approves")]
async fn complete_three_ds(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    let control = w.link.control();
    control.complete_action(id).await?;
    // auto_resume completes to approved; approve only if it is still pending.
    let _ = control.approve_spend_request(id).await;
    Ok(())
}

#[given("the issuer asked the user to create a new spend request")]
async fn needs_new_request(w: &mut LinkWorld) -> StepResult {
    let id = w.spend_request_id()?;
    w.link
        .control()
        .require_action(id, Resolution::CreateNewSpendRequest)
        .await?;
    Ok(())
}

/// Waits (bounded) until Link has seen `count` retrieves of the spend request.
async fn wait_for_retrieves(w: &LinkWorld, count: usize) -> StepResult {
    let id = w.spend_request_id()?;
    let path = format!("/spend_requests/{id}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = w
            .requests_since_mark()
            .await?
            .iter()
            .filter(|r| r["method"] == "GET" && r["path"] == path.as_str())
            .count();
        if seen >= count {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the agent checked the spend request {seen} times in 30 s, expected {count}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[when(expr = "the user approves the spend request once the agent has checked it {int} times")]
async fn approve_after_checks(w: &mut LinkWorld, count: usize) -> StepResult {
    wait_for_retrieves(w, count).await?;
    approve(w).await
}

#[when(expr = "Link marks the payment succeeded once the agent has checked it {int} times")]
async fn succeed_after_checks(w: &mut LinkWorld, count: usize) -> StepResult {
    wait_for_retrieves(w, count).await?;
    let id = w.spend_request_id()?;
    w.link
        .control()
        .succeed_spend_request(id, serde_json::json!({}))
        .await?;
    Ok(())
}

#[when(
    expr = "the user's session is revoked at Link once the agent has checked the spend request {int} times"
)]
async fn revoke_after_checks(w: &mut LinkWorld, count: usize) -> StepResult {
    wait_for_retrieves(w, count).await?;
    revoke_all(w).await
}

async fn revoke_all(w: &mut LinkWorld) -> StepResult {
    for user in w.signed_in_users().await? {
        w.link.control().revoke_user_sessions(&user).await?;
    }
    Ok(())
}

#[when("the user's session is revoked at Link")]
async fn revoked(w: &mut LinkWorld) -> StepResult {
    revoke_all(w).await
}

#[when("the access token expires")]
#[given("the access token has expired")]
async fn access_expires(w: &mut LinkWorld) -> StepResult {
    w.snapshot_tokens().await?;
    for user in w.signed_in_users().await? {
        w.link.control().expire_user_access_tokens(&user).await?;
    }
    Ok(())
}

#[when(expr = "Link answers the next call to {string} with {string}")]
#[given(expr = "Link will answer the next call to {string} with {string}")]
async fn fault(w: &mut LinkWorld, path: String, kind: String) -> StepResult {
    let fault = match kind.as_str() {
        "a 500 error" => Fault::Status { status: 500 },
        "a 503 error" => Fault::Status { status: 503 },
        "a dropped connection" => Fault::Drop,
        "a non-JSON body" => Fault::NonJson { status: Some(200) },
        "a 10 second delay" => Fault::Latency { millis: 10_000 },
        other => bail!("unknown fault {other:?}"),
    };
    let armed = ArmedFault {
        method: None,
        path,
        count: 5,
        fault,
    };
    w.link.control().inject_fault(&armed).await?;
    Ok(())
}

/// PM-03: the client gives an absolute URL where the user adds a card. A page
/// of the Link it is pointed at is filled in as a person would; any other
/// absolute URL (the public client's fixed wallet URL) conforms too, and then
/// the user adds the card through mock-link's control API.
#[when(expr = "the user adds a {word} card ending {string} on the page the agent was given")]
async fn add_card(w: &mut LinkWorld, brand: String, last4: String) -> StepResult {
    let out = w.last()?;
    let url = out
        .last()
        .and_then(|v| {
            v.as_object().and_then(|o| {
                o.values()
                    .filter_map(|x| x.as_str())
                    .find_map(|s| reqwest::Url::parse(s).ok())
            })
        })
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
        .ok_or_else(|| format!("no absolute URL in the output: {}", out.describe()))?;
    if !url.as_str().starts_with(w.link.base_url()) {
        w.link
            .control()
            .add_payment_method(
                "usr_default",
                serde_json::json!({"brand": brand, "last4": last4, "nickname": "Added"}),
            )
            .await?;
        return Ok(());
    }
    let page = mock_link::loopback_http_client()
        .get(url.clone())
        .send()
        .await?;
    if !page.status().is_success() {
        bail!("the page {url} answered {}", page.status());
    }
    let added = mock_link::loopback_http_client()
        .post(format!("{}/payment-methods/add", w.link.base_url()))
        .form(&[
            ("user_id", "usr_default"),
            ("brand", brand.as_str()),
            ("last4", last4.as_str()),
            ("nickname", "Added"),
        ])
        .send()
        .await?;
    if !added.status().is_success() {
        bail!("adding the card answered {}", added.status());
    }
    Ok(())
}

#[when("the merchant's challenges expire")]
async fn challenges_expire(w: &mut LinkWorld) {
    w.shop.advance_clock(Duration::from_secs(3600));
}

#[given(expr = "a merchant that has seen {int} earlier probes of {string}")]
async fn earlier_probes(w: &mut LinkWorld, count: usize, route: MerchantRoute) -> StepResult {
    for _ in 0..count {
        route.probe(&w.shop).await?;
    }
    Ok(())
}

#[given("Link's clock moves on by one hour")]
#[when("Link's clock moves on by one hour")]
async fn clock(w: &mut LinkWorld) -> StepResult {
    w.link
        .control()
        .advance_clock(Duration::from_secs(3600))
        .await?;
    Ok(())
}

/// `the same` or `another` origin, as the features say it.
fn redirect_to(origin: &str) -> StepResult<mock_merchant::Redirect> {
    let to = match origin {
        "the same" => mock_merchant::Target::SameOrigin,
        "another" => mock_merchant::Target::CrossOrigin,
        other => bail!("\"the same\" or \"another\" origin, not {other:?}"),
    };
    Ok(mock_merchant::Redirect { to, status: None })
}

#[given(
    regex = r#"^the merchant "([^"]+)" redirects the paid retry to (the same|another) origin$"#
)]
async fn redirects_paid_retry(w: &mut LinkWorld, merchant: String, origin: String) -> StepResult {
    let mut knobs = w.shop.knobs_of(&merchant);
    knobs.redirect_paid_retry = Some(redirect_to(&origin)?);
    w.shop.set_knobs(&merchant, knobs);
    Ok(())
}

#[given(
    regex = r#"^the merchant "([^"]+)" redirects the re-probe after approval to (the same|another) origin$"#
)]
async fn redirects_reprobe(w: &mut LinkWorld, merchant: String, origin: String) -> StepResult {
    let mut knobs = w.shop.knobs_of(&merchant);
    knobs.redirect_reprobe = Some(redirect_to(&origin)?);
    w.shop.set_knobs(&merchant, knobs);
    Ok(())
}
