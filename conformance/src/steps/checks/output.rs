//! The client's output: its fields, its items, its first object.

use cucumber::then;
use serde_json::Value;

use super::{expected, field, same};
use crate::output::lookup;
use crate::step_error::{StepResult, check};
use crate::world::LinkWorld;

#[then(expr = "the output announces version {string} with an update command")]
async fn announces_update(w: &mut LinkWorld, version: String) -> StepResult {
    let out = w.last()?;
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

#[then(expr = "the output field {string} is {string}")]
async fn field_is(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let out = w.last()?;
    let actual = field(out, &path)?;
    let want = expected(w, &value);
    check(same(&actual, &want), || {
        format!("{path}: expected {want}, got {actual}")
    })
}

#[then(expr = "the output field {string} is present")]
async fn field_present(w: &mut LinkWorld, path: String) -> StepResult {
    let out = w.last()?;
    let value = field(out, &path)?;
    check(!value.is_null(), || format!("{path} is null"))
}

#[then(expr = "the output field {string} is absent")]
async fn field_absent(w: &mut LinkWorld, path: String) -> StepResult {
    let out = w.last()?;
    let value = out.last().and_then(|v| lookup(v, &path));
    check(value.is_none_or(|v| v.is_null()), || {
        format!("{path} should be absent: {}", out.describe())
    })
}

#[then(expr = "the output field {string} starts with {string}")]
async fn field_starts(w: &mut LinkWorld, path: String, prefix: String) -> StepResult {
    let prefix = w.expand(&prefix);
    let out = w.last()?;
    let value = field(out, &path)?;
    check(
        value.as_str().is_some_and(|s| s.starts_with(&prefix)),
        || format!("{path} = {value} does not start with {prefix:?}"),
    )
}

#[then(expr = "the output field {string} contains {string}")]
async fn field_contains(w: &mut LinkWorld, path: String, part: String) -> StepResult {
    let part = w.expand(&part);
    let out = w.last()?;
    let value = field(out, &path)?;
    let text = value
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| value.to_string());
    check(text.to_lowercase().contains(&part.to_lowercase()), || {
        format!("{path} = {value} does not contain {part:?}")
    })
}

/// The first object the last command yielded (a background command's, or the last one's).
fn first_object(w: &LinkWorld) -> StepResult<Value> {
    let first = w
        .first
        .clone()
        .or_else(|| w.last.as_ref().and_then(|o| o.first().cloned()));
    Ok(first.ok_or("the command yielded nothing")?)
}

#[then(expr = "the first object has a {string} starting with {string}")]
async fn first_starts(w: &mut LinkWorld, path: String, prefix: String) -> StepResult {
    let prefix = w.expand(&prefix);
    let first = first_object(w)?;
    let value = lookup(&first, &path).ok_or_else(|| format!("no {path} in {first}"))?;
    check(
        value.as_str().is_some_and(|s| s.starts_with(&prefix)),
        || format!("{path} = {value} does not start with {prefix:?}"),
    )
}

#[then(expr = "the first object has a non-empty {string}")]
async fn first_has(w: &mut LinkWorld, path: String) -> StepResult {
    let first = first_object(w)?;
    let value = lookup(&first, &path).ok_or_else(|| format!("no {path} in {first}"))?;
    check(value.as_str().is_some_and(|s| !s.is_empty()), || {
        format!("{path} is empty in {first}")
    })
}

#[then(expr = "the output lists {int} item(s)")]
async fn lists(w: &mut LinkWorld, count: usize) -> StepResult {
    let out = w.last()?;
    let items = out.items();
    check(items.len() == count, || {
        format!(
            "expected {count} items, got {}: {}",
            items.len(),
            out.describe()
        )
    })
}

/// How many items of the last output have `path` equal to `value` (as the
/// feature wrote it), and that value.
fn items_with(w: &LinkWorld, path: &str, value: &str) -> StepResult<(usize, Value)> {
    let want = expected(w, value);
    let n = w
        .last()?
        .items()
        .iter()
        .filter(|i| lookup(i, path).is_some_and(|v| same(&v, &want)))
        .count();
    Ok((n, want))
}

#[then(expr = "exactly one item has {string} equal to {string}")]
async fn exactly_one(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let (n, want) = items_with(w, &path, &value)?;
    let out = w.last()?;
    check(n == 1, || {
        format!("{n} items have {path} = {want}: {}", out.describe())
    })
}

#[then(expr = "an item has {string} equal to {string}")]
async fn some_item(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let (n, want) = items_with(w, &path, &value)?;
    let out = w.last()?;
    check(n >= 1, || {
        format!("no item has {path} = {want}: {}", out.describe())
    })
}

#[then(expr = "no item has {string} equal to {string}")]
async fn no_item(w: &mut LinkWorld, path: String, value: String) -> StepResult {
    let (n, want) = items_with(w, &path, &value)?;
    let out = w.last()?;
    check(n == 0, || {
        format!("{n} items have {path} = {want}: {}", out.describe())
    })
}
