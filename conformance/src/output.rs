//! What a client printed, read in any shape the contract allows.

use serde_json::Value;

/// How one command (or tool call) ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Exit code (an MCP tool error counts as 1).
    pub exit: i32,
    /// Raw stdout (or the tool's text content).
    pub stdout: String,
    /// Raw stderr (empty for MCP).
    pub stderr: String,
    /// The objects the command yielded, in order.
    pub values: Vec<Value>,
    /// Why stdout could not be read as JSON, if it could not.
    pub parse_error: Option<String>,
}

impl Outcome {
    /// Builds an outcome and reads its stdout.
    pub fn new(exit: i32, stdout: String, stderr: String) -> Self {
        let (values, parse_error) = match parse_values(&stdout) {
            Ok(values) => (values, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        Self {
            exit,
            stdout,
            stderr,
            values,
            parse_error,
        }
    }

    /// The last object yielded (the result of a command that ends with one).
    pub fn last(&self) -> Option<&Value> {
        self.values.last()
    }

    /// The first object yielded.
    pub fn first(&self) -> Option<&Value> {
        self.values.first()
    }

    /// A list result: the last value when it is an array, otherwise every value.
    pub fn items(&self) -> Vec<Value> {
        match self.values.last() {
            Some(Value::Array(items)) => items.clone(),
            _ if self.values.len() == 1
                && self.values[0].get("data").is_some_and(Value::is_array) =>
            {
                self.values[0]["data"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            }
            _ => self.values.clone(),
        }
    }

    /// For a command that is not a list: a single array is every object the
    /// command yielded (the public client's `--format json`, a tool result).
    pub fn flatten_yielded(mut self) -> Self {
        if self.values.len() == 1
            && let Value::Array(items) = &self.values[0]
            && !items.is_empty()
            && items.iter().all(Value::is_object)
        {
            self.values = items.clone();
        }
        self
    }

    /// A short description for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "exit {}; stdout: {}; stderr: {}",
            self.exit,
            truncate(&self.stdout, 1500),
            truncate(&self.stderr, 600)
        )
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// Reads stdout as the contract allows: one JSON value (a bare object, or an
/// array of every object yielded), plain JSON lines, consecutive pretty-printed
/// values, or `{"type":"chunk"}` envelopes (the closing `{"type":"done"}` is
/// dropped).
pub fn parse_values(stdout: &str) -> Result<Vec<Value>, String> {
    let values = serde_json::Deserializer::from_str(stdout)
        .into_iter::<Value>()
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| format!("stdout is not JSON ({e})"))?;
    let enveloped = values.iter().any(is_envelope);
    if enveloped {
        return Ok(values
            .into_iter()
            .filter_map(|v| match v.get("type").and_then(Value::as_str) {
                Some("chunk") => v.get("data").cloned(),
                _ => None,
            })
            .collect());
    }
    Ok(values)
}

/// The first object a command has yielded so far, reading `text` (what it has
/// printed until now) as it would be read whole: the first JSON line, or the
/// first complete pretty-printed value; an array of objects (the public
/// client's `--format json`) yields its first object. `None` until one is
/// complete.
pub fn first_yielded(text: &str) -> Option<Value> {
    let first = match serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()?
    {
        Ok(value) => value,
        // Not complete yet: wait for more output.
        Err(e) if e.is_eof() => return None,
        // Something else first (a banner, a log line): the first JSON line.
        Err(_) => text.lines().find_map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(|v| v.is_object() || v.is_array())
        })?,
    };
    let first = parse_values(&first.to_string()).ok()?.into_iter().next()?;
    match first {
        Value::Array(items) if items.first().is_some_and(Value::is_object) => {
            items.into_iter().next()
        }
        other => Some(other),
    }
}

fn is_envelope(v: &Value) -> bool {
    matches!(
        v.get("type").and_then(Value::as_str),
        Some("chunk" | "done")
    ) && v.as_object().is_some_and(|o| o.len() <= 3)
}

/// Follows a dotted path (`a.b.0.c`) into a JSON value. A string met on the
/// way that holds JSON is read as JSON (a client may pass a merchant's body
/// on as text: `body.received_body`).
pub fn lookup(value: &Value, path: &str) -> Option<Value> {
    let mut current = value.clone();
    for part in path.split('.') {
        if let Value::String(text) = &current
            && let Ok(parsed) = serde_json::from_str::<Value>(text)
        {
            current = parsed;
        }
        current = match current {
            Value::Array(mut items) => {
                let index = part.parse::<usize>().ok()?;
                (index < items.len()).then(|| items.swap_remove(index))?
            }
            Value::Object(mut map) => map.remove(part)?,
            _ => return None,
        };
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_contract_shape_reads_the_same() {
        let a = r#"{"id":"lsrq_1","status":"approved"}"#;
        assert_eq!(
            parse_values(a).unwrap(),
            vec![json!({"id":"lsrq_1","status":"approved"})]
        );
        let lines = "{\"verification_url\":\"u\",\"phrase\":\"p\"}\n{\"authenticated\":true}\n";
        assert_eq!(parse_values(lines).unwrap().len(), 2);
        let array = r#"[{"verification_url":"u","phrase":"p"},{"authenticated":true}]"#;
        let yielded = Outcome::new(0, array.into(), String::new()).flatten_yielded();
        assert_eq!(yielded.values, parse_values(lines).unwrap());
        let chunks = "{\"type\":\"chunk\",\"data\":{\"verification_url\":\"u\",\"phrase\":\"p\"}}\n{\"type\":\"chunk\",\"data\":{\"authenticated\":true}}\n{\"type\":\"done\",\"ok\":true,\"meta\":{}}\n";
        assert_eq!(parse_values(chunks).unwrap(), parse_values(lines).unwrap());
        let pretty = "{\n  \"code\": \"X\",\n  \"message\": \"m\"\n}\n";
        assert_eq!(parse_values(pretty).unwrap()[0]["code"], "X");
        // A list stays a list.
        let list = r#"[{"id":"csmrpd_1","is_default":true}]"#;
        assert_eq!(parse_values(list).unwrap().len(), 1);
        assert!(parse_values(list).unwrap()[0].is_array());
        assert!(parse_values("not json").is_err());
    }

    #[test]
    fn lookup_follows_dotted_paths_into_json_text() {
        let v = json!({"a": {"b": [{"c": 1}]}, "body": "{\"received_body\":\"x\"}"});
        assert_eq!(lookup(&v, "a.b.0.c"), Some(json!(1)));
        assert_eq!(lookup(&v, "a.x"), None);
        assert_eq!(lookup(&v, "a.b.3"), None);
        assert_eq!(lookup(&v, "body.received_body"), Some(json!("x")));
        assert_eq!(lookup(&v, "body"), Some(v["body"].clone()));
    }

    #[test]
    fn the_first_object_is_found_as_soon_as_it_is_complete() {
        assert_eq!(first_yielded(""), None);
        assert_eq!(first_yielded("{\n  \"phrase\": \"p\""), None);
        let pretty = "{\n  \"phrase\": \"p\"\n}\n{\n  \"authent";
        assert_eq!(first_yielded(pretty), Some(json!({"phrase": "p"})));
        let array = "[\n  {\n    \"phrase\": \"p\"\n  },\n  {\"authenticated\": true}\n]\n";
        assert_eq!(first_yielded(array), Some(json!({"phrase": "p"})));
        let lines = "starting...\n{\"phrase\":\"p\"}\n";
        assert_eq!(first_yielded(lines), Some(json!({"phrase": "p"})));
        let chunk = "{\"type\":\"chunk\",\"data\":{\"phrase\":\"p\"}}\n";
        assert_eq!(first_yielded(chunk), Some(json!({"phrase": "p"})));
    }
}
