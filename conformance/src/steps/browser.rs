//! The user acting through mock-link's pages in headless Chromium instead of the control
//! API (`@browser` scenarios): the verification page, the approval page, the 3-D Secure
//! page. Each step opens its own browser and closes it when done. Where Chromium is not
//! installed the runner reports `@browser` scenarios as not applicable (under `CI=true`
//! they run and fail).

use cucumber::when;
use headless_browser::{Browser, BrowserError};
use serde_json::Value;

use crate::step_error::StepResult;
use crate::world::LinkWorld;

/// Whether `@browser` scenarios can run here: Chromium and chromedriver installed, or CI
/// (where their absence must fail, not skip).
pub fn browser_available() -> bool {
    headless_browser::in_ci()
        || (headless_browser::chromium_path().is_some()
            && headless_browser::chromedriver_path().is_some())
}

/// Runs `steps` in a fresh browser, closing it whatever happened.
async fn in_browser<F>(steps: impl FnOnce(Browser) -> F) -> StepResult
where
    F: Future<Output = (Browser, Result<(), BrowserError>)>,
{
    let (browser, outcome) = steps(Browser::start().await?).await;
    browser.quit().await;
    Ok(outcome.map_err(|e| format!("in the browser: {e}"))?)
}

/// The approval page of the scenario's spend request, as Link states it.
async fn approval_url(w: &LinkWorld) -> StepResult<String> {
    let request = w.spend_request_at_link().await?;
    request["approval_url"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no approval_url on {}: {request}", request["id"]).into())
}

#[when("the user approves the login in the browser")]
async fn approve_login(w: &mut LinkWorld) -> StepResult {
    // The URL the agent showed the person; a bare `/verify` asks for the phrase first.
    let shown = w
        .first
        .as_ref()
        .and_then(|first| first.get("verification_url"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("no verification_url in the login output: {:?}", w.first))?;
    let phrase = w.phrase()?;
    in_browser(|browser| async move {
        let outcome = async {
            browser.goto(&shown).await?;
            if !browser.has("#phrase").await {
                browser.fill("#code", &phrase).await?;
                browser.click("main form button").await?;
            }
            let phrase_shown = browser.text("#phrase").await?;
            if phrase_shown != phrase {
                return Err(BrowserError::Timeout(format!(
                    "the page shows the phrase {phrase_shown:?}, the agent showed {phrase:?}"
                )));
            }
            browser.click(r#"button[value="approve"]"#).await?;
            browser
                .wait_for_text("#result", "The device is connected")
                .await?;
            Ok(())
        }
        .await;
        (browser, outcome)
    })
    .await
}

/// Opens the approval page and clicks `decision` (approve or deny), then waits for `result`.
async fn decide(w: &LinkWorld, decision: &'static str, result: &'static str) -> StepResult {
    let url = approval_url(w).await?;
    in_browser(|browser| async move {
        let outcome = async {
            browser.goto(&url).await?;
            browser
                .click(&format!(r#"button[value="{decision}"]"#))
                .await?;
            browser.wait_for_text("#result", result).await?;
            Ok(())
        }
        .await;
        (browser, outcome)
    })
    .await
}

#[when("the user approves the spend request in the browser")]
async fn approve(w: &mut LinkWorld) -> StepResult {
    decide(w, "approve", "You approved the purchase").await
}

#[when("the user denies the spend request in the browser")]
async fn deny(w: &mut LinkWorld) -> StepResult {
    decide(w, "deny", "You denied the purchase").await
}

#[when("the user completes 3-D Secure in the browser")]
async fn complete_three_ds(w: &mut LinkWorld) -> StepResult {
    let url = approval_url(w).await?;
    in_browser(|browser| async move {
        let outcome = async {
            browser.goto(&url).await?;
            browser.click("#three-d-secure").await?;
            browser
                .wait_for_text("h1", "Confirm with your bank")
                .await?;
            browser.click("main form button").await?;
            browser
                .wait_for_text("#result", "The purchase is approved")
                .await?;
            Ok(())
        }
        .await;
        (browser, outcome)
    })
    .await
}
