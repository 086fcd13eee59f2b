//! The `POST /v1/payment_intents` requests the published MPP server SDKs send,
//! as recorded by interop/run.sh against mock-link (docs/interop.md): mppx 0.11
//! through stripe-node, pympp 0.16 through stripe-python, and the `mpp` crate
//! 0.18 with its own reqwest form. Each must redeem once, replay under its
//! idempotency key with `Idempotent-Replayed: true` (which every SDK reads as a
//! replay), and be refused `token_already_used` under another key. These pin
//! in-process what the interop step checks against the real SDKs, so a change
//! to mock-link's Stripe subset fails here first.

mod common;

use common::{read, start};
use mock_link::{MockLink, SellerClient};
use reqwest::{RequestBuilder, StatusCode};

const SECRET_KEY: &str = "sk_test_mock_merchant";

/// How an SDK authenticates, which version it names and which form it sends.
struct Shape {
    sdk: &'static str,
    bearer: bool,
    stripe_version: Option<&'static str>,
    fields: &'static [(&'static str, &'static str)],
}

const METADATA: &[(&str, &str)] = &[
    ("metadata[machine_payment]", "true"),
    ("metadata[mpp_challenge_id]", "ch_Xy-9"),
    ("metadata[mpp_intent]", "charge"),
];

const SHAPES: &[Shape] = &[
    Shape {
        sdk: "mppx 0.11 / stripe-node 23",
        bearer: true,
        stripe_version: Some("2026-07-29.preview"),
        fields: &[
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("automatic_payment_methods[enabled]", "true"),
            ("metadata[mpp_sdk]", "mppx@0.11.0"),
        ],
    },
    Shape {
        sdk: "pympp 0.16 / stripe-python 16",
        bearer: true,
        stripe_version: Some("2026-07-29.preview"),
        fields: &[
            ("payment_method_types[0]", "card"),
            ("metadata[mpp_sdk]", "pympp/0.16.0"),
        ],
    },
    Shape {
        sdk: "mpp crate 0.18",
        bearer: false,
        stripe_version: None,
        fields: &[
            ("automatic_payment_methods[allow_redirects]", "never"),
            ("automatic_payment_methods[enabled]", "true"),
            ("metadata[mpp_sdk]", "mpp-rs/0.18.2"),
        ],
    },
];

fn request(link: &MockLink, shape: &Shape, spt: &str, idempotency_key: &str) -> RequestBuilder {
    let mut form: Vec<(&str, &str)> = vec![
        ("amount", "2500"),
        ("confirm", "true"),
        ("currency", "usd"),
        ("shared_payment_granted_token", spt),
    ];
    form.extend_from_slice(METADATA);
    form.extend_from_slice(shape.fields);
    let builder = reqwest::Client::new()
        .post(format!("{}/v1/payment_intents", link.base_url()))
        .header("idempotency-key", idempotency_key)
        .form(&form);
    let builder = if shape.bearer {
        builder.bearer_auth(SECRET_KEY)
    } else {
        builder.basic_auth(SECRET_KEY, Some(""))
    };
    match shape.stripe_version {
        Some(version) => builder.header("stripe-version", version),
        None => builder,
    }
}

#[tokio::test]
async fn each_sdks_request_redeems_once_and_replays_under_its_idempotency_key() {
    let link = start().await;
    let seller = SellerClient::new(link.base_url(), SECRET_KEY);
    for shape in SHAPES {
        let sdk = shape.sdk;
        let spt = seller.mint_test_token(2500, "usd").await.unwrap();
        let key = format!("mpp_ch_Xy-9_{spt}");

        let first = request(&link, shape, &spt, &key).send().await.unwrap();
        let version = first.headers().get("stripe-version").cloned();
        assert!(
            first.headers().get("idempotent-replayed").is_none(),
            "{sdk}"
        );
        let (status, intent) = read(first).await;
        assert_eq!(status, StatusCode::OK, "{sdk}: {intent}");
        assert_eq!(intent["status"], "succeeded", "{sdk}");
        assert_eq!(intent["amount"], 2500, "{sdk}");
        assert_eq!(intent["metadata"]["mpp_intent"], "charge", "{sdk}");
        if let Some(sent) = shape.stripe_version {
            assert_eq!(version.unwrap(), sent, "{sdk}: the version is echoed");
        }

        let replay = request(&link, shape, &spt, &key).send().await.unwrap();
        assert_eq!(replay.headers()["idempotent-replayed"], "true", "{sdk}");
        let (status, again) = read(replay).await;
        assert_eq!(status, StatusCode::OK, "{sdk}");
        assert_eq!(again["id"], intent["id"], "{sdk}");

        let other_challenge = format!("mpp_ch_other_{spt}");
        let (status, refused) = read(
            request(&link, shape, &spt, &other_challenge)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sdk}: {refused}");
        assert_eq!(refused["error"]["code"], "token_already_used", "{sdk}");
    }
    let ledger = link.control().ledger().await.unwrap();
    let redeemed = ledger.iter().filter(|e| e.event == "redeemed").count();
    assert_eq!(redeemed, SHAPES.len(), "one redemption per SDK");
}
