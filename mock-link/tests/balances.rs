//! Sources, balances and transactions with cursor pagination and filters; agent observations.

mod common;

use common::{Api, card_request, start};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            item.get("id")
                .or(item.get("source_id"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn sources_and_balances_of_the_seeded_user() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (status, sources) = api.get("/sources").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ids(&sources),
        vec![
            "src_default_visa",
            "src_default_mastercard",
            "src_default_checking"
        ]
    );
    assert_eq!(sources["data"][2]["type"], "bank_account");
    assert_eq!(sources["data"][2]["bank_account"]["last4"], "6789");
    assert_eq!(sources["data"][0]["card"]["last4"], "4242");
    assert_eq!(sources["data"][0]["name"], "Visa •••• 4242");
    assert_eq!(sources["has_more"], false);
    let (_, balances) = api.get("/balances").await;
    assert_eq!(balances["data"].as_array().unwrap().len(), 3);
    let checking = &balances["data"][2];
    assert_eq!(checking["type"], "cash");
    assert_eq!(checking["cash"]["available"]["usd"], 125_000);
    assert_eq!(checking["current"], 125_000);
    assert!(checking["as_of"].as_str().unwrap().ends_with('Z'));
    assert_eq!(balances["data"][0]["type"], "credit");
    assert!(
        balances["data"][0]["credit"]["used"]["usd"]
            .as_i64()
            .unwrap()
            > 0
    );
    let (_, first) = api.get("/balances?limit=1").await;
    assert_eq!(ids(&first), vec!["src_default_visa"]);
    assert_eq!(first["has_more"], true);
}

#[tokio::test]
async fn transactions_page_forward_and_back_with_cursors() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let (_, first) = api.get("/transactions").await;
    assert_eq!(first["data"].as_array().unwrap().len(), 10);
    assert_eq!(first["has_more"], true);
    assert_eq!(ids(&first)[0], "txn_default_01");

    let mut seen = ids(&first);
    let mut page = first;
    while page["has_more"] == true {
        let last = seen.last().unwrap().clone();
        page = api
            .get(&format!("/transactions?limit=7&starting_after={last}"))
            .await
            .1;
        seen.extend(ids(&page));
    }
    let expected: Vec<String> = (1..=30).map(|i| format!("txn_default_{i:02}")).collect();
    assert_eq!(seen, expected);

    let (_, before) = api
        .get("/transactions?limit=5&ending_before=txn_default_11")
        .await;
    assert_eq!(
        ids(&before),
        (6..=10)
            .map(|i| format!("txn_default_{i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(before["has_more"], true);
    let (_, start_page) = api
        .get("/transactions?limit=10&ending_before=txn_default_03")
        .await;
    assert_eq!(ids(&start_page), vec!["txn_default_01", "txn_default_02"]);
    assert_eq!(start_page["has_more"], false);
}

#[tokio::test]
async fn transaction_filters_narrow_the_list() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let count = |page: &Value| page["data"].as_array().unwrap().len();
    assert_eq!(
        count(&api.get("/transactions?limit=100&origin=link").await.1),
        12
    );
    assert_eq!(
        count(&api.get("/transactions?limit=100&category=income").await.1),
        6
    );
    assert_eq!(
        count(
            &api.get("/transactions?limit=100&sources[]=src_default_checking")
                .await
                .1
        ),
        6
    );
    assert_eq!(
        count(
            &api.get(
                "/transactions?limit=100&sources[]=src_default_checking&sources[]=src_default_visa"
            )
            .await
            .1
        ),
        18
    );
    let (_, one_day) = api
        .get("/transactions?start_date=2026-01-30&end_date=2026-01-30")
        .await;
    assert_eq!(ids(&one_day), vec!["txn_default_01"]);
    let (_, since) = api
        .get("/transactions?limit=100&start_date=2026-01-21")
        .await;
    assert_eq!(count(&since), 10);
    // The public client's parameter names.
    let (_, window) = api
        .get("/transactions?limit=100&date_start=2026-01-21&date_end=2026-01-22")
        .await;
    assert_eq!(ids(&window), vec!["txn_default_09", "txn_default_10"]);
    let first = &window["data"][0];
    assert_eq!(first["created_date"], "2026-01-22");
    assert_eq!(first["source_id"], "src_default_checking");
    assert_eq!(first["origin"], "external_connection");
}

#[tokio::test]
async fn bad_pagination_and_filters_get_400_naming_the_parameter() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("starting_after=txn_nope", "starting_after"),
        ("ending_before=txn_nope", "ending_before"),
        (
            "starting_after=txn_default_01&ending_before=txn_default_03",
            "ending_before",
        ),
        ("origin=teleport", "origin"),
        ("start_date=yesterday", "start_date"),
        ("start_date=2026-01-30&end_date=2026-01-01", "end_date"),
        ("date_start=2026-01-30&date_end=2026-01-01", "date_end"),
    ] {
        let (status, body) = api.get(&format!("/transactions?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
    }
    let (status, _) = api.get("/sources?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_new_user_has_card_sources_and_no_history() {
    let link = start().await;
    let user = link
        .control()
        .create_user(json!({"payment_methods": [{"id": "csmrpd_new_card", "last4": "1881"}]}))
        .await
        .unwrap();
    let api = Api::login(&link, user["id"].as_str().unwrap()).await;
    assert_eq!(ids(&api.get("/sources").await.1), vec!["src_new_card"]);
    assert_eq!(api.get("/transactions").await.1["data"], json!([]));
}

#[tokio::test]
async fn agent_observations_are_validated_and_recorded() {
    let link = start().await;
    let api = Api::default_user(&link).await;
    let spend_request = api.create(card_request()).await;
    let (status, observation) = api
        .post(
            "/agent_observations",
            json!({
                "domain": "trailshoes.example",
                "outcome": "blocked",
                "spend_request_id": spend_request["id"],
                "tags": ["captcha"],
                "step": "checkout",
                "freeform_context": "The checkout asked for a captcha.",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{observation}");
    assert!(observation["id"].as_str().unwrap().starts_with("aobs_"));
    assert_eq!(observation["outcome"], "blocked");
    assert_eq!(observation["object"], "agent_observation");
    assert_eq!(observation["status"], "recorded");
    assert!(observation["created_at"].is_string());
    assert_eq!(
        observation["freeform_context"],
        "The checkout asked for a captcha."
    );
    let recorded = link.control().get("/agent_observations").await.unwrap();
    assert_eq!(recorded["data"][0]["user_id"], "usr_default");

    for (body, param) in [
        (json!({"outcome": "success"}), "domain"),
        (json!({"domain": "a.example"}), "outcome"),
        (json!({"domain": "a.example", "outcome": "meh"}), "outcome"),
        (
            json!({"domain": "https://a.example/x", "outcome": "success"}),
            "domain",
        ),
        (
            json!({"domain": "a.example", "outcome": "success", "tags": ["sunspots"]}),
            "tags",
        ),
        (
            json!({"domain": "a.example", "outcome": "success", "freeform_context": "x".repeat(501)}),
            "freeform_context",
        ),
        (
            json!({"domain": "a.example", "outcome": "success", "spend_request_id": "lsrq_other"}),
            "spend_request_id",
        ),
        (
            json!({"domain": "a.example", "outcome": "success"}),
            "spend_request_id",
        ),
    ] {
        let mut body = body;
        if body.get("spend_request_id").is_none() && param != "spend_request_id" {
            body["spend_request_id"] = spend_request["id"].clone();
        }
        let (status, answer) = api.post("/agent_observations", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"]["param"], param, "{body}: {answer}");
    }
}
