//! Every merchant of the catalogue besides the paid API's verification outcomes:
//! the shared stripe selection on each 402, split fields, no stripe, another
//! credential header, changing terms, pass-through, free, redirects, discovery.

mod common;

use common::{Answer, Env};
use mpp_wire::{DecodeError, select_stripe_challenge};
use reqwest::{Method, StatusCode};

/// Each merchant's 402 through `select_stripe_challenge`: the network id, or the error.
#[tokio::test]
async fn each_merchant_challenge_decodes_with_the_shared_selection() {
    let env = Env::start().await;
    let network = mock_merchant::DEFAULT_NETWORK_ID;
    for (merchant, path, method) in [
        ("api", "/report", Method::GET),
        ("api", "/orders", Method::POST),
        ("api-split", "/report", Method::GET),
        ("api-split", "/orders", Method::POST),
        ("credential-header", "/report", Method::GET),
        ("changing-terms", "/report", Method::GET),
        ("redirects", "/paid-retry-same-origin", Method::GET),
        ("redirects", "/paid-retry-cross-origin", Method::GET),
        ("hostile", "/control-chars", Method::GET),
        ("other-network", "/report", Method::GET),
        ("api-session", "/stream", Method::GET),
    ] {
        let body = (method == Method::POST).then_some(r#"{"n":1}"#);
        let probe = env
            .send(method, &env.merchant.url(merchant, path), &[], body)
            .await;
        assert_eq!(
            probe.status,
            StatusCode::PAYMENT_REQUIRED,
            "{merchant}{path}"
        );
        let challenge = select_stripe_challenge(probe.www_authenticate())
            .unwrap_or_else(|e| panic!("{merchant}{path}: {e}"));
        let expected = if merchant == "other-network" {
            "profile_other_network"
        } else {
            network
        };
        assert_eq!(challenge.network_id, expected, "{merchant}{path}");
        assert_eq!(
            challenge.digest.is_some(),
            body.is_some(),
            "{merchant}{path}"
        );
    }

    let no_stripe = env.get(&env.merchant.url("no-stripe", "/report")).await;
    no_stripe.assert_402("payment-required");
    match select_stripe_challenge(no_stripe.www_authenticate()) {
        Err(DecodeError::NoStripeChallenge { offered }) => {
            assert_eq!(
                offered,
                ["tempo/charge", "tempo/session", "lightning/charge"]
            );
        }
        other => panic!("expected no stripe challenge, got {other:?}"),
    }

    let huge = env.get(&env.merchant.url("hostile", "/huge-header")).await;
    assert!(matches!(
        select_stripe_challenge(huge.www_authenticate()),
        Err(DecodeError::TooLarge { .. })
    ));
}

#[tokio::test]
async fn split_fields_mix_other_schemes_and_still_pay() {
    let env = Env::start().await;
    let url = env.merchant.url("api-split", "/report");
    let probe = env.get(&url).await;
    probe.assert_402("payment-required");
    let fields = probe.www_authenticate();
    assert!(fields.len() >= 3, "{fields:?}");
    assert!(fields[0].starts_with("Bearer "), "{fields:?}");
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("Basic ") && f.contains("Payment ")),
        "a field mixing schemes: {fields:?}"
    );
    let challenge = probe.stripe_challenge();
    let spt = env.spt().await;
    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert!(paid.header("payment-receipt").is_some());
}

#[tokio::test]
async fn the_no_stripe_merchant_refuses_a_stripe_credential_as_method_unsupported() {
    let env = Env::start().await;
    let challenge = env.challenge(&env.merchant.url("api", "/report")).await;
    let spt = env.spt().await;
    let answer = env
        .get_paid(
            &env.merchant.url("no-stripe", "/report"),
            &Env::credential(&challenge, &spt),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
    assert_eq!(answer.problem(), "method-unsupported");
    assert_eq!(env.link_events(&spt).await, ["issued"]);
}

#[tokio::test]
async fn the_credential_header_merchant_reads_payment_authorization_only() {
    let env = Env::start().await;
    let url = env.merchant.url("credential-header", "/report");
    let probe = env.get(&url).await;
    assert!(probe.www_authenticate()[0].contains(r#"header="Payment-Authorization""#));
    let challenge = probe.stripe_challenge();
    assert_eq!(
        challenge.credential_field(),
        Ok(mpp_wire::CredentialHeader::PaymentAuthorization)
    );
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);

    let in_authorization = env.get_paid(&url, &credential).await;
    in_authorization.assert_402("payment-required");
    assert!(in_authorization.text.contains("Payment-Authorization"));
    assert_eq!(env.link_events(&spt).await, ["issued"]);

    let paid = env
        .send(
            Method::GET,
            &url,
            &[
                ("payment-authorization", &credential),
                ("authorization", "Bearer app-session-token"),
            ],
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert!(paid.header("payment-receipt").is_some());
}

#[tokio::test]
async fn a_payment_credential_challenge_cannot_pay_an_authorization_route() {
    let env = Env::start().await;
    // Issued with header="Payment-Authorization" (bound in its id), presented in
    // Authorization to a route that binds no header: refused.
    let challenge = env
        .challenge(&env.merchant.url("credential-header", "/report"))
        .await;
    let spt = env.spt().await;
    let mut credential = challenge.spt_credential(&spt);
    credential.challenge.header = None;
    let answer = env
        .get_paid(
            &env.merchant.url("api", "/report"),
            &mpp_wire::format_credential(&credential),
        )
        .await;
    answer.assert_402("invalid-challenge");
}

#[tokio::test]
async fn changing_terms_raise_the_amount_with_every_challenge() {
    let env = Env::start().await;
    let url = env.merchant.url("changing-terms", "/report");
    let first = env.challenge(&url).await;
    let second = env.challenge(&url).await;
    let third = env.challenge(&url).await;
    assert_eq!(
        [first.amount(), second.amount(), third.amount()],
        ["1000", "1500", "2000"]
    );
    assert_eq!(first.network_id, second.network_id);
    // The first challenge is still honoured at its own terms.
    let spt = env.spt().await;
    let paid = env.get_paid(&url, &Env::credential(&first, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert_eq!(paid.json()["amount"], "1000");
}

#[tokio::test]
async fn changing_terms_change_the_named_term_only() {
    let env = Env::start().await;
    let view = |c: &mpp_wire::StripeChallenge| {
        (
            c.realm.clone(),
            c.amount().to_owned(),
            c.currency().to_owned(),
            c.network_id.clone(),
            c.request_json["methodDetails"]["paymentMethodTypes"].clone(),
            c.description.clone(),
            c.challenge.opaque.as_ref().map(|o| o.raw().to_owned()),
        )
    };
    for change in [
        "currency",
        "network",
        "realm",
        "payment_method_types",
        "description",
    ] {
        let url = env
            .merchant
            .url("changing-terms", &format!("/report?change={change}"));
        let before = env.challenge(&url).await;
        let after = env.challenge(&url).await;
        assert_ne!(before.id, after.id, "{change}");
        let (b, a) = (view(&before), view(&after));
        let differing = [
            b.0 != a.0,
            b.1 != a.1,
            b.2 != a.2,
            b.3 != a.3,
            b.4 != a.4,
            b.5 != a.5,
            b.6 != a.6,
        ];
        let expected_index = match change {
            "realm" => 0,
            "currency" => 2,
            "network" => 3,
            "payment_method_types" => 4,
            _ => 5,
        };
        for (i, differs) in differing.into_iter().enumerate() {
            assert_eq!(
                differs,
                i == expected_index,
                "{change}: field {i}: {b:?} vs {a:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_honest_re_probe_changes_only_the_id_and_expires() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let (first, second) = (env.challenge(&url).await, env.challenge(&url).await);
    assert_ne!(first.id, second.id);
    assert_eq!(first.request_json, second.request_json);
    assert_eq!(first.realm, second.realm);
    assert_eq!(
        first.challenge.opaque.as_ref().map(|o| o.raw().to_owned()),
        second.challenge.opaque.as_ref().map(|o| o.raw().to_owned())
    );
}

#[tokio::test]
async fn plain_and_free_endpoints_are_not_402() {
    let env = Env::start().await;
    let ok = env.get(&env.merchant.url("plain", "/ok")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["status"], "ok");
    assert!(ok.www_authenticate().is_empty());

    let error = env.get(&env.merchant.url("plain", "/error")).await;
    assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        error.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(error.json()["status"], 500);

    let free = env.get(&env.merchant.url("api", "/free")).await;
    assert_eq!(free.status, StatusCode::OK);
    assert!(free.www_authenticate().is_empty());
    assert!(free.header("payment-receipt").is_none());
}

#[tokio::test]
async fn redirects_before_the_402_and_on_the_paid_retry() {
    let env = Env::start().await;
    let cross = env.merchant.cross_origin().to_owned();
    assert!(cross.starts_with("http://localhost:"), "{cross}");

    let same = env
        .get(&env.merchant.url("redirects", "/same-origin"))
        .await;
    assert_eq!(same.status, StatusCode::FOUND);
    assert_eq!(same.header("location"), Some("/m/api/report"));
    let other = env
        .get(&env.merchant.url("redirects", "/cross-origin"))
        .await;
    assert_eq!(other.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        other.header("location"),
        Some(format!("{cross}/m/api/report").as_str())
    );

    let spt = env.spt().await;
    for (path, location) in [
        ("/paid-retry-same-origin", "/m/api/report".to_owned()),
        ("/paid-retry-cross-origin", format!("{cross}/m/api/report")),
    ] {
        let url = env.merchant.url("redirects", path);
        let challenge = env.challenge(&url).await;
        let retry = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
        assert_eq!(retry.status, StatusCode::TEMPORARY_REDIRECT, "{path}");
        assert_eq!(retry.header("location"), Some(location.as_str()));
    }
    assert_eq!(env.link_events(&spt).await, ["issued"], "nothing redeemed");
    let redirected = env
        .merchant
        .ledger_of("redirects")
        .into_iter()
        .filter(|e| e.event == "redirected")
        .count();
    assert_eq!(redirected, 2);
}

#[tokio::test]
async fn openapi_discovery_lists_paid_operations_with_payment_info() {
    let env = Env::start().await;
    for url in [
        format!("{}/openapi.json", env.merchant.base_url()),
        env.merchant.url("api", "/openapi.json"),
    ] {
        let doc = env.get(&url).await;
        assert_eq!(doc.status, StatusCode::OK);
        let doc = doc.json();
        let info = &doc["paths"]["/m/api/report"]["get"]["x-payment-info"];
        assert_eq!(info["method"], "stripe");
        assert_eq!(info["intent"], "charge");
        assert_eq!(info["amount"], "2500");
        assert_eq!(info["currency"], "usd");
        assert_eq!(
            doc["paths"]["/m/api/orders"]["post"]["x-payment-info"]["amount"],
            "4200"
        );
        assert_eq!(
            doc["paths"]["/m/api-session/stream"]["get"]["x-payment-info"]["intent"],
            "session"
        );
        assert!(doc["paths"]["/m/no-stripe/report"].is_null());
        assert!(doc["paths"]["/m/api/free"]["get"]["x-payment-info"].is_null());
    }
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let env = Env::start().await;
    let missing = env.get(&env.merchant.url("nobody", "/here")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.header("content-type"),
        Some("application/problem+json")
    );
    let wrong: Answer = env
        .send(
            Method::DELETE,
            &env.merchant.url("api", "/report"),
            &[],
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong.header("allow"), Some("GET"));
    assert_eq!(wrong.json()["status"], 405);
    let routed = env
        .send(
            Method::POST,
            &env.merchant.url("plain", "/ok"),
            &[],
            Some("{}"),
        )
        .await;
    assert_eq!(routed.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        routed.header("content-type"),
        Some("application/problem+json")
    );
}

#[tokio::test]
async fn the_ledger_is_readable_over_the_control_api() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    let spt = env.spt().await;
    env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    let ledger = env
        .get(&format!(
            "{}/__control/ledger?merchant=api",
            env.merchant.base_url()
        ))
        .await
        .json();
    let events: Vec<&str> = ledger["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["challenge_id"] == challenge.id.as_str())
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "challenge_issued",
            "credential_received",
            "paid",
            "credential_received",
            "rejected"
        ]
    );
    let catalogue = env.get(env.merchant.base_url()).await.json();
    let ids: Vec<&str> = catalogue["merchants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), mock_merchant::CATALOGUE.len());
    assert!(ids.contains(&"card-sh0p"));
}

#[tokio::test]
async fn merchants_answer_on_their_own_host_names_too() {
    let env = Env::start().await;
    let port = env.merchant.address().port();
    let base = env.merchant.base_url();
    let host = format!("api.localhost:{port}");
    let probe = env
        .send(
            Method::GET,
            &format!("{base}/report"),
            &[("host", &host)],
            None,
        )
        .await;
    probe.assert_402("payment-required");
    let challenge = probe.stripe_challenge();
    assert_eq!(challenge.realm, "mock-merchant/api");
    let spt = env.spt().await;
    let credential = Env::credential(&challenge, &spt);
    let paid = env
        .send(
            Method::GET,
            &format!("{base}/report"),
            &[("host", &host), ("authorization", &credential)],
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);

    let look_alike = env
        .send(
            Method::GET,
            &format!("{base}/agents.txt"),
            &[("host", &format!("card-sh0p.localhost:{port}"))],
            None,
        )
        .await;
    assert_eq!(look_alike.status, StatusCode::OK);
    assert!(look_alike.text.contains("/m/card-sh0p/checkout"));
    // The plain address still serves the catalogue.
    assert_eq!(env.get(base).await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_other_network_merchant_names_a_network_it_does_not_settle_on() {
    let env = Env::start().await;
    let url = env.merchant.url("other-network", "/report");
    let challenge = env.challenge(&url).await;
    assert_eq!(challenge.network_id, "profile_other_network");
    // A client that ignores the mismatch and sends an SPT for the merchant's
    // real network gets through; the ledger is the evidence a test asserts on.
    let spt = env.spt().await;
    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    let sent: Vec<_> = env
        .merchant
        .ledger_of("other-network")
        .into_iter()
        .filter(|e| e.event == "credential_received")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].spt.as_deref(), Some(spt.as_str()));
}

#[tokio::test]
async fn reset_forgets_the_ledger_and_the_probe_counts() {
    let env = Env::start().await;
    let url = env.merchant.url("changing-terms", "/report");
    assert_eq!(env.challenge(&url).await.amount(), "1000");
    assert_eq!(env.challenge(&url).await.amount(), "1500");
    let reset = env
        .http
        .post(format!("{}/__control/reset", env.merchant.base_url()))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::OK);
    assert!(env.merchant.ledger().is_empty());
    assert_eq!(env.challenge(&url).await.amount(), "1000");
    env.merchant.reset();
    assert!(env.merchant.ledger().is_empty());
}

#[tokio::test]
async fn the_session_merchant_is_opened_with_a_granted_token() {
    let env = Env::start().await;
    let url = env.merchant.url("api-session", "/stream");
    let challenge = env.challenge(&url).await;
    assert_eq!(challenge.intent, "session");
    let spt = env.spt().await;

    // A charge-shaped payload does not open a session.
    let mut charge_shaped = challenge.spt_credential(&spt);
    charge_shaped.payload = serde_json::json!({ "spt": spt });
    env.get_paid(&url, &mpp_wire::format_credential(&charge_shaped))
        .await
        .assert_402("invalid-payload");

    let credential = Env::credential(&challenge, &spt);
    let opened = env.get_paid(&url, &credential).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    assert!(opened.header("payment-receipt").is_some());
    let paid = env.merchant.ledger_of("api-session");
    assert!(
        paid.iter()
            .any(|e| e.event == "paid" && e.method.as_deref() == Some("stripe/session"))
    );
}

#[tokio::test]
async fn strict_changing_terms_refuse_a_stale_cheaper_challenge_as_insufficient() {
    let env = Env::start().await;
    let url = env.merchant.url("changing-terms", "/report?strict=1");
    let stale = env.challenge(&url).await;
    let current = env.challenge(&url).await;
    assert_eq!((stale.amount(), current.amount()), ("1000", "1500"));
    let spt = env.spt().await;
    let answer = env.get_paid(&url, &Env::credential(&stale, &spt)).await;
    answer.assert_402("payment-insufficient");
    assert_eq!(env.link_events(&spt).await, ["issued"], "SPT kept");
    // The 402 itself issued a newer, dearer challenge (2000): pay that one.
    let fresh = answer.stripe_challenge();
    assert_eq!(fresh.amount(), "2000");
    let paid = env.get_paid(&url, &Env::credential(&fresh, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
}

#[tokio::test]
async fn the_header_is_bound_after_opaque_as_draft_02_says_or_as_the_mpp_crate_does() {
    use mpp_wire::mpp::protocol::core::compute_challenge_id_with_header;
    use mpp_wire::{BindingParams, HeaderSlot};
    let env = Env::start().await;
    let url = env.merchant.url("credential-header", "/report");
    let c = env.challenge(&url).await;
    let params = BindingParams {
        realm: &c.realm,
        method: "stripe",
        intent: "charge",
        request: c.challenge.request.raw(),
        expires: c.expires.as_deref(),
        digest: None,
        opaque: c.challenge.opaque.as_ref().map(|o| o.raw()),
        header: Some("Payment-Authorization"),
    };
    let secret = common::CHALLENGE_SECRET;
    assert_eq!(c.id, params.bound_id(secret, HeaderSlot::AfterOpaque));

    let mpp_style = mock_merchant::MockMerchant::builder()
        .link(env.link.base_url())
        .header_slot(HeaderSlot::BeforeOpaque)
        .challenge_secret(secret)
        .start()
        .await
        .unwrap();
    let c = env
        .challenge(&mpp_style.url("credential-header", "/report"))
        .await;
    let theirs = compute_challenge_id_with_header(
        secret,
        &c.realm,
        "stripe",
        "charge",
        c.challenge.request.raw(),
        c.expires.as_deref(),
        None,
        c.challenge.opaque.as_ref().map(|o| o.raw()),
        Some("Payment-Authorization"),
    );
    assert_eq!(c.id, theirs);
    // And it is paid there like anywhere else.
    let spt = env.spt().await;
    let paid = env
        .send(
            Method::GET,
            &mpp_style.url("credential-header", "/report"),
            &[("payment-authorization", &Env::credential(&c, &spt))],
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
}

#[tokio::test]
async fn advertised_urls_are_on_exact_loopback_hosts_even_on_every_interface() {
    let env = Env::start().await;
    let everywhere = mock_merchant::MockMerchant::builder()
        .link(env.link.base_url())
        .bind(std::net::SocketAddr::from(([0, 0, 0, 0], 0)))
        .start()
        .await
        .unwrap();
    let base = everywhere.base_url().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    assert!(everywhere.cross_origin().starts_with("http://localhost:"));
    let index = env.get(&format!("{base}/")).await.json();
    for merchant in index["merchants"].as_array().unwrap() {
        for url in merchant["urls"].as_array().unwrap() {
            assert!(url.as_str().unwrap().starts_with(&base), "{url}");
        }
    }
    let openapi = env.get(&format!("{base}/openapi.json")).await.json();
    assert_eq!(openapi["servers"][0]["url"], base.as_str());
    // Knob redirects point at exact loopback hosts too.
    everywhere.set_knobs(
        "api",
        mock_merchant::Knobs {
            redirect_reprobe: Some(mock_merchant::Redirect {
                to: mock_merchant::Target::SameOrigin,
                status: None,
            }),
            ..Default::default()
        },
    );
    let url = everywhere.url("api", "/report");
    env.get(&url).await.assert_402("payment-required");
    let reprobe = env.get(&url).await;
    assert!(
        reprobe
            .header("location")
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}
