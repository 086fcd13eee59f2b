//! Printing what commands yield: JSON, JSON Lines envelopes, YAML, or masked
//! text for people.

use std::io::Write;
use std::time::Instant;

use serde_json::{Value, json};

use crate::error::ClientError;

/// Receives the objects a command yields, as they happen.
pub trait Emit: Send {
    /// One object (or array) of output.
    fn emit(&mut self, value: Value);
}

/// Collects everything (for MCP and tests).
#[derive(Debug, Default)]
pub struct Collect(pub Vec<Value>);

impl Emit for Collect {
    fn emit(&mut self, value: Value) {
        self.0.push(value);
    }
}

impl Collect {
    /// One object as itself, several as an array.
    pub fn into_value(mut self) -> Value {
        match self.0.len() {
            1 => self.0.remove(0),
            _ => Value::Array(self.0),
        }
    }
}

/// Output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One compact JSON value per yielded object, each on its own line, flushed at once.
    Json,
    /// `{"type":"chunk","data":...}` per object, then `{"type":"done",...}`.
    Jsonl,
    /// One YAML document per object.
    Yaml,
    /// Readable text with card numbers and addresses masked.
    Human,
}

/// Prints to stdout in a format.
pub struct Printer {
    format: Format,
    command: String,
    started: Instant,
}

impl Printer {
    /// A printer for `command` (used in the `done` envelope).
    pub fn new(format: Format, command: impl Into<String>) -> Self {
        Self {
            format,
            command: command.into(),
            started: Instant::now(),
        }
    }

    fn write(text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Ends a successful command.
    pub fn finish(&self) {
        if self.format == Format::Jsonl {
            let done = json!({
                "type": "done",
                "ok": true,
                "meta": {"command": self.command, "duration": self.started.elapsed().as_millis() as u64}
            });
            Self::write(&format!("{done}\n"));
        }
    }

    /// Prints an error: always one JSON object on stdout.
    pub fn error(&self, error: &ClientError) {
        Self::write(&format!("{}\n", error.to_json()));
    }
}

impl Emit for Printer {
    fn emit(&mut self, value: Value) {
        let text = match self.format {
            // One compact value per line: a line reader sees each object as it comes.
            Format::Json => format!("{value}\n"),
            Format::Jsonl => format!("{}\n", json!({"type": "chunk", "data": value})),
            Format::Yaml => format!("---\n{}", yaml_serde::to_string(&value).unwrap_or_default()),
            Format::Human => {
                let masked = mask(value);
                let text = yaml_serde::to_string(&masked).unwrap_or_default();
                format!("{}\n", text.trim_end())
            }
        };
        Self::write(&text);
    }
}

/// Masks card numbers (last 4 digits kept), cvcs and street addresses, for
/// output a person reads (and an agent may log).
pub fn mask(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let masked = match (k.as_str(), &v) {
                        ("number", Value::String(n)) => Value::String(mask_number(n)),
                        ("cvc", Value::String(_)) => Value::String("***".into()),
                        (
                            "line1" | "line2" | "line_1" | "line_2" | "postal_code",
                            Value::String(s),
                        ) if !s.is_empty() => Value::String("***".into()),
                        _ => mask(v),
                    };
                    (k, masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(mask).collect()),
        other => other,
    }
}

fn mask_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let last4: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("**** **** **** {last4}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_cards_and_addresses_but_keeps_the_rest() {
        let card = json!({"card": {"number": "4242424242424242", "cvc": "123", "exp_month": 12,
            "billing_address": {"line1": "1 Main St", "city": "Springfield"}}});
        let masked = mask(card);
        assert_eq!(masked["card"]["number"], "**** **** **** 4242");
        assert_eq!(masked["card"]["cvc"], "***");
        assert_eq!(masked["card"]["billing_address"]["line1"], "***");
        assert_eq!(masked["card"]["billing_address"]["city"], "Springfield");
        assert_eq!(masked["card"]["exp_month"], 12);
    }
}
