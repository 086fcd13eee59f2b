//! Checks (`Then` steps), a file per concern: the client's output
//! ([`output`]), its errors ([`errors`]), what it must never show
//! ([`secrets`]), what reached Link ([`link`]) and the merchants
//! ([`merchant`]), and its MCP server ([`mcp`]).

mod errors;
mod link;
mod mcp;
mod merchant;
mod output;
mod secrets;

use serde_json::Value;

use crate::output::{Outcome, lookup};
use crate::step_error::StepResult;
use crate::world::LinkWorld;

/// The field at `path` (dotted) of the last object of `out`.
fn field(out: &Outcome, path: &str) -> StepResult<Value> {
    let value = out
        .last()
        .ok_or_else(|| format!("no output: {}", out.describe()))?;
    Ok(lookup(value, path).ok_or_else(|| format!("no field {path:?} in {value}"))?)
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

/// Every string in `v`, object keys included.
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
