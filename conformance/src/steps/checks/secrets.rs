//! What the output must never show: card details beyond what was asked,
//! terminal control characters, tokens, panics.

use cucumber::then;
use serde_json::Value;

use super::{field, strings};
use crate::step_error::{StepResult, check};
use crate::world::LinkWorld;

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
    let out = w.last()?;
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
fn luhn(number: &str) -> bool {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    digits.len() >= 12 && mock_link::passes_luhn(&digits)
}

#[then("the card number passes the Luhn check and is the card Link issued")]
async fn card_luhn(w: &mut LinkWorld) -> StepResult {
    let out = w.last()?;
    let number = field(out, "card.number")?
        .as_str()
        .ok_or("card.number is not a string")?
        .to_owned();
    check(luhn(&number), || format!("{number} fails the Luhn check"))?;
    let issued = w.spend_request_at_link().await?;
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
    let out = w.last()?;
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

#[then("the output reveals no secret")]
async fn no_secret(w: &mut LinkWorld) -> StepResult {
    let out = w.last()?;
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

#[then("the text shows only the last 4 digits of the card Link issued")]
async fn masked(w: &mut LinkWorld) -> StepResult {
    let out = w.last()?;
    check(out.exit == 0, || {
        format!("expected success: {}", out.describe())
    })?;
    let issued = w.spend_request_at_link().await?;
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
