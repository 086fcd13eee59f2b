//! Writing challenges as `WWW-Authenticate` text, with the formatting freedom
//! RFC 9110 allows: case of scheme and param names, whitespace around `=` and
//! `,`, token or quoted-string values, several challenges per field or one per
//! field.

use proptest::prelude::*;

/// An auth challenge before it is written: a scheme and its params in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth-scheme (`Payment`, `Bearer`, ...).
    pub scheme: String,
    /// Params as `(name, value)`, value unescaped.
    pub params: Vec<(String, String)>,
    /// A token68 written after the scheme instead of params (`Negotiate abc==`).
    pub token68: Option<String>,
}

impl Challenge {
    /// A challenge of `scheme` with `params`.
    pub fn new<N: Into<String>, V: Into<String>>(
        scheme: &str,
        params: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Self {
            scheme: scheme.to_owned(),
            params: params
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
            token68: None,
        }
    }

    /// The value of the first param called `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` (replacing the first occurrence, or appending).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.params.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }

    /// Removes every param called `name`.
    pub fn remove(&mut self, name: &str) {
        self.params.retain(|(n, _)| n != name);
    }
}

/// How to change the case of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// As given.
    Keep,
    /// All lowercase.
    Lower,
    /// All uppercase.
    Upper,
    /// First letter uppercase, the rest lowercase.
    Title,
}

impl Case {
    fn apply(self, s: &str) -> String {
        match self {
            Self::Keep => s.to_owned(),
            Self::Lower => s.to_ascii_lowercase(),
            Self::Upper => s.to_ascii_uppercase(),
            Self::Title => {
                let mut out = s.to_ascii_lowercase();
                if let Some(first) = out.get_mut(..1) {
                    first.make_ascii_uppercase();
                }
                out
            }
        }
    }
}

/// Formatting choices for writing challenges; every combination is valid
/// RFC 9110 text that a decoder must read the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// Case of the auth-scheme.
    pub scheme_case: Case,
    /// Case of param names.
    pub name_case: Case,
    /// Whitespace before `=`.
    pub before_eq: &'static str,
    /// Whitespace after `=`.
    pub after_eq: &'static str,
    /// Separator between params and between challenges.
    pub comma: &'static str,
    /// Write values that are tokens without quotes.
    pub bare_tokens: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            scheme_case: Case::Keep,
            name_case: Case::Keep,
            before_eq: "",
            after_eq: "",
            comma: ", ",
            bare_tokens: false,
        }
    }
}

/// Any [`Style`].
pub fn style() -> impl Strategy<Value = Style> {
    let case = || {
        prop_oneof![
            4 => Just(Case::Keep),
            1 => Just(Case::Lower),
            1 => Just(Case::Upper),
            1 => Just(Case::Title),
        ]
    };
    let ws = || prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("  "), 1 => Just("\t")];
    let comma = prop_oneof![
        4 => Just(", "),
        2 => Just(","),
        1 => Just(" , "),
        1 => Just(",\t"),
        1 => Just(",  ,  "),
    ];
    (case(), case(), ws(), ws(), comma, any::<bool>()).prop_map(
        |(scheme_case, name_case, before_eq, after_eq, comma, bare_tokens)| Style {
            scheme_case,
            name_case,
            before_eq,
            after_eq,
            comma,
            bare_tokens,
        },
    )
}

/// Whether `value` may be written without quotes (an RFC 9110 token).
pub fn is_token(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Writes `value` as a quoted-string, escaping `"` and `\`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Writes one challenge.
pub fn render_challenge(challenge: &Challenge, style: &Style) -> String {
    let mut out = style.scheme_case.apply(&challenge.scheme);
    out.push(' ');
    if let Some(token68) = &challenge.token68 {
        out.push_str(token68);
        return out;
    }
    let params: Vec<String> = challenge
        .params
        .iter()
        .map(|(name, value)| {
            let value = if style.bare_tokens && is_token(value) {
                value.clone()
            } else {
                quote(value)
            };
            format!(
                "{}{}={}{}",
                style.name_case.apply(name),
                style.before_eq,
                style.after_eq,
                value
            )
        })
        .collect();
    out.push_str(&params.join(style.comma));
    out
}

/// Writes challenges as header field values: a new field starts before
/// challenge `i` when `new_field[i]` is true (the first always starts one).
pub fn render_fields(challenges: &[Challenge], new_field: &[bool], style: &Style) -> Vec<String> {
    let mut fields: Vec<String> = Vec::new();
    for (i, challenge) in challenges.iter().enumerate() {
        let text = render_challenge(challenge, style);
        match fields.last_mut() {
            Some(field) if !new_field.get(i).copied().unwrap_or(false) => {
                field.push_str(style.comma);
                field.push_str(&text);
            }
            _ => fields.push(text),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_tokens_bare_and_escapes_quoted_strings() {
        let c = Challenge::new("Payment", [("id", "abc"), ("description", "a \"b\", \\c")]);
        let style = Style {
            bare_tokens: true,
            name_case: Case::Upper,
            before_eq: " ",
            ..Style::default()
        };
        assert_eq!(
            render_challenge(&c, &style),
            r#"Payment ID =abc, DESCRIPTION ="a \"b\", \\c""#
        );
    }

    #[test]
    fn joins_or_splits_fields() {
        let a = Challenge::new("Bearer", [("realm", "x")]);
        let b = Challenge::new("Payment", [("id", "y")]);
        let style = Style::default();
        let two = [a.clone(), b.clone()];
        assert_eq!(render_fields(&two, &[false, false], &style).len(), 1);
        assert_eq!(render_fields(&two, &[false, true], &style).len(), 2);
    }
}
