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
/// array of every object yielded), plain JSON lines, or `{"type":"chunk"}`
/// envelopes (the closing `{"type":"done"}` is dropped).
pub fn parse_values(stdout: &str) -> Result<Vec<Value>, String> {
    let trimmed = stdout.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    let mut values = Vec::new();
    let mut by_line = true;
    for line in trimmed.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => values.push(v),
            Err(_) => {
                by_line = false;
                break;
            }
        }
    }
    if !by_line {
        // A pretty-printed single value.
        let whole: Value =
            serde_json::from_str(trimmed).map_err(|e| format!("stdout is not JSON ({e})"))?;
        values = vec![whole];
    }
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

fn is_envelope(v: &Value) -> bool {
    matches!(
        v.get("type").and_then(Value::as_str),
        Some("chunk" | "done")
    ) && v.as_object().is_some_and(|o| o.len() <= 3)
}

/// Follows a dotted path (`a.b.0.c`) into a JSON value.
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = value;
    for part in path.split('.') {
        current = match current {
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            Value::Object(map) => map.get(part)?,
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
    fn lookup_follows_dotted_paths() {
        let v = json!({"a": {"b": [{"c": 1}]}});
        assert_eq!(lookup(&v, "a.b.0.c"), Some(&json!(1)));
        assert_eq!(lookup(&v, "a.x"), None);
    }
}
