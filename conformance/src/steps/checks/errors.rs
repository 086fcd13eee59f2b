//! The shape of a success and of a failure: exit status, one JSON error
//! object (ERR-01), or a tool error over MCP (MCP-02).

use cucumber::then;
use serde_json::Value;

use super::strings;
use crate::output::Outcome;
use crate::step_error::{StepResult, check};
use crate::world::{self, LinkWorld};

#[then("it succeeds")]
async fn succeeds(w: &mut LinkWorld) -> StepResult {
    let out = w.last()?;
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
fn error_object(out: &Outcome) -> StepResult<&Value> {
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

fn failure(out: &Outcome) -> StepResult<Failure<'_>> {
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
    failure(w.last()?).map(|_| ())
}

#[then(expr = "it fails with {string}")]
async fn fails_with(w: &mut LinkWorld, code: String) -> StepResult {
    match failure(w.last()?)? {
        Failure::Coded(error) => check(error["code"] == code.as_str(), || {
            format!("expected code {code}, got {error}")
        }),
        // Codes over MCP are compared only where the client declares them.
        Failure::Plain(_) => Ok(()),
    }
}

/// Where the contract says an error names a field (or an id), the name is
/// what is checked, in any text of the error, never the wording around it.
#[then(expr = "the error names {string}")]
async fn error_names(w: &mut LinkWorld, word: String) -> StepResult {
    let word = w.expand(&word).to_lowercase();
    let out = w.last()?;
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

#[then("the payment is refused")]
async fn payment_refused(w: &mut LinkWorld) -> StepResult {
    let out = w.last()?;
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
