//! One client operation (`<group> <command> [args] [--flags]`), rendered as
//! command-line arguments or as an MCP tool call.

use serde_json::{Map, Value};

/// Flags whose values are numbers in a tool call.
const NUMERIC: &[&str] = &["interval", "timeout", "max-attempts"];
/// Flags that may repeat (arrays in a tool call).
const REPEATED: &[&str] = &["header", "include", "line-item", "total"];
/// Flags whose values are JSON objects in a tool call.
const OBJECTS: &[&str] = &["line-item", "total", "metadata", "approval-detail"];

/// An operation of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    pub group: String,
    pub command: String,
    /// Positional arguments by their tool-argument name (`id`, `url`).
    pub positional: Vec<(String, String)>,
    /// Flags in kebab case; `None` for a bare boolean flag.
    pub flags: Vec<(String, Option<String>)>,
}

impl Op {
    /// `mpp decode --challenge '<value>'` for a response's `WWW-Authenticate`
    /// field lines: the contract takes one value, so several lines are combined
    /// as HTTP combines a list-based field (RFC 9110, section 5.3: joined by ", ").
    pub fn decode_challenge<S: AsRef<str>>(field_lines: &[S]) -> Self {
        let combined = field_lines
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(", ");
        Op {
            group: "mpp".into(),
            command: "decode".into(),
            positional: Vec::new(),
            flags: vec![("challenge".to_owned(), Some(combined))],
        }
    }
}

/// Why a command line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    #[error("a command needs a group and a command: {0:?}")]
    TooShort(String),
    #[error("unbalanced quotes in {0:?}")]
    Quotes(String),
}

impl Op {
    /// Reads a command line such as `spend-request retrieve lsrq_1 --interval 2`
    /// (single or double quotes group words; `--format` is dropped).
    pub fn parse(line: &str) -> Result<Self, OpError> {
        let words = split_words(line).ok_or_else(|| OpError::Quotes(line.to_owned()))?;
        Self::from_words(&words).ok_or_else(|| OpError::TooShort(line.to_owned()))
    }

    /// From already split words.
    pub fn from_words(words: &[String]) -> Option<Self> {
        let (group, rest) = words.split_first()?;
        let (command, rest) = rest.split_first()?;
        let mut op = Op {
            group: group.clone(),
            command: command.clone(),
            positional: Vec::new(),
            flags: Vec::new(),
        };
        // The short forms curl users type, which the public client's own
        // hand-over commands use (`mpp pay <url> -X POST -d '...' -H '...'`).
        let rest: Vec<String> = rest
            .iter()
            .map(|word| match word.as_str() {
                "-X" => "--method".to_owned(),
                "-d" => "--data".to_owned(),
                "-H" => "--header".to_owned(),
                _ => word.clone(),
            })
            .collect();
        let mut i = 0;
        while i < rest.len() {
            let word = &rest[i];
            if let Some(flag) = word.strip_prefix("--") {
                if let Some((name, value)) = flag.split_once('=') {
                    op.flags.push((name.to_owned(), Some(value.to_owned())));
                    i += 1;
                    continue;
                }
                let value = rest
                    .get(i + 1)
                    .filter(|v| !v.starts_with("--") || v.len() == 2);
                if flag == "format" {
                    i += 2;
                    continue;
                }
                match value {
                    Some(v) if !is_switch(flag) => {
                        op.flags.push((flag.to_owned(), Some(v.clone())));
                        i += 2;
                    }
                    _ => {
                        op.flags.push((flag.to_owned(), None));
                        i += 1;
                    }
                }
            } else {
                let name = positional_name(&op.group, &op.command);
                op.positional.push((name.to_owned(), word.clone()));
                i += 1;
            }
        }
        Some(op)
    }

    /// The value of a flag, if given with one.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether the operation's result is a list.
    pub fn is_list(&self) -> bool {
        self.command == "list"
    }

    /// Arguments for a command-line client, `--format json` last.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec![self.group.clone(), self.command.clone()];
        args.extend(self.positional.iter().map(|(_, v)| v.clone()));
        for (name, value) in &self.flags {
            args.push(format!("--{name}"));
            if let Some(v) = value {
                args.push(v.clone());
            }
        }
        args.extend(["--format".to_owned(), "json".to_owned()]);
        args
    }

    /// Arguments for a person (no `--format`): the client's human output.
    pub fn human_args(&self) -> Vec<String> {
        let mut args = self.cli_args();
        args.truncate(args.len() - 2);
        args
    }

    /// The MCP tool name and arguments (`<group>_<command>`, camelCase flags).
    pub fn tool_call(&self) -> (String, Value) {
        let mut arguments = Map::new();
        for (name, value) in &self.positional {
            arguments.insert(name.clone(), Value::String(value.clone()));
        }
        for (name, value) in &self.flags {
            let key = camel_case(name);
            let json = match value {
                None => Value::Bool(true),
                Some(v) if NUMERIC.contains(&name.as_str()) => v
                    .parse::<f64>()
                    .ok()
                    .and_then(|n| {
                        if n.fract() == 0.0 && name == "max-attempts" {
                            Some(Value::from(n as i64))
                        } else {
                            serde_json::Number::from_f64(n).map(Value::Number)
                        }
                    })
                    .unwrap_or_else(|| Value::String(v.clone())),
                Some(v) if OBJECTS.contains(&name.as_str()) => {
                    serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()))
                }
                Some(v) => Value::String(v.clone()),
            };
            if REPEATED.contains(&name.as_str()) {
                let entry = arguments
                    .entry(key)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(json);
                }
            } else {
                arguments.insert(key, json);
            }
        }
        (
            format!("{}_{}", self.group, self.command),
            Value::Object(arguments),
        )
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let args = self.cli_args();
        let shown: Vec<String> = args[..args.len() - 2]
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            })
            .collect();
        write!(f, "{}", shown.join(" "))
    }
}

fn is_switch(flag: &str) -> bool {
    matches!(
        flag,
        "request-approval" | "test" | "include-history" | "force"
    )
}

fn positional_name(group: &str, command: &str) -> &'static str {
    match (group, command) {
        ("mpp", "pay") => "url",
        _ => "id",
    }
}

fn camel_case(kebab: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in kebab.chars() {
        if c == '-' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits on whitespace; single or double quotes group words.
pub fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        words.push(current);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pay_hand_over_with_curl_flags_reads_as_the_long_flags() {
        let op = Op::parse(
            "mpp pay http://127.0.0.1:1/m/api/orders --spend-request-id lsrq_1 -X POST -d '{\"a\":1}' -H 'X-Ref: 4'",
        )
        .unwrap();
        assert_eq!(op.flag("method"), Some("POST"));
        assert_eq!(op.flag("data"), Some("{\"a\":1}"));
        assert_eq!(op.flag("header"), Some("X-Ref: 4"));
        let decode = Op::decode_challenge(&["Bearer realm=\"a\"", "Payment id=\"x\""]);
        assert_eq!(
            decode.flag("challenge"),
            Some("Bearer realm=\"a\", Payment id=\"x\"")
        );
    }

    #[test]
    fn a_next_hint_becomes_an_operation() {
        let op =
            Op::parse("spend-request retrieve lsrq_1 --interval 2 --max-attempts 300").unwrap();
        assert_eq!(op.positional, vec![("id".into(), "lsrq_1".into())]);
        assert_eq!(op.flag("interval"), Some("2"));
        let (name, args) = op.tool_call();
        assert_eq!(name, "spend-request_retrieve");
        assert_eq!(
            args,
            json!({"id": "lsrq_1", "interval": 2.0, "maxAttempts": 300})
        );
    }

    #[test]
    fn quoted_words_switches_and_repeats() {
        let op = Op::parse(
            "mpp pay http://x/y --header 'X-A: 1' --header \"X-B: 2\" --amount -5 --request-approval",
        )
        .unwrap();
        assert_eq!(op.flag("amount"), Some("-5"));
        let (name, args) = op.tool_call();
        assert_eq!(name, "mpp_pay");
        assert_eq!(args["header"], json!(["X-A: 1", "X-B: 2"]));
        assert_eq!(args["url"], "http://x/y");
        assert_eq!(args["requestApproval"], true);
        assert_eq!(
            op.cli_args().join(" "),
            "mpp pay http://x/y --header X-A: 1 --header X-B: 2 --amount -5 --request-approval --format json"
        );
        assert!(Op::parse("auth").is_err());
        assert!(Op::parse("auth status 'x").is_err());
    }
}
