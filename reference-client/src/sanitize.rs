//! Strips terminal control characters from anything a server sent before it
//! is printed: a merchant's body and headers are attacker-controlled, and an
//! ESC sequence in them must not reach the user's terminal or an agent's log.

use serde_json::Value;

/// Removes C0 controls (except tab and newline), DEL and C1 controls.
pub fn clean_text(text: &str) -> String {
    text.chars().filter(|&c| !is_control(c)).collect()
}

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cleans every string (keys too) of a JSON value.
pub fn clean_json(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(clean_text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(clean_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (clean_text(&k), clean_json(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_escape_sequences_and_bidi_overrides() {
        assert_eq!(
            clean_text("ok\u{1b}[31mred\u{7}\u{9b}2J\u{202E}x\ty\n"),
            "ok[31mred2Jx\ty\n"
        );
        let cleaned = clean_json(serde_json::json!({"a\u{1b}": ["\u{0}b"]}));
        assert_eq!(cleaned, serde_json::json!({"a": ["b"]}));
    }
}
