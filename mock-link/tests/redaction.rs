//! D3: the request log redacts secrets by what they are, in every position a client can put
//! them (header, query, JSON body, form body, path), also when glued to other text.

mod common;

use common::start;
use serde_json::{Value, json};

/// Every secret kind: (name, the text a client sends, what must not show in the log).
const SECRETS: &[(&str, &str, &str)] = &[
    (
        "access token",
        "link_at_0a1b2c3d4e5f6a7b",
        "0a1b2c3d4e5f6a7b",
    ),
    (
        "refresh token",
        "link_rt_1b2c3d4e5f6a7b8c",
        "1b2c3d4e5f6a7b8c",
    ),
    ("device code", "ldc_2c3d4e5f6a7b8c9d", "2c3d4e5f6a7b8c9d"),
    ("spt", "spt_3d4e5f6a7b8c9d0e", "3d4e5f6a7b8c9d0e"),
    ("link pay token", "lpt_4e5f6a7b8c9d0e1f", "4e5f6a7b8c9d0e1f"),
    (
        "test secret key",
        "sk_test_5f6a7b8c9d0e1f2a",
        "5f6a7b8c9d0e1f2a",
    ),
    (
        "live secret key",
        "sk_live_6a7b8c9d0e1f2a3b",
        "6a7b8c9d0e1f2a3b",
    ),
    ("token with a dash", "spt_7b8c9d0e-1f2a3b4c", "1f2a3b4c"),
    ("card number", "4000056655665556", "65566555"),
    (
        "card number with spaces",
        "4000 0566 5566 5556",
        "5566 5556",
    ),
    (
        "card number with dashes",
        "4000-0566-5566-5556",
        "5566-5556",
    ),
    ("cvc", "cvc: 7391", "7391"),
    ("cvv", "CVV=7391", "7391"),
];

/// How a secret is glued into the surrounding text.
const GLUES: &[(&str, &str)] = &[
    ("alone", ""),
    ("after _", "ch_x_"),
    ("after letters", "abc"),
];

#[derive(Debug, Clone, Copy)]
enum Position {
    Header,
    Idempotency,
    Query,
    Json,
    Form,
    Path,
}

const POSITIONS: &[Position] = &[
    Position::Header,
    Position::Idempotency,
    Position::Query,
    Position::Json,
    Position::Form,
    Position::Path,
];

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || byte == b'_' {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Sends `text` in `position` to a logged path and answers what the log kept of that position.
async fn logged(link: &mock_link::MockLink, position: Position, text: &str) -> String {
    let http = reqwest::Client::new();
    let base = link.base_url();
    let request = match position {
        Position::Header => http
            .post(format!("{base}/device/code"))
            .header("x-note", text),
        Position::Idempotency => http
            .post(format!("{base}/v1/payment_intents"))
            .header("idempotency-key", text),
        Position::Query => http.get(format!(
            "{base}/spend_requests?note={}",
            percent_encode(text)
        )),
        Position::Json => http
            .post(format!("{base}/spend_requests"))
            .json(&json!({"context": {"note": [text]}})),
        Position::Form => http
            .post(format!("{base}/device/code"))
            .form(&[("client_hint", text)]),
        Position::Path => http.get(format!("{base}/spend_requests/{}", percent_encode(text))),
    };
    request.send().await.expect("send");
    let log = link.control().received_requests().await.expect("log");
    let entry = log.last().expect("one entry").clone();
    // What the log shows at that position; a part it does not have shows as `null`.
    let absent = || "null".to_owned();
    let header = |name: &str| entry.headers.get(name).cloned().unwrap_or_else(absent);
    match position {
        Position::Header => header("x-note"),
        Position::Idempotency => header("idempotency-key"),
        Position::Query => entry.query.clone().unwrap_or_else(absent),
        Position::Json | Position::Form => match &entry.body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        },
        Position::Path => entry.path.clone(),
    }
}

#[tokio::test]
async fn no_secret_kind_leaks_in_any_position_or_glued_to_any_text() {
    let link = start().await;
    let mut leaks = Vec::new();
    for (kind, secret, marker) in SECRETS {
        for (glue_name, glue) in GLUES {
            for position in POSITIONS {
                let text = format!("{glue}{secret}");
                let shown = logged(&link, *position, &text).await;
                if shown.contains(marker) || !shown.contains("[REDACTED]") {
                    leaks.push(format!("{kind} {glue_name} in {position:?}: {shown}"));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "leaked:\n{}", leaks.join("\n"));
}

#[tokio::test]
async fn secret_fields_are_redacted_by_name_in_json_form_and_query() {
    let link = start().await;
    let http = reqwest::Client::new();
    let base = link.base_url();
    http.post(format!("{base}/v1/payment_intents"))
        .form(&[
            ("payment_method_data[card][cvc]", "7391"),
            ("payment_method_data[card][number]", "4242"),
            ("card[cvv]", "7392"),
            ("amount", "2500"),
        ])
        .send()
        .await
        .unwrap();
    http.post(format!("{base}/spend_requests"))
        .json(&json!({"card": {"cvc": "7393", "CVC": 7394, "number": "4242"}, "amount": 2500}))
        .send()
        .await
        .unwrap();
    http.get(format!(
        "{base}/spend_requests?card%5Bcvc%5D=7395&token=opaque&limit=3"
    ))
    .send()
    .await
    .unwrap();
    http.post(format!("{base}/device/code"))
        .header("x-card-cvc", "7396")
        .send()
        .await
        .unwrap();
    let log = link.control().received_requests().await.unwrap();
    let everything = serde_json::to_string(&log).unwrap();
    for cvc in ["7391", "7392", "7393", "7394", "7395", "7396", "opaque"] {
        assert!(!everything.contains(cvc), "{cvc} leaked: {everything}");
    }
    assert_eq!(log[0].body["amount"], "2500");
    assert_eq!(log[1].body["amount"], 2500);
    assert!(log[2].query.as_deref().unwrap().contains("limit=3"));
}
