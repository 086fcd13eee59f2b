//! The paid API merchant (`api`): probe, paid retry, and every verification outcome.

mod common;

use std::time::Duration;

use common::{Answer, Env};
use mpp_wire::mpp::{self, PaymentCredential};
use mpp_wire::{format_credential, parse_receipt};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn assert_paid(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("private"));
    let receipt = parse_receipt(answer.header("payment-receipt").expect("receipt")).unwrap();
    assert!(receipt.is_success());
    assert_eq!(receipt.method.as_str(), "stripe");
    assert!(
        receipt.reference.starts_with("pi_"),
        "{}",
        receipt.reference
    );
    assert_eq!(answer.json()["payment_intent"], receipt.reference.as_str());
    receipt.reference
}

#[tokio::test]
async fn probe_offers_stripe_among_other_methods_in_one_value() {
    let env = Env::start().await;
    let probe = env.get(&env.merchant.url("api", "/report")).await;
    probe.assert_402("payment-required");
    let values = probe.www_authenticate();
    assert_eq!(values.len(), 1, "one field: {values:?}");
    let methods: Vec<&str> = [
        "method=\"tempo\", intent=\"charge\"",
        "method=\"stripe\"",
        "intent=\"session\"",
        "method=\"lightning\"",
    ]
    .into_iter()
    .filter(|m| values[0].contains(m))
    .collect();
    assert_eq!(methods.len(), 4, "{}", values[0]);
    let challenge = probe.stripe_challenge();
    assert_eq!(challenge.network_id, "profile_mock_merchant");
    assert_eq!(challenge.amount(), "2500");
    assert_eq!(challenge.currency(), "usd");
    assert!(challenge.expires.is_some());
    assert!(challenge.digest.is_none(), "GET has no body");
    assert_eq!(challenge.realm, "mock-merchant/api");
}

#[tokio::test]
async fn paid_retry_settles_once_with_a_receipt_naming_the_payment_intent() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let answer = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    let reference = assert_paid(&answer);
    assert_eq!(env.link_events(&spt).await, ["issued", "redeemed"]);
    let ledger = env.merchant.ledger_of("api");
    let paid: Vec<_> = ledger.iter().filter(|e| e.event == "paid").collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0].reference.as_deref(), Some(reference.as_str()));
    assert_eq!(paid[0].challenge_id.as_deref(), Some(challenge.id.as_str()));
    assert_eq!(paid[0].spt.as_deref(), Some(spt.as_str()));
}

#[tokio::test]
async fn the_same_spt_again_is_verification_failed_and_not_redeemed_twice() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let spt = env.spt().await;
    let first = env.challenge(&url).await;
    assert_paid(&env.get_paid(&url, &Env::credential(&first, &spt)).await);

    // The same credential replayed...
    let replay = env.get_paid(&url, &Env::credential(&first, &spt)).await;
    replay.assert_402("verification-failed");
    // ...and the same SPT on a fresh challenge.
    let second = env.challenge(&url).await;
    let again = env.get_paid(&url, &Env::credential(&second, &spt)).await;
    again.assert_402("verification-failed");
    assert!(again.text.contains("token_already_used"), "{}", again.text);
    assert_eq!(
        env.link_events(&spt).await,
        ["issued", "redeemed", "redemption_refused"]
    );
}

#[tokio::test]
async fn two_clients_racing_with_one_credential_get_exactly_one_success() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    let (a, b) = tokio::join!(
        env.get_paid(&url, &credential),
        env.get_paid(&url, &credential)
    );
    let statuses = [a.status, b.status];
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    let loser = if a.status == StatusCode::OK { &b } else { &a };
    loser.assert_402("verification-failed");
    assert_eq!(env.link_events(&spt).await, ["issued", "redeemed"]);

    // Two different fresh challenges racing with one SPT: still one payment.
    let spt = env.spt().await;
    let (c1, c2) = tokio::join!(env.challenge(&url), env.challenge(&url));
    let (k1, k2) = (Env::credential(&c1, &spt), Env::credential(&c2, &spt));
    let (a, b) = tokio::join!(env.get_paid(&url, &k1), env.get_paid(&url, &k2));
    assert_eq!(
        [a.status, b.status]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count(),
        1
    );
    let events = env.link_events(&spt).await;
    assert_eq!(
        events.iter().filter(|e| *e == "redeemed").count(),
        1,
        "{events:?}"
    );
}

#[tokio::test]
async fn an_expired_challenge_is_payment_expired_and_the_spt_is_kept() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    env.merchant.advance_clock(Duration::from_secs(301));
    let answer = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    answer.assert_402("payment-expired");
    assert_eq!(env.link_events(&spt).await, ["issued"], "SPT not consumed");
    // The fresh challenge in that 402 is payable.
    let fresh = answer.stripe_challenge();
    assert_ne!(fresh.id, challenge.id);
    assert_paid(&env.get_paid(&url, &Env::credential(&fresh, &spt)).await);
}

#[tokio::test]
async fn the_clock_moves_through_the_control_api_too() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let moved = env
        .http
        .post(format!(
            "{}/__control/clock/advance",
            env.merchant.base_url()
        ))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let spt = env.spt().await;
    env.get_paid(&url, &Env::credential(&challenge, &spt))
        .await
        .assert_402("payment-expired");
    // Negative moves, and moves past 100 years ahead, are refused (not clamped: a 200 without
    // moving would leave a test believing time passed); none is a panic.
    let control = format!("{}/__control/clock/advance", env.merchant.base_url());
    let hundred_years = mock_link::limits::MAX_SPAN.as_secs();
    for (seconds, status) in [
        (json!(i64::MAX), 422),
        (json!(-1), 422),
        (json!("soon"), 422),
        (json!(hundred_years - 3600), 200),
        (json!(1), 422),
    ] {
        let moved = env
            .http
            .post(&control)
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .unwrap();
        assert_eq!(moved.status().as_u16(), status, "{seconds}");
    }
    env.challenge(&url).await;
}

#[tokio::test]
async fn unknown_or_tampered_challenge_ids_are_invalid_challenge() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;

    let mut unknown = challenge.spt_credential(&spt);
    unknown.challenge.id = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    env.get_paid(&url, &format_credential(&unknown))
        .await
        .assert_402("invalid-challenge");

    // Lowering the amount in the echoed request breaks the binding.
    let mut cheaper = challenge.spt_credential(&spt);
    let mut request = cheaper.challenge.request.decode_value().unwrap();
    request["amount"] = json!("1");
    cheaper.challenge.request = mpp::Base64UrlJson::from_value(&request).unwrap();
    env.get_paid(&url, &format_credential(&cheaper))
        .await
        .assert_402("invalid-challenge");

    // Pushing expires later too.
    let mut later = challenge.spt_credential(&spt);
    later.challenge.expires = Some("2099-01-01T00:00:00Z".into());
    env.get_paid(&url, &format_credential(&later))
        .await
        .assert_402("invalid-challenge");
    assert_eq!(env.link_events(&spt).await, ["issued"]);
}

#[tokio::test]
async fn a_credential_without_expires_is_rejected() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let mut credential = challenge.spt_credential(&spt);
    credential.challenge.expires = None;
    let answer = env.get_paid(&url, &format_credential(&credential)).await;
    answer.assert_402("invalid-challenge");
    assert!(
        answer.json()["detail"]
            .as_str()
            .unwrap()
            .contains("expires")
    );
}

#[tokio::test]
async fn undecodable_credentials_are_malformed() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    for value in [
        "Payment",
        "Payment !!!notbase64",
        "Payment e30",
        "payment eyJmb28iOjF9",
    ] {
        env.get_paid(&url, value)
            .await
            .assert_402("malformed-credential");
    }
    // A credential that decodes but has no spt in its payload (draft -02: invalid-payload).
    let challenge = env.challenge(&url).await;
    let credential = PaymentCredential::new(challenge.challenge.to_echo(), json!({"token": "x"}));
    env.get_paid(&url, &format_credential(&credential))
        .await
        .assert_402("invalid-payload");
}

#[tokio::test]
async fn an_spt_for_another_network_or_a_smaller_amount_is_verification_failed_unconsumed() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");

    let elsewhere = env.spt_for(2500, "profile_some_other_shop").await;
    let challenge = env.challenge(&url).await;
    let answer = env
        .get_paid(&url, &Env::credential(&challenge, &elsewhere))
        .await;
    answer.assert_402("verification-failed");
    assert!(answer.text.contains("network_mismatch"), "{}", answer.text);
    assert_eq!(
        env.link_events(&elsewhere).await,
        ["issued", "redemption_refused"]
    );

    let small = env.spt_for(1000, mock_merchant::DEFAULT_NETWORK_ID).await;
    let challenge = env.challenge(&url).await;
    let answer = env
        .get_paid(&url, &Env::credential(&challenge, &small))
        .await;
    answer.assert_402("verification-failed");
    assert!(answer.text.contains("amount_too_large"), "{}", answer.text);
    // Neither token was consumed.
    assert_eq!(
        env.link_events(&small).await,
        ["issued", "redemption_refused"]
    );
}

#[tokio::test]
async fn another_method_is_method_unsupported_400() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let probe = env.get(&url).await;
    let tempo =
        mpp::parse_www_authenticate_all(probe.www_authenticate().iter().map(String::as_str))
            .into_iter()
            .filter_map(Result::ok)
            .find(|c| c.method.as_str() == "tempo" && c.intent.as_str() == "charge")
            .expect("a tempo challenge");
    let credential =
        PaymentCredential::new(tempo.to_echo(), json!({"type": "hash", "hash": "0xabc"}));
    let answer = env.get_paid(&url, &format_credential(&credential)).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.problem(), "method-unsupported");
    assert_eq!(answer.json()["status"], 400);
    assert!(answer.header("payment-receipt").is_none());
}

#[tokio::test]
async fn several_credentials_in_one_request_are_400() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    let answer = env
        .send(
            Method::GET,
            &url,
            &[
                ("authorization", &credential),
                ("authorization", &credential),
            ],
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.problem(), "bad-request");
    assert_eq!(answer.json()["status"], 400);
    assert_eq!(env.link_events(&spt).await, ["issued"]);
}

#[tokio::test]
async fn a_credential_is_bound_to_its_route_and_query() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let spt = env.spt().await;
    let challenge = env.challenge(&format!("{url}?edition=2026")).await;
    let credential = Env::credential(&challenge, &spt);
    let other_query = env
        .get_paid(&format!("{url}?edition=2027"), &credential)
        .await;
    other_query.assert_402("invalid-challenge");
    assert!(
        other_query.text.contains("edition=2026"),
        "{}",
        other_query.text
    );
    let no_query = env.get_paid(&url, &credential).await;
    no_query.assert_402("invalid-challenge");
    let other_merchant = env
        .get_paid(
            &env.merchant.url("api-split", "/report?edition=2026"),
            &credential,
        )
        .await;
    other_merchant.assert_402("invalid-challenge");
    assert_eq!(env.link_events(&spt).await, ["issued"]);
    assert_paid(
        &env.get_paid(&format!("{url}?edition=2026"), &credential)
            .await,
    );
}

#[tokio::test]
async fn post_binds_the_body_by_digest_and_gets_it_back() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/orders");
    let body = r#"{"dataset":"weather","rows":1000}"#;
    let probe = env.send(Method::POST, &url, &[], Some(body)).await;
    probe.assert_402("payment-required");
    let challenge = probe.stripe_challenge();
    assert_eq!(challenge.amount(), "4200");
    let digest = challenge.digest.clone().expect("a digest for a body");
    assert!(
        digest.starts_with("sha-256=:") && digest.ends_with(':'),
        "{digest}"
    );
    assert!(mpp::body_digest::verify(&digest, body.as_bytes()));

    let spt = env.spt_for(5000, mock_merchant::DEFAULT_NETWORK_ID).await;
    let credential = Env::credential(&challenge, &spt);
    let changed = env
        .send(
            Method::POST,
            &url,
            &[("authorization", &credential)],
            Some(r#"{"dataset":"weather","rows":9}"#),
        )
        .await;
    changed.assert_402("invalid-challenge");
    assert!(changed.text.contains("digest"));

    let answer = env
        .send(
            Method::POST,
            &url,
            &[("authorization", &credential)],
            Some(body),
        )
        .await;
    assert_paid(&answer);
    assert_eq!(answer.json()["received_body"], body);
    assert_eq!(answer.json()["amount"], "4200");
}

#[tokio::test]
async fn accept_payment_orders_the_challenges() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let methods = |answer: &Answer| -> Vec<String> {
        mpp::parse_www_authenticate_all(answer.www_authenticate().iter().map(String::as_str))
            .into_iter()
            .filter_map(Result::ok)
            .map(|c| format!("{}/{}", c.method, c.intent))
            .collect()
    };
    let plain = env.get(&url).await;
    assert_eq!(
        methods(&plain),
        [
            "tempo/charge",
            "stripe/charge",
            "tempo/session",
            "lightning/charge"
        ]
    );
    let preferred = env
        .send(
            Method::GET,
            &url,
            &[("accept-payment", "stripe/charge, tempo/*;q=0.5")],
            None,
        )
        .await;
    assert_eq!(
        methods(&preferred),
        ["stripe/charge", "tempo/charge", "tempo/session"]
    );
    let garbage = env
        .send(Method::GET, &url, &[("accept-payment", ";;;q=x")], None)
        .await;
    assert_eq!(methods(&garbage).len(), 4);
}

#[tokio::test]
async fn a_settlement_api_that_is_down_is_a_500_internal_payment_error_not_a_panic() {
    let link = mock_link::MockLink::builder().start().await.unwrap();
    // A Stripe API that refuses the connection: a closed port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let merchant = mock_merchant::MockMerchant::builder()
        .link(format!("http://{closed}"))
        .start()
        .await
        .unwrap();
    let env_http = reqwest::Client::new();
    let url = merchant.url("api", "/report");
    let probe = env_http.get(&url).send().await.unwrap();
    let values: Vec<_> = probe
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.as_bytes().to_vec())
        .collect();
    let challenge = mpp_wire::select_stripe_challenge(values).unwrap();
    let answer = env_http
        .get(&url)
        .header("authorization", Env::credential(&challenge, "spt_whatever"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
    assert!(answer.headers().get("www-authenticate").is_none());
    let problem: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
    assert_eq!(
        problem["type"],
        "https://paymentauth.org/problems/internal-payment-error"
    );
    drop(link);
}

#[tokio::test]
async fn a_wrong_stripe_key_is_a_500_and_consumes_nothing() {
    let env = Env::start().await;
    let merchant = mock_merchant::MockMerchant::builder()
        .link(env.link.base_url())
        .secret_key("sk_test_not_registered")
        .start()
        .await
        .unwrap();
    let url = merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    let answer = env.get_paid(&url, &credential).await;
    assert_eq!(
        answer.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        answer.text
    );
    assert_eq!(answer.problem(), "internal-payment-error");
    assert!(answer.text.contains("401"), "{}", answer.text);
    assert_eq!(env.link_events(&spt).await, ["issued"]);
    // The claim was released: the same credential is tried again, not called a replay.
    let again = env.get_paid(&url, &credential).await;
    assert_eq!(
        again.status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "{}",
        again.text
    );
}

#[tokio::test]
async fn settlement_can_mirror_the_mpp_crate_and_mppx_styles() {
    let env = Env::start().await;
    let merchant = mock_merchant::MockMerchant::builder()
        .link(env.link.base_url())
        .settle_style(mock_merchant::SettleStyle {
            basic_auth: true,
            stripe_version: Some("2026-07-29.preview".to_owned()),
            idempotency_prefix: "mpp_".to_owned(),
        })
        .start()
        .await
        .unwrap();
    let url = merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    assert_paid(&env.get_paid(&url, &Env::credential(&challenge, &spt)).await);
    let requests = env.link.control().received_requests().await.unwrap();
    let settle = requests
        .iter()
        .rev()
        .find(|r| r.path == "/v1/payment_intents")
        .expect("a settlement call");
    let headers = &settle.headers;
    let header = |name: &str| headers.get(name).map(String::as_str).unwrap_or_default();
    assert_eq!(header("stripe-version"), "2026-07-29.preview", "{settle:?}");
    let key = header("idempotency-key");
    assert!(
        key.starts_with(&format!("mpp_{}_", challenge.id)),
        "{settle:?}"
    );
    assert!(header("authorization").starts_with("Basic"), "{settle:?}");
}

#[tokio::test]
async fn a_paid_post_retried_with_its_idempotency_key_gets_the_same_answer_without_a_second_charge()
{
    let env = Env::start().await;
    let url = env.merchant.url("api", "/orders");
    let body = r#"{"dataset":"weather","rows":1000}"#;
    let challenge = env
        .send(Method::POST, &url, &[], Some(body))
        .await
        .stripe_challenge();
    let spt = env.spt_for(5000, mock_merchant::DEFAULT_NETWORK_ID).await;
    let credential = Env::credential(&challenge, &spt);
    let headers = [
        ("authorization", credential.as_str()),
        ("idempotency-key", "order-7f3a"),
    ];
    let first = env.send(Method::POST, &url, &headers, Some(body)).await;
    let reference = assert_paid(&first);

    // The client lost the answer and retries the very same request.
    let replayed = env.send(Method::POST, &url, &headers, Some(body)).await;
    assert_eq!(replayed.status, StatusCode::OK, "{}", replayed.text);
    assert_eq!(replayed.json(), first.json());
    assert_eq!(assert_paid(&replayed), reference, "the same receipt");
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        env.link_events(&spt).await,
        ["issued", "redeemed"],
        "charged once"
    );

    // Another body under the same key is a misuse of the key, not a payment.
    let other = env
        .send(
            Method::POST,
            &url,
            &headers,
            Some(r#"{"dataset":"weather","rows":9}"#),
        )
        .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.text
    );
    assert_eq!(
        other.header("content-type"),
        Some("application/problem+json")
    );
    assert!(other.text.contains("Idempotency-Key"), "{}", other.text);
    // Without the key, the same credential is a replay, as before.
    env.send(Method::POST, &url, &headers[..1], Some(body))
        .await
        .assert_402("verification-failed");
    assert_eq!(env.link_events(&spt).await, ["issued", "redeemed"]);
}
