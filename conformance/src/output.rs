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
    /// A tool result of an MCP server (its errors may be plain text).
    pub via_mcp: bool,
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
            via_mcp: false,
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

    /// A list result: the last value when it is an array, the array of a
    /// single list object (`data`, or a 1.x client's `payment_details` beside
    /// `unavailable_count`), otherwise every value.
    pub fn items(&self) -> Vec<Value> {
        const LIST_FIELDS: [&str; 2] = ["data", "payment_details"];
        match self.values.last() {
            Some(Value::Array(items)) => items.clone(),
            Some(only) if self.values.len() == 1 => LIST_FIELDS
                .iter()
                .find_map(|f| only.get(*f).and_then(Value::as_array))
                .cloned()
                .unwrap_or_else(|| self.values.clone()),
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

    /// A description for failure messages. Its first line is enough to act
    /// on (the summary shows only that): the exit code and the gist.
    pub fn describe(&self) -> String {
        format!(
            "exit {}: {}; stdout: {}; stderr: {}",
            self.exit,
            self.gist(),
            truncate(&self.stdout, 1500),
            truncate(&self.stderr, 600)
        )
    }

    /// One line saying what the command answered: its error's code and
    /// message, its last object, or its first meaningful line of output.
    pub fn gist(&self) -> String {
        let error = self
            .values
            .iter()
            .find(|v| v.get("code").is_some_and(Value::is_string) && v.get("message").is_some());
        let gist = if let Some(error) = error {
            let message = error["message"].as_str().map(str::to_owned);
            format!(
                "error {}: {}",
                error["code"].as_str().unwrap_or_default(),
                message.unwrap_or_else(|| error["message"].to_string())
            )
        } else if let Some(last) = self.values.last() {
            last.to_string()
        } else {
            let meaningful = |text: &str| {
                text.lines()
                    .map(str::trim)
                    .find(|l| l.chars().any(char::is_alphanumeric))
                    .map(str::to_owned)
            };
            meaningful(&self.stdout)
                .or_else(|| meaningful(&self.stderr).map(|l| format!("stderr: {l}")))
                .unwrap_or_else(|| "no output".into())
        };
        truncate(&gist.replace(['\n', '\r'], " "), 300)
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
/// on as text: `body.received_body`). `a|b` names two legitimate shapes of
/// one field (`approval_url|approval_link`): the first one present counts.
pub fn lookup(value: &Value, path: &str) -> Option<Value> {
    path.split('|')
        .find_map(|alternative| lookup_path(value, alternative.trim()))
}

fn lookup_path(value: &Value, path: &str) -> Option<Value> {
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
    fn the_gist_of_an_outcome_fits_on_its_first_line() {
        let pretty = "{\n  \"code\": \"NOT_FOUND\",\n  \"message\": \"No such\\nrequest\"\n}\n";
        let out = Outcome::new(1, pretty.into(), String::new());
        let first = out.describe().lines().next().unwrap().to_owned();
        assert!(
            first.contains("error NOT_FOUND: No such request"),
            "{first}"
        );
        let plain = Outcome::new(1, "{\n\nSpend request not found\n".into(), String::new());
        assert_eq!(plain.gist(), "Spend request not found");
        let quiet = Outcome::new(1, String::new(), "\nError: boom\n".into());
        assert_eq!(quiet.gist(), "stderr: Error: boom");
        let ok = Outcome::new(0, "{\n \"status\": \"approved\"\n}".into(), String::new());
        assert_eq!(ok.gist(), r#"{"status":"approved"}"#);
    }

    #[test]
    fn lookup_follows_dotted_paths_into_json_text() {
        let v = json!({"a": {"b": [{"c": 1}]}, "body": "{\"received_body\":\"x\"}"});
        assert_eq!(lookup(&v, "a.b.0.c"), Some(json!(1)));
        assert_eq!(lookup(&v, "a.x"), None);
        assert_eq!(lookup(&v, "a.b.3"), None);
        assert_eq!(lookup(&v, "body.received_body"), Some(json!("x")));
        assert_eq!(lookup(&v, "body"), Some(v["body"].clone()));
        assert_eq!(lookup(&v, "a.x|a.b.0.c"), Some(json!(1)));
        assert_eq!(lookup(&v, "x|y"), None);
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
