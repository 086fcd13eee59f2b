//! D8: an echoed challenge is checked against what the route issued, not
//! only against its HMAC. Every forged echo here carries a valid id (the
//! tests know the binding key), so only that comparison can refuse it.

mod common;

use common::{CHALLENGE_SECRET, Env};
use mpp_wire::mpp::{Base64UrlJson, ChallengeEcho};
use mpp_wire::{BindingParams, HeaderSlot, StripeChallenge, format_credential};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A credential for `challenge` paying with `spt`, after `edit` changed its
/// echo, with the id re-bound over the edited params with the known key.
fn forged(challenge: &StripeChallenge, spt: &str, edit: impl FnOnce(&mut ChallengeEcho)) -> String {
    let mut credential = challenge.spt_credential(spt);
    edit(&mut credential.challenge);
    let id = BindingParams::of_echo(&credential.challenge, None)
        .bound_id(CHALLENGE_SECRET, HeaderSlot::AfterOpaque);
    credential.challenge.id = id;
    format_credential(&credential)
}

/// Changes the decoded `request` of an echo.
fn edit_request(echo: &mut ChallengeEcho, edit: impl FnOnce(&mut Value)) {
    let mut request = echo.request.decode_value().unwrap();
    edit(&mut request);
    echo.request = Base64UrlJson::from_value(&request).unwrap();
}

fn set_opaque(echo: &mut ChallengeEcho, opaque: Value) {
    echo.opaque = Some(Base64UrlJson::from_value(&opaque).unwrap());
}

#[tokio::test]
async fn a_forged_echo_with_another_amount_realm_or_network_is_refused_and_nothing_is_settled() {
    let env = Env::start().await;
    let url = env.merchant.url("api", "/report");
    let challenge = env.challenge(&url).await;
    assert_eq!(challenge.amount(), "2500");
    // Approved for more than the price, so only the merchant can refuse "2501".
    let spt = env.spt_for(5000, mock_merchant::DEFAULT_NETWORK_ID).await;
    type Edit = Box<dyn FnOnce(&mut ChallengeEcho)>;
    let forgeries: Vec<(&str, Edit)> = vec![
        (
            "amount 1",
            Box::new(|e| edit_request(e, |r| r["amount"] = json!("1"))),
        ),
        (
            "amount 2501",
            Box::new(|e| edit_request(e, |r| r["amount"] = json!("2501"))),
        ),
        (
            "currency",
            Box::new(|e| edit_request(e, |r| r["currency"] = json!("eur"))),
        ),
        (
            "network id",
            Box::new(|e| {
                edit_request(e, |r| {
                    r["methodDetails"]["networkId"] = json!("profile_someone_else");
                })
            }),
        ),
        (
            "realm",
            Box::new(|e| e.realm = "mock-merchant/elsewhere".into()),
        ),
        (
            "opaque member",
            Box::new(|e| {
                set_opaque(e, json!({"route": "GET /m/api/report", "revision": "7"}));
            }),
        ),
    ];
    for (what, edit) in forgeries {
        let answer = env.get_paid(&url, &forged(&challenge, &spt, edit)).await;
        answer.assert_402("invalid-challenge");
        assert!(
            answer.text.contains("not one this route issued"),
            "{what}: {}",
            answer.text
        );
        assert_eq!(
            env.link_events(&spt).await,
            ["issued"],
            "{what}: nothing settled"
        );
    }
    // The genuine echo still pays, at the route's price.
    let paid = env.get_paid(&url, &Env::credential(&challenge, &spt)).await;
    assert_eq!(paid.status, StatusCode::OK, "{}", paid.text);
    assert_eq!(paid.json()["amount"], "2500");
}

#[tokio::test]
async fn a_forged_echo_rebound_to_another_route_or_query_is_refused() {
    let env = Env::start().await;
    let report = env.merchant.url("api", "/report");
    let challenge = env.challenge(&report).await;
    let spt = env.spt_for(5000, mock_merchant::DEFAULT_NETWORK_ID).await;

    // The 2500 report's terms presented at the 4200 orders route, its
    // `opaque` rewritten to name that route (an empty body, so no digest).
    let orders = env.merchant.url("api", "/orders");
    let credential = forged(&challenge, &spt, |e| {
        set_opaque(e, json!({"route": "POST /m/api/orders"}));
    });
    let answer = env
        .send(
            Method::POST,
            &orders,
            &[("authorization", &credential)],
            None,
        )
        .await;
    answer.assert_402("invalid-challenge");

    // The same terms rebound to a query the challenge was not issued for.
    let with_query = format!("{report}?edition=premium");
    let credential = forged(&challenge, &spt, |e| {
        set_opaque(e, json!({"route": "GET /m/api/report?edition=premium"}));
    });
    env.get_paid(&with_query, &credential)
        .await
        .assert_402("invalid-challenge");
    assert_eq!(env.link_events(&spt).await, ["issued"], "nothing settled");
    assert!(
        env.merchant
            .ledger_of("api")
            .iter()
            .all(|e| e.event != "paid"),
        "no paid entry"
    );
}

/// The key every mock-merchant used before D9, published in its source.
const FORMER_PUBLIC_KEY: &str = "mock-merchant-challenge-binding-key-0123456789";

/// Whether `challenge`'s id is bound with `key`.
fn bound_with(challenge: &StripeChallenge, key: &str) -> bool {
    let echo = challenge.challenge.to_echo();
    BindingParams::of_echo(&echo, None).bound_id(key, HeaderSlot::AfterOpaque) == challenge.id
}

#[tokio::test]
async fn a_default_merchant_binds_with_a_random_key_and_a_set_one_is_used_as_is() {
    let env = Env::start().await;
    let set = env.challenge(&env.merchant.url("api", "/report")).await;
    assert!(
        bound_with(&set, CHALLENGE_SECRET),
        "the builder's key is used"
    );

    let mut keys_seen = Vec::new();
    for _ in 0..2 {
        let default = mock_merchant::MockMerchant::builder()
            .link(env.link.base_url())
            .start()
            .await
            .unwrap();
        let challenge = env.challenge(&default.url("api", "/report")).await;
        assert!(
            !bound_with(&challenge, FORMER_PUBLIC_KEY),
            "not the public key"
        );
        assert!(!bound_with(&challenge, CHALLENGE_SECRET));
        keys_seen.push(challenge);
    }
    // Two servers with the same terms: each id is bound with its own key.
    let [first, second] = &keys_seen[..] else {
        unreachable!()
    };
    assert_ne!(first.id, second.id);
}
