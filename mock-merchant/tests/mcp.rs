//! The MCP merchant: a paid tool answered with -32042, paid through `_meta`,
//! with a receipt in the result, and refusals as -32043 / -32602.

mod common;

use common::Env;
use mpp_wire::mpp::{self, PaymentChallenge, PaymentCredential, mcp};
use serde_json::{Value, json};

async fn rpc(env: &Env, message: Value) -> (u16, Value) {
    let response = env
        .http
        .post(env.merchant.url("mcp", ""))
        .json(&message)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn call(id: u64, tool: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": "tools/call", "params": { "name": tool, "arguments": {} } })
}

/// The stripe challenge of a payment-required error, checked with the shared selection.
fn stripe_of(error: &Value) -> PaymentChallenge {
    let challenges = mcp::extract_challenges(error).expect("challenges");
    assert!(challenges.len() >= 4, "{error}");
    let written: Vec<String> = challenges
        .iter()
        .map(|c| mpp::format_www_authenticate(c).unwrap())
        .collect();
    let selected = mpp_wire::select_stripe_challenge(&written).unwrap();
    assert_eq!(selected.network_id, mock_merchant::DEFAULT_NETWORK_ID);
    challenges
        .into_iter()
        .find(|c| c.id == selected.id)
        .unwrap()
}

fn paid_call(id: u64, credential: &PaymentCredential) -> Value {
    let mut message = call(id, mock_merchant::limits::PAID_TOOL);
    mcp::attach_credential(&mut message["params"], credential);
    message
}

#[tokio::test]
async fn the_paid_tool_asks_for_payment_then_returns_its_result_with_a_receipt() {
    let env = Env::start().await;
    let (_, init) = rpc(&env, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}})).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "mock-merchant");
    let (_, tools) = rpc(
        &env,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(tools["result"]["tools"][0]["name"], "premium_report");

    let (status, first) = rpc(&env, call(3, "premium_report")).await;
    assert_eq!(status, 200);
    let error = &first["error"];
    assert_eq!(error["code"], mcp::PAYMENT_REQUIRED_CODE);
    assert!(mcp::is_payment_required(error));
    assert!(
        error["data"]["challenges"][1]["request"].is_object(),
        "request as plain JSON: {error}"
    );
    let challenge = stripe_of(error);

    let spt = env.spt().await;
    let credential = PaymentCredential::new(challenge.to_echo(), json!({ "spt": spt }));
    let (_, paid) = rpc(&env, paid_call(4, &credential)).await;
    let result = &paid["result"];
    assert_eq!(result["isError"], false, "{paid}");
    let receipt = mcp::extract_receipt(&result["_meta"]).expect("a receipt");
    assert!(receipt.reference.starts_with("pi_"));
    assert_eq!(
        result["_meta"][mcp::RECEIPT_META_KEY]["challengeId"],
        challenge.id.as_str()
    );
    assert_eq!(env.link_events(&spt).await, ["issued", "redeemed"]);

    // The same credential again: verification failed, with a fresh challenge.
    let (_, replay) = rpc(&env, paid_call(5, &credential)).await;
    assert_eq!(
        replay["error"]["code"],
        mcp::PAYMENT_VERIFICATION_FAILED_CODE,
        "{replay}"
    );
    assert_eq!(
        replay["error"]["data"]["problem"]["type"],
        "https://paymentauth.org/problems/verification-failed"
    );
    assert_ne!(stripe_of(&replay["error"]).id, challenge.id);
}

#[tokio::test]
async fn refusals_and_protocol_errors_are_json_rpc_errors() {
    let env = Env::start().await;
    let (_, first) = rpc(&env, call(1, "premium_report")).await;
    let challenge = stripe_of(&first["error"]);

    // An HTTP challenge is not valid on the MCP route.
    let http = env.challenge(&env.merchant.url("api", "/report")).await;
    let spt = env.spt().await;
    let (_, wrong_route) = rpc(&env, paid_call(2, &http.spt_credential(&spt))).await;
    assert_eq!(
        wrong_route["error"]["code"],
        mcp::PAYMENT_VERIFICATION_FAILED_CODE
    );
    assert_eq!(
        wrong_route["error"]["data"]["problem"]["type"],
        "https://paymentauth.org/problems/invalid-challenge"
    );

    // A credential that is not one.
    let mut garbage = call(3, "premium_report");
    garbage["params"]["_meta"] = json!({ mcp::CREDENTIAL_META_KEY: { "nope": true } });
    let (_, malformed) = rpc(&env, garbage).await;
    assert_eq!(malformed["error"]["code"], -32602, "{malformed}");

    // An SPT for another network.
    let elsewhere = env.spt_for(2500, "profile_some_other_shop").await;
    let credential = PaymentCredential::new(challenge.to_echo(), json!({ "spt": elsewhere }));
    let (_, refused) = rpc(&env, paid_call(4, &credential)).await;
    assert_eq!(
        refused["error"]["code"],
        mcp::PAYMENT_VERIFICATION_FAILED_CODE
    );
    assert_eq!(env.link_events(&spt).await, ["issued"]);

    let (_, unknown_tool) = rpc(&env, call(5, "nope")).await;
    assert_eq!(unknown_tool["error"]["code"], -32602);
    let (_, unknown_method) = rpc(
        &env,
        json!({"jsonrpc": "2.0", "id": 6, "method": "resources/list"}),
    )
    .await;
    assert_eq!(unknown_method["error"]["code"], -32601);
    let (_, free) = rpc(&env, call(7, "free_quote")).await;
    assert_eq!(free["result"]["isError"], false);

    let response = env
        .http
        .post(env.merchant.url("mcp", ""))
        .body("{not json")
        .send()
        .await
        .unwrap();
    let parse: Value = response.json().await.unwrap();
    assert_eq!(parse["error"]["code"], -32700);
    let (status, _) = rpc(
        &env,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert_eq!(status, 202);
}
