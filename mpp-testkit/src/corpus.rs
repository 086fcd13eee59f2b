//! The committed, language-neutral corpus of decoder cases
//! (`mpp-testkit/corpus/decode.jsonl`): every edge case listed in the spec
//! summary, each with its expected outcome, so that clients in any language
//! can check their decoder without Rust.
//!
//! One JSON object per line:
//! `{"name", "about", "headers": ["<field value>", ...], "expect": {...}}`.
//! A case whose header holds bytes that are not UTF-8 gives them as
//! `"headers_base64"` (standard base64 of each field value's bytes) instead.
//! `expect` is `{"outcome": "accept", "id", "network_id", "intent", "amount",
//! "currency", "expired"?, "credential_header"?,
//! "unsupported_credential_header"?}` or `{"outcome": "reject",
//! "code", "field"?}`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::mutations::{Expectation, Mutation, canonical_spec, plain_style};
use crate::render::{Case, Challenge, Style, render_challenge, render_fields};
use crate::strategies::encode_request;

/// One corpus case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusCase {
    /// Stable name.
    pub name: String,
    /// What it checks.
    pub about: String,
    /// The field values, when they are UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// The field values as standard base64, when they are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_base64: Option<Vec<String>>,
    /// What a decoder must do.
    pub expect: Expectation,
}

impl CorpusCase {
    fn new(name: &str, about: &str, values: Vec<Vec<u8>>, expect: Expectation) -> Self {
        let utf8: Option<Vec<String>> = values
            .iter()
            .map(|v| String::from_utf8(v.clone()).ok().filter(|s| s.is_ascii()))
            .collect();
        let headers_base64 = match utf8 {
            Some(_) => None,
            None => Some(values.iter().map(|v| STANDARD.encode(v)).collect()),
        };
        Self {
            name: name.to_owned(),
            about: about.to_owned(),
            headers: utf8,
            headers_base64,
            expect,
        }
    }

    /// The field values as bytes.
    pub fn values(&self) -> Vec<Vec<u8>> {
        match (&self.headers, &self.headers_base64) {
            (Some(h), _) => h.iter().map(|v| v.as_bytes().to_vec()).collect(),
            (None, Some(b)) => b
                .iter()
                .map(|v| STANDARD.decode(v).unwrap_or_default())
                .collect(),
            (None, None) => Vec::new(),
        }
    }
}

fn text(values: &[String]) -> Vec<Vec<u8>> {
    values.iter().map(|v| v.as_bytes().to_vec()).collect()
}

fn one(value: String) -> Vec<Vec<u8>> {
    vec![value.into_bytes()]
}

fn tempo() -> Challenge {
    let mut c = Challenge::new(
        "Payment",
        [
            ("id", "tEmPo0000000000000000000000000000000000000a"),
            ("realm", "api.shop.example"),
            ("method", "tempo"),
            ("intent", "charge"),
        ],
    );
    c.set(
        "request",
        encode_request(&json!({"amount": "2500000", "currency": "0x20c0000000000000000000000000000000000000",
            "recipient": "0x742d35cc6634c0532925a3b844bc9e7595f8fe00", "methodDetails": {"chainId": 4217}})),
    );
    c
}

fn lightning() -> Challenge {
    let mut c = Challenge::new(
        "Payment",
        [
            ("id", "LiGhTnInG000000000000000000000000000000000b"),
            ("realm", "api.shop.example"),
            ("method", "lightning"),
            ("intent", "charge"),
        ],
    );
    c.set(
        "request",
        encode_request(&json!({"amount": "2500", "currency": "BTC", "methodDetails": {"invoice": "lnbc25u1pexample"}})),
    );
    c
}

fn bearer() -> Challenge {
    Challenge::new(
        "Bearer",
        [("realm", "api.shop.example"), ("error", "invalid_token")],
    )
}

/// Every corpus case, in a stable order.
pub fn cases() -> Vec<CorpusCase> {
    let spec = canonical_spec();
    let accept = Expectation::accept(&spec);
    let stripe = spec.challenge();
    let style = plain_style();
    let mut cases = vec![
        CorpusCase::new(
            "single_stripe_challenge",
            "one stripe charge challenge alone",
            one(render_challenge(&stripe, &style)),
            accept.clone(),
        ),
        CorpusCase::new(
            "several_challenges_one_field",
            "stripe among tempo and lightning, comma-joined in one field value",
            text(&render_fields(
                &[tempo(), stripe.clone(), lightning()],
                &[false; 3],
                &style,
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "several_fields",
            "one challenge per WWW-Authenticate field, stripe last",
            text(&render_fields(
                &[tempo(), lightning(), stripe.clone()],
                &[true; 3],
                &style,
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "other_schemes_mixed_in",
            "Bearer and Negotiate challenges before and after the Payment ones",
            text(&[
                format!(
                    "{}, {}",
                    render_challenge(&bearer(), &style),
                    render_challenge(&tempo(), &style)
                ),
                format!(
                    "Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXag==, {}",
                    render_challenge(&stripe, &style)
                ),
            ]),
            accept.clone(),
        ),
        CorpusCase::new(
            "escaped_quotes_and_commas",
            "a description with escaped quotes, a backslash and commas inside a quoted-string",
            one(render_challenge(
                &with(&stripe, "description", "say \"hi\", then \\ pay, ok"),
                &style,
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "token_values",
            "every value that is a token written without quotes",
            one(render_challenge(
                &stripe,
                &Style {
                    bare_tokens: true,
                    ..plain_style()
                },
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "mixed_case_names",
            "scheme and param names in upper and mixed case",
            text(&render_fields(
                &[tempo(), stripe.clone()],
                &[false; 2],
                &Style {
                    scheme_case: Case::Upper,
                    name_case: Case::Title,
                    ..plain_style()
                },
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "whitespace_around_separators",
            "spaces and tabs around = and , and empty list elements",
            text(&render_fields(
                &[bearer(), stripe.clone()],
                &[false; 2],
                &Style {
                    before_eq: " ",
                    after_eq: "\t",
                    comma: " ,  , ",
                    ..plain_style()
                },
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "no_stripe_challenge",
            "a 402 offering only tempo and lightning: Link cannot pay it",
            text(&render_fields(&[tempo(), lightning()], &[false; 2], &style)),
            Expectation::reject("no_stripe_challenge", None),
        ),
        CorpusCase::new(
            "stripe_subscription_only",
            "stripe offered only with an intent Link cannot pay",
            one(render_challenge(
                &with(&stripe, "intent", "subscription"),
                &style,
            )),
            Expectation::reject("no_stripe_challenge", None),
        ),
        CorpusCase::new(
            "uppercase_method_value",
            "method=\"Stripe\" is not a valid method name (lowercase only) and is not selected",
            one(render_challenge(&with(&stripe, "method", "Stripe"), &style)),
            Expectation::reject("no_stripe_challenge", None),
        ),
        CorpusCase::new(
            "no_payment_challenge",
            "only other schemes",
            one(render_challenge(&bearer(), &style)),
            Expectation::reject("no_payment_challenge", None),
        ),
        CorpusCase::new(
            "session_intent",
            "stripe with intent session is payable too",
            one(render_challenge(
                &with(&stripe, "intent", "session"),
                &style,
            )),
            with_intent(&accept, "session"),
        ),
        CorpusCase::new(
            "malformed_distractor_before_stripe",
            "a tempo challenge whose request is not JSON comes first; the stripe one still decodes",
            text(&render_fields(
                &[with(&tempo(), "request", "%%%"), stripe.clone()],
                &[false; 2],
                &style,
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "first_stripe_wins_even_if_malformed",
            "the first stripe challenge is malformed and a valid one follows: the first is reported",
            text(&render_fields(
                &[with(&stripe, "request", "e30"), stripe.clone()],
                &[false; 2],
                &style,
            )),
            Expectation::reject("invalid_field", Some("request.amount")),
        ),
        CorpusCase::new(
            "unterminated_quoted_string",
            "the stripe challenge's last quoted-string never closes",
            one(format!(
                "{}, opaque=\"eyJ4Ijoi",
                render_challenge(&stripe, &style)
            )),
            Expectation::reject("invalid_field", Some("opaque")),
        ),
        CorpusCase::new(
            "stray_word_in_unquoted_value",
            "id=ch 1: a value with a space that lost its quotes; the params after it would be dropped",
            one(format!(
                "{}, id=ch 1",
                render_challenge(&without(&stripe, "id"), &style)
            )),
            Expectation::reject("invalid_field", Some("id")),
        ),
        CorpusCase::new(
            "lone_surrogate_escape",
            "a \\ud800 escape (mppx's \\u extension) with no low surrogate after it, inside the id",
            one(render_challenge(&stripe, &style).replacen("id=\"", "id=\"ch\\ud800", 1)),
            Expectation::reject("invalid_field", Some("id")),
        ),
        CorpusCase::new(
            "latin1_byte_in_description",
            "a description holding a raw ISO-8859-1 byte (0xE9), not valid UTF-8",
            vec![
                render_challenge(&with(&stripe, "description", "caf@"), &style)
                    .into_bytes()
                    .into_iter()
                    .map(|b| if b == b'@' { 0xE9 } else { b })
                    .collect(),
            ],
            accept.clone(),
        ),
        CorpusCase::new(
            "invalid_utf8_in_distractor",
            "bytes that are not UTF-8 in another scheme's realm",
            vec![
                [
                    b"Bearer realm=\"\xff\xfe\x80\", ".to_vec(),
                    render_challenge(&stripe, &style).into_bytes(),
                ]
                .concat(),
            ],
            accept.clone(),
        ),
        CorpusCase::new(
            "header_too_large",
            "300 KiB of distractors: over the decoder's 256 KiB bound",
            one(vec![render_challenge(&tempo(), &style); 1200].join(", ")),
            Expectation::reject("too_large", None),
        ),
        CorpusCase::new(
            "many_distractors_64k",
            "64 KiB of distractor challenges before the stripe one",
            one(format!(
                "{}, {}",
                vec![render_challenge(&tempo(), &style); 250].join(", "),
                render_challenge(&stripe, &style)
            )),
            accept.clone(),
        ),
        CorpusCase::new(
            "credential_header_payment_authorization",
            "header=\"Payment-Authorization\" (draft -02): the credential goes in that field, echoing header",
            one(render_challenge(
                &with(&stripe, "header", "Payment-Authorization"),
                &style,
            )),
            with_header(&accept, "Payment-Authorization", false),
        ),
        CorpusCase::new(
            "credential_header_unsupported",
            "header=\"X-Payment\" is outside draft -02's allow-list: decodes, but must not be paid (no credential anywhere)",
            one(render_challenge(
                &with(&stripe, "header", "X-Payment"),
                &style,
            )),
            with_header(&accept, "X-Payment", true),
        ),
    ];
    for mutation in Mutation::ALL {
        let (challenge, expect) = mutation.apply(&spec);
        cases.push(CorpusCase::new(
            &format!("mutation_{}", mutation.name()),
            &format!("labelled mutation {}", mutation.name()),
            text(&render_fields(
                &[tempo(), challenge],
                &[false; 2],
                &plain_style(),
            )),
            expect,
        ));
    }
    cases
}

fn with_intent(expect: &Expectation, value: &str) -> Expectation {
    let mut expect = expect.clone();
    if let Expectation::Accept { intent, .. } = &mut expect {
        *intent = value.to_owned();
    }
    expect
}

fn with_header(expect: &Expectation, header: &str, unsupported: bool) -> Expectation {
    let mut expect = expect.clone();
    if let Expectation::Accept {
        credential_header,
        unsupported_credential_header,
        ..
    } = &mut expect
    {
        *credential_header = Some(header.to_owned());
        *unsupported_credential_header = unsupported;
    }
    expect
}

fn without(challenge: &Challenge, name: &str) -> Challenge {
    let mut c = challenge.clone();
    c.remove(name);
    c
}

fn with(challenge: &Challenge, name: &str, value: &str) -> Challenge {
    let mut c = challenge.clone();
    c.set(name, value);
    c
}

/// The corpus as JSON Lines.
pub fn to_jsonl(cases: &[CorpusCase]) -> String {
    let mut out = String::new();
    for case in cases {
        out.push_str(&serde_json::to_string(case).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Reads the corpus back.
pub fn from_jsonl(text: &str) -> Result<Vec<CorpusCase>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}
