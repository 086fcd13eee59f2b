//! Draft -02 header merchants, fault knobs (redirects after the first 402, a
//! changed refreshed challenge, a refused payer) and the credential ledger.

mod common;

use common::Env;
use mock_merchant::{Change, Knobs, LedgerEntry, Redirect, Target};
use mpp_wire::StripeChallenge;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The received credentials of the ledger: `(header, url)`.
fn credentials(entries: &[LedgerEntry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|e| e.event == "credential_received")
        .map(|e| {
            (
                e.header.clone().unwrap_or_default(),
                e.url.clone().unwrap_or_default(),
            )
        })
        .collect()
}

async fn put_knobs(env: &Env, merchant: &str, knobs: Value) -> (StatusCode, Value) {
    let answer = env
        .send(
            Method::PUT,
            &format!(
                "{}/__control/merchants/{merchant}/knobs",
                env.merchant.base_url()
            ),
            &[],
            Some(&knobs.to_string()),
        )
        .await;
    (answer.status, answer.json())
}

/// Every pinned term of a stripe challenge, as a client compares them.
fn terms(c: &StripeChallenge) -> Value {
    json!({
        "amount": c.amount(),
        "currency": c.currency(),
        "network_id": c.network_id,
        "intent": c.intent,
        "realm": c.realm,
        "payment_method_types": c.request_json["methodDetails"]["paymentMethodTypes"],
        "digest": c.digest,
        "opaque": c.challenge.opaque.as_ref().map(|o| o.raw().to_owned()),
        "header": c.challenge.header,
        "description": c.description,
    })
}

#[tokio::test]
async fn the_unsupported_header_merchant_names_x_payment_and_records_what_arrives() {
    let env = Env::start().await;
    let url = env.merchant.url("unsupported-header", "/report");
    let probe = env.get(&url).await;
    probe.assert_402("payment-required");
    assert!(probe.www_authenticate()[0].contains(r#"header="X-Payment""#));
    let challenge = probe.stripe_challenge();
    let refusal = challenge.credential_field().unwrap_err();
    assert_eq!(refusal.code(), "unsupported_credential_header");
    assert!(credentials(&env.merchant.ledger()).is_empty());

    // A client that sends it anyway: recorded with its field and URL, not paid.
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    let answer = env
        .send(Method::GET, &url, &[("x-payment", &credential)], None)
        .await;
    assert_eq!(
        answer.status,
        StatusCode::PAYMENT_REQUIRED,
        "{}",
        answer.text
    );
    assert_eq!(
        credentials(&env.merchant.ledger_of("unsupported-header")),
        [("x-payment".to_owned(), url.clone())]
    );
    assert_eq!(env.link_events(&spt).await, ["issued"]);
}

#[tokio::test]
async fn every_credential_is_recorded_with_its_header_and_url_wherever_it_lands() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    assert!(url.starts_with("http://127.0.0.1:"));
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    // A free route and another origin see credentials too.
    let free = env.merchant.url("api", "/free");
    env.get_paid(&free, &credential).await;
    let elsewhere = format!("{}/m/plain/ok", env.merchant.cross_origin());
    env.get_paid(&elsewhere, &credential).await;
    let paid = env.get_paid(&url, &credential).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);

    let ledger = env.merchant.ledger();
    assert_eq!(
        credentials(&ledger),
        [
            ("authorization".to_owned(), free),
            ("authorization".to_owned(), elsewhere),
            ("authorization".to_owned(), url.clone()),
        ]
    );
    let received = ledger
        .iter()
        .find(|e| e.event == "credential_received")
        .unwrap();
    assert_eq!(
        received.challenge_id.as_deref(),
        Some(challenge.id.as_str())
    );
    assert_eq!(received.spt.as_deref(), Some(spt.as_str()));
}

#[tokio::test]
async fn a_redirect_knob_on_the_re_probe_answers_3xx_after_the_first_402() {
    let env = Env::start().await;
    let (status, knobs) = put_knobs(
        &env,
        "api",
        json!({"redirect_reprobe": {"to": "cross-origin", "status": 302}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{knobs}");
    assert_eq!(knobs["redirect_reprobe"]["to"], "cross-origin");
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;

    let reprobe = env.get(&url).await;
    assert_eq!(reprobe.status, StatusCode::FOUND);
    let landing = format!("{}/m/redirects/landing", env.merchant.cross_origin());
    assert_eq!(reprobe.header("location"), Some(landing.as_str()));
    // The landing answers a 402 of the same price (it is a trap, not a dead end).
    let there = env.get(&landing).await;
    there.assert_402("payment-required");
    assert_eq!(there.stripe_challenge().amount(), "2500");

    // The paid retry itself is not redirected by this knob.
    let spt = env.spt().await;
    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    let redirected: Vec<_> = env
        .merchant
        .ledger_of("api")
        .into_iter()
        .filter(|e| e.event == "redirected")
        .collect();
    assert_eq!(redirected.len(), 1);
    assert_eq!(redirected[0].url.as_deref(), Some(url.as_str()));
}

#[tokio::test]
async fn a_redirect_knob_on_the_paid_retry_settles_nothing() {
    let env = Env::start().await;
    env.merchant.set_knobs(
        "api",
        Knobs {
            redirect_paid_retry: Some(Redirect {
                to: Target::SameOrigin,
                status: None,
            }),
            ..Knobs::default()
        },
    );
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    // The re-probe is answered as usual.
    env.get(&url).await.assert_402("payment-required");
    let spt = env.spt().await;
    let retry = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(retry.status, StatusCode::TEMPORARY_REDIRECT);
    let landing = format!("{}/m/redirects/landing", env.merchant.base_url());
    assert_eq!(retry.header("location"), Some(landing.as_str()));
    assert_eq!(env.link_events(&spt).await, ["issued"]);
    assert_eq!(
        credentials(&env.merchant.ledger()),
        [("authorization".to_owned(), url)]
    );
}

#[tokio::test]
async fn a_changed_refreshed_challenge_changes_exactly_its_one_field() {
    let env = Env::start().await;
    let changed_field = |change: Change| match change {
        Change::Amount => Some("amount"),
        Change::Currency => Some("currency"),
        Change::NetworkId => Some("network_id"),
        Change::Intent => Some("intent"),
        Change::Realm => Some("realm"),
        Change::PaymentMethodTypes => Some("payment_method_types"),
        Change::Digest => Some("digest"),
        Change::Opaque => Some("opaque"),
        Change::Header => Some("header"),
        Change::Description => Some("description"),
        Change::Benign | Change::KeyOrder => None,
    };
    for change in Change::ALL {
        env.merchant.reset();
        let name = serde_json::to_value(change).unwrap();
        let (status, _) = put_knobs(&env, "api", json!({ "change_refreshed": name })).await;
        assert_eq!(status, StatusCode::OK);
        let url = env.merchant.url("api", "/report");
        let first = env.challenge(&url).await;
        let refreshed = env.challenge(&url).await;
        assert_ne!(first.id, refreshed.id, "{name}");
        assert_ne!(first.expires, refreshed.expires, "{name}");
        let (before, after) = (terms(&first), terms(&refreshed));
        let differing: Vec<&String> = before
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| before[k.as_str()] != after[k.as_str()])
            .collect();
        match changed_field(change) {
            Some(field) => assert_eq!(differing, [field], "{name}"),
            None => assert!(differing.is_empty(), "{name}: {differing:?}"),
        }
        let raw_differs = first.challenge.request.raw() != refreshed.challenge.request.raw();
        assert_eq!(
            raw_differs,
            change == Change::KeyOrder || {
                matches!(
                    change,
                    Change::Amount
                        | Change::Currency
                        | Change::NetworkId
                        | Change::PaymentMethodTypes
                        | Change::Description
                )
            },
            "{name}"
        );
        // The third challenge keeps changing the same field only.
        let third = env.challenge(&url).await;
        assert_eq!(terms(&third)["realm"], after["realm"], "{name}");
    }
}

#[tokio::test]
async fn the_changed_header_is_honoured_in_the_field_it_selects() {
    let env = Env::start().await;
    env.merchant.set_knobs(
        "api",
        Knobs {
            change_refreshed: Some(Change::Header),
            ..Knobs::default()
        },
    );
    let url = env.merchant.url("api", "/report");
    env.challenge(&url).await;
    let refreshed = env.challenge(&url).await;
    assert_eq!(
        refreshed.credential_field(),
        Ok(mpp_wire::CredentialHeader::PaymentAuthorization)
    );
    let spt = env.spt().await;
    let credential = Env::credential(&refreshed, &spt);
    // In the wrong field it does not satisfy the challenge.
    let wrong = env.get_paid(&url, &credential).await;
    wrong.assert_402("invalid-challenge");
    let paid = env
        .send(
            Method::GET,
            &url,
            &[("payment-authorization", &credential)],
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
}

#[tokio::test]
async fn a_refused_payer_gets_403_without_a_challenge_and_keeps_the_spt() {
    let env = Env::start().await;
    let (status, _) = put_knobs(
        &env,
        "api",
        json!({"refuse_payers": ["did:example:blocked"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let mut credential = challenge.spt_credential(&spt);
    credential.source = Some("did:example:blocked".to_owned());
    let refused = env
        .get_paid(&url, &mpp_wire::format_credential(&credential))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused.www_authenticate().is_empty(),
        "no challenge on a 403"
    );
    assert!(refused.header("payment-receipt").is_none());
    assert_eq!(refused.json()["status"], 403);
    assert_eq!(env.link_events(&spt).await, ["issued"]);
    let rejected = env.merchant.ledger_of("api");
    assert_eq!(
        rejected.last().unwrap().problem.as_deref(),
        Some("forbidden")
    );

    // Another payer (no source at all) is served; "*" refuses every payer.
    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    put_knobs(&env, "api", json!({"refuse_payers": ["*"]})).await;
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let answer = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_knob_control_api_validates_and_resets() {
    let env = Env::start().await;
    let base = env.merchant.base_url().to_owned();
    let (status, body) = put_knobs(&env, "nobody", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = put_knobs(&env, "api", json!({"redirect_reprobe": {"to": "moon"}})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("knobs"));
    let (status, body) = put_knobs(
        &env,
        "api",
        json!({"redirect_paid_retry": {"to": "same-origin", "status": 200}}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = put_knobs(&env, "api", json!({"unknown_knob": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Knobs are an object: serde alone would read `[null, null]` as "every knob off"
    // (found by schemathesis).
    let (status, body) = put_knobs(&env, "api", json!([null, null])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    put_knobs(
        &env,
        "changing-terms",
        json!({"change_refreshed": "currency"}),
    )
    .await;
    let all = env.get(&format!("{base}/__control/knobs")).await.json();
    assert_eq!(
        all["data"]["changing-terms"]["change_refreshed"],
        "currency"
    );
    let cleared = env
        .send(
            Method::DELETE,
            &format!("{base}/__control/merchants/changing-terms/knobs"),
            &[],
            None,
        )
        .await;
    assert_eq!(cleared.json(), json!({}));
    put_knobs(&env, "api", json!({"refuse_payers": ["*"]})).await;
    env.merchant.reset();
    assert_eq!(env.merchant.knobs_of("api"), Knobs::default());
}
