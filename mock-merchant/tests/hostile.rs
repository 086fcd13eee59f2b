//! The hostile merchant: labelled mutations by name, a huge header, terminal
//! control sequences.

mod common;

use common::Env;
use mpp_testkit::mutations::{Expectation, Mutation};
use mpp_wire::{DecodeError, select_stripe_challenge};
use reqwest::StatusCode;

#[tokio::test]
async fn every_mutation_is_served_by_name_with_the_outcome_the_decoder_reaches() {
    let env = Env::start().await;
    let list = env
        .get(&env.merchant.url("hostile", "/mutations"))
        .await
        .json();
    let items = list["data"].as_array().unwrap();
    assert_eq!(items.len(), Mutation::ALL.len());
    for mutation in Mutation::ALL {
        let name = mutation.name();
        let answer = env
            .get(&env.merchant.url("hostile", &format!("/mutation/{name}")))
            .await;
        assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED, "{name}");
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let fields = answer.www_authenticate();
        assert_eq!(fields.len(), 1, "{name}: the header was served");
        let body = answer.json();
        assert_eq!(body["mutation"], name.as_str());
        let expected: Expectation = serde_json::from_value(body["expect"].clone()).unwrap();
        let decoded = select_stripe_challenge(&fields);
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(Expectation::of_decoded(&decoded, now), expected, "{name}");
        let listed = items.iter().find(|i| i["name"] == name.as_str()).unwrap();
        assert_eq!(listed["expect"], body["expect"], "{name}");
    }
    let unknown = env
        .get(&env.merchant.url("hostile", "/mutation/nope"))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.text.contains("missing_id"));
}

#[tokio::test]
async fn a_header_over_the_bound_is_too_large() {
    let env = Env::start().await;
    let answer = env.get(&env.merchant.url("hostile", "/huge-header")).await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    let fields = answer.www_authenticate();
    let len: usize = fields.iter().map(String::len).sum();
    assert!(len > mpp_wire::MAX_HEADER_BYTES, "{len}");
    assert!(matches!(
        select_stripe_challenge(&fields),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn control_sequences_reach_the_client_in_header_and_bodies() {
    let env = Env::start().await;
    let answer = env
        .get(&env.merchant.url("hostile", "/control-chars"))
        .await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    // JSON carries ESC escaped; a client that decodes `detail` and prints it gets the raw sequence.
    let detail = answer.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("\u{1b}[2J"), "ESC in the problem detail");
    let raw = answer.headers["x-merchant-message"].as_bytes();
    assert!(
        raw.windows(2).any(|w| w == [0xc2, 0x9b]),
        "C1 CSI in a header"
    );
    let challenge = answer.stripe_challenge();
    assert!(
        challenge
            .description
            .as_deref()
            .unwrap_or_default()
            .contains('\u{9b}'),
        "C1 CSI in the challenge description"
    );

    let ok = env
        .get(&env.merchant.url("hostile", "/control-chars-ok"))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(
        ok.text.contains("\u{1b}]8;;"),
        "OSC 8 hyperlink in the body"
    );
}

#[tokio::test]
async fn a_huge_body_and_many_fields_still_carry_a_readable_challenge() {
    let env = Env::start().await;
    let huge = env.get(&env.merchant.url("hostile", "/huge-body")).await;
    assert_eq!(huge.status, StatusCode::PAYMENT_REQUIRED);
    assert!(huge.text.len() > mock_merchant::limits::HUGE_BODY_BYTES);
    assert_eq!(
        huge.stripe_challenge().network_id,
        mock_merchant::DEFAULT_NETWORK_ID
    );

    let many = env.get(&env.merchant.url("hostile", "/many-fields")).await;
    let fields = many.www_authenticate();
    assert_eq!(fields.len(), mock_merchant::limits::MANY_FIELDS);
    assert_eq!(
        many.stripe_challenge().network_id,
        mock_merchant::DEFAULT_NETWORK_ID
    );
}
