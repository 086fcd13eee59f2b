//! Splits `WWW-Authenticate` field values into challenges and their auth-params
//! (RFC 9110 §11).
//!
//! The `mpp` crate has a tokenizer of its own, but it is private and its
//! `parse_www_authenticate_all` returns a bare error for a challenge it cannot
//! read, without saying which method that challenge was for. Link must tell a
//! malformed *stripe* challenge (an error naming the field) from a malformed
//! distractor (ignored), so this module splits the value itself and hands each
//! `Payment` challenge's params to `mpp` for validation.
//!
//! The grammar is read exactly as leniently as `mpp` reads it, so that both
//! agree on where every challenge starts; a property test in `mpp-testkit`
//! checks that they find the same `Payment` challenges:
//! - whitespace is ASCII whitespace, list elements may be empty, and
//!   auth-params need no comma between them;
//! - a scheme is the first word of a list element when followed by SP or HTAB
//!   (the first word of the whole value always is);
//! - a name runs to `=` or whitespace, an unquoted value to `,` or whitespace;
//!   a quoted value unescapes `\x` and the `\uXXXX` escapes mppx writes;
//! - a word that is not a param (a token68) ends its challenge's params;
//! - an unterminated quoted-string ends the whole value.
//!
//! Every scan moves forward only, so the work is linear in the input length.

use std::borrow::Cow;

/// One challenge of a field value: its scheme and its params in wire order,
/// duplicates kept so that the caller can reject them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawChallenge {
    /// The auth-scheme as written (compare case-insensitively).
    pub scheme: String,
    /// `(name as written, unescaped value)` in wire order.
    pub params: Vec<(String, String)>,
    /// A syntax error met while reading this challenge's params: `(param name, reason)`.
    pub syntax_error: Option<(String, String)>,
    /// A bare word met among the params (a token68, or a value that lost its
    /// quotes, as in `id=ch 1`): the name of the param it followed, or the
    /// scheme. Params after it are not read (as in `mpp`), so a challenge that
    /// carries one must not be trusted to be complete.
    pub stray_word_after: Option<String>,
}

impl RawChallenge {
    /// Whether this is a challenge of the `Payment` scheme (case-insensitive).
    pub fn is_payment(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("payment")
    }

    /// The value of the first param of that name (names are case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first param name that occurs more than once (case-insensitively).
    pub fn duplicate_param(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::with_capacity(self.params.len());
        self.params
            .iter()
            .map(|(name, _)| name)
            .find(|name| !seen.insert(name.to_ascii_lowercase()))
            .map(String::as_str)
    }
}

/// Splits one field value into its challenges, in order.
pub fn split_challenges(value: &str) -> Vec<RawChallenge> {
    let mut lexer = Lexer::new(value);
    let mut challenges: Vec<RawChallenge> = Vec::new();
    // Params are only collected until the current challenge meets a word.
    let mut collecting = false;
    while let Some(token) = lexer.next_token() {
        match token {
            Token::Scheme(scheme) => {
                challenges.push(RawChallenge {
                    scheme: scheme.to_owned(),
                    params: Vec::new(),
                    syntax_error: None,
                    stray_word_after: None,
                });
                collecting = true;
            }
            Token::Param(name, Ok((value, lossy))) => {
                if collecting && let Some(current) = challenges.last_mut() {
                    if lossy && current.syntax_error.is_none() {
                        current.syntax_error = Some((
                            name.to_owned(),
                            "lone UTF-16 surrogate in a \\u escape".into(),
                        ));
                    }
                    current.params.push((name.to_owned(), value.into_owned()));
                }
            }
            Token::Param(name, Err(reason)) => {
                if collecting && let Some(current) = challenges.last_mut() {
                    current.syntax_error = Some((name.to_owned(), reason.to_owned()));
                }
                break;
            }
            Token::Word => {
                if collecting && let Some(current) = challenges.last_mut() {
                    let after = current.params.last().map_or(&current.scheme, |(n, _)| n);
                    current.stray_word_after = Some(after.clone());
                }
                collecting = false;
            }
        }
    }
    challenges
}

/// Decodes a field value received as bytes. Field values are ISO-8859-1
/// (RFC 9110 §5.5), so a byte that is not ASCII stands for the code point of
/// the same number; valid ASCII is borrowed as is.
pub fn decode_field_value(value: &[u8]) -> Cow<'_, str> {
    if value.is_ascii() {
        // ASCII is valid UTF-8.
        Cow::Borrowed(std::str::from_utf8(value).unwrap_or_default())
    } else {
        Cow::Owned(value.iter().copied().map(char::from).collect())
    }
}

#[derive(Debug)]
enum Token<'a> {
    Scheme(&'a str),
    /// A param; the flag says a lone surrogate was replaced by U+FFFD.
    Param(&'a str, Result<(Cow<'a, str>, bool), &'static str>),
    Word,
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    /// `(from, end)`: the first `=` or whitespace at or after `from` is at
    /// `end`. Any start between the two has the same answer, so a long run of
    /// comma-separated words is scanned once rather than once per word.
    name_end: Option<(usize, usize)>,
    /// `(name_end, equals)`: the first non-whitespace byte at or after
    /// `name_end`, cached for the same reason.
    name_equals: Option<(usize, usize)>,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Self {
            input,
            pos: 0,
            name_end: None,
            name_equals: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.input.as_bytes()
    }

    /// Index of the first byte at or after `from` for which `stop` holds, or the length.
    fn seek(&self, from: usize, stop: impl Fn(u8) -> bool) -> usize {
        self.bytes()[from..]
            .iter()
            .position(|&b| stop(b))
            .map_or(self.input.len(), |offset| from + offset)
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.bytes();
        let at_value_start = self.pos == 0;
        let mut element_start = at_value_start;
        while let Some(&b) = bytes.get(self.pos) {
            if b == b',' {
                element_start = true;
            } else if !b.is_ascii_whitespace() {
                break;
            }
            self.pos += 1;
        }
        if self.pos == bytes.len() {
            return None;
        }

        let start = self.pos;
        let name_end = match self.name_end {
            Some((from, end)) if (from..=end).contains(&start) => end,
            _ => {
                let end = self.seek(start, |b| b == b'=' || b.is_ascii_whitespace());
                self.name_end = Some((start, end));
                end
            }
        };
        let followed_by_space = matches!(bytes.get(name_end), Some(b' ' | b'\t'));
        let equals = match self.name_equals {
            Some((end, equals)) if end == name_end => equals,
            _ => {
                let equals = self.seek(name_end, |b| !b.is_ascii_whitespace());
                self.name_equals = Some((name_end, equals));
                equals
            }
        };

        if bytes.get(equals) == Some(&b'=') && !(at_value_start && followed_by_space) {
            let name = &self.input[start..name_end];
            self.pos = equals + 1;
            return Some(Token::Param(name, self.value()));
        }

        // Not a param, so the word also ends at a comma.
        let word_end = bytes[start..name_end]
            .iter()
            .position(|&b| b == b',')
            .map_or(name_end, |offset| start + offset);
        let word = &self.input[start..word_end];
        self.pos = word_end;
        let is_scheme = element_start && matches!(bytes.get(word_end), Some(b' ' | b'\t'));
        Some(if is_scheme {
            Token::Scheme(word)
        } else {
            Token::Word
        })
    }

    /// Reads a param value: a quoted-string, or the text up to `,` or
    /// whitespace. The flag is set when a lone surrogate escape was replaced.
    fn value(&mut self) -> Result<(Cow<'a, str>, bool), &'static str> {
        let bytes = self.bytes();
        let start = self.seek(self.pos, |b| !b.is_ascii_whitespace());
        if bytes.get(start) != Some(&b'"') {
            self.pos = self.seek(start, |b| b == b',' || b.is_ascii_whitespace());
            return Ok((Cow::Borrowed(&self.input[start..self.pos]), false));
        }
        let mut lossy = false;

        let content_start = start + 1;
        let mut unescaped: Option<String> = None;
        let mut segment_start = content_start;
        let mut i = content_start;
        loop {
            match bytes.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    let out = unescaped.get_or_insert_with(String::new);
                    out.push_str(&self.input[segment_start..i]);
                    i += 1;
                    if let Some((decoded, next)) = unicode_escape(self.input, i) {
                        lossy |= decoded == char::REPLACEMENT_CHARACTER
                            && !self.input[i..next].eq_ignore_ascii_case("ufffd");
                        out.push(decoded);
                        i = next;
                    } else if let Some(escaped) = self.input[i..].chars().next() {
                        out.push(escaped);
                        i += escaped.len_utf8();
                    }
                    segment_start = i;
                }
                Some(_) => i += 1,
                None => {
                    self.pos = bytes.len();
                    return Err("unterminated quoted-string");
                }
            }
        }
        self.pos = i + 1;
        let tail = &self.input[segment_start..i];
        let value = match unescaped {
            None => Cow::Borrowed(tail),
            Some(mut out) => {
                out.push_str(tail);
                Cow::Owned(out)
            }
        };
        Ok((value, lossy))
    }
}

/// Decodes `uXXXX` (after the backslash), joining a UTF-16 surrogate pair
/// written as two escapes; a lone surrogate becomes U+FFFD.
fn unicode_escape(input: &str, at: usize) -> Option<(char, usize)> {
    let (unit, next) = escaped_code_unit(input, at)?;
    if !(0xD800..=0xDFFF).contains(&unit) {
        return char::from_u32(u32::from(unit)).map(|c| (c, next));
    }
    if (0xD800..=0xDBFF).contains(&unit)
        && input.as_bytes().get(next) == Some(&b'\\')
        && let Some((low, after)) = escaped_code_unit(input, next + 1)
        && (0xDC00..=0xDFFF).contains(&low)
    {
        let code = 0x1_0000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
        return char::from_u32(code).map(|c| (c, after));
    }
    Some((char::REPLACEMENT_CHARACTER, next))
}

fn escaped_code_unit(input: &str, at: usize) -> Option<(u16, usize)> {
    if input.as_bytes().get(at) != Some(&b'u') {
        return None;
    }
    let digits = input.get(at + 1..at + 5)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16)
        .ok()
        .map(|unit| (unit, at + 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &RawChallenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn splits_several_challenges_and_schemes_in_one_value() {
        let value =
            r#"Bearer realm="api", Payment id="a", method=tempo, Payment id="b",method="stripe""#;
        let challenges = split_challenges(value);
        assert_eq!(challenges.len(), 3);
        assert_eq!(challenges[0].scheme, "Bearer");
        assert_eq!(params(&challenges[1]), [("id", "a"), ("method", "tempo")]);
        assert_eq!(params(&challenges[2]), [("id", "b"), ("method", "stripe")]);
    }

    #[test]
    fn unescapes_quoted_strings_and_keeps_commas_inside() {
        let value = r#"Payment description="say \"hi\", then \\ pay \u00e9", id = x"#;
        let c = &split_challenges(value)[0];
        assert_eq!(c.param("description"), Some("say \"hi\", then \\ pay é"));
        assert_eq!(c.param("ID"), Some("x"));
    }

    #[test]
    fn token68_ends_the_params_of_its_challenge() {
        let c = split_challenges("Payment abc, id=x");
        assert_eq!(c.len(), 1);
        assert!(c[0].params.is_empty());
        let c = split_challenges("Negotiate abc==, Payment id=x ");
        assert_eq!(c[1].param("id"), Some("x"));
    }

    #[test]
    fn unterminated_quote_is_reported_and_ends_the_value() {
        let c = split_challenges(r#"Payment id="x", realm="open, Payment id=y"#);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0].syntax_error,
            Some(("realm".into(), "unterminated quoted-string".into()))
        );
    }

    #[test]
    fn stray_words_and_lone_surrogates_are_flagged() {
        let c = &split_challenges("Payment realm=r, id=ch 1, method=stripe")[0];
        assert_eq!(c.stray_word_after.as_deref(), Some("id"));
        assert_eq!(
            c.param("method"),
            None,
            "params after the word are not read"
        );
        let c = &split_challenges(r#"Payment id="ch\ud800x", realm=r"#)[0];
        assert_eq!(c.syntax_error.as_ref().map(|e| e.0.as_str()), Some("id"));
        let c = &split_challenges(r#"Payment id="a\ud83d\ude00b\ufffd""#)[0];
        assert_eq!(c.syntax_error, None);
        assert_eq!(c.param("id"), Some("a\u{1F600}b\u{FFFD}"));
    }

    #[test]
    fn finds_duplicates_case_insensitively() {
        let c = &split_challenges("Payment id=a, ID=b")[0];
        assert_eq!(c.duplicate_param(), Some("ID"));
    }

    #[test]
    fn latin1_bytes_decode_to_their_code_points() {
        assert_eq!(decode_field_value(b"caf\xe9"), "café");
        assert_eq!(decode_field_value(b"plain"), "plain");
    }
}
