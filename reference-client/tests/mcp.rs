//! The MCP server over stdio: tools listed with schemas, a full SPT purchase
//! through tool calls (MCP-01, MCP-02).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use common::{Env, context};
use serde_json::{Value, json};

struct Mcp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Mcp {
    fn start(env: &Env) -> Self {
        let mut cmd = env.command(&["--mcp"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("link-ref --mcp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut mcp = Self {
            child,
            stdin,
            stdout,
            next_id: 1,
        };
        let init = mcp.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}),
        );
        assert!(
            init["result"]["capabilities"]["tools"].is_object(),
            "{init}"
        );
        mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        mcp
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        tokio::task::block_in_place(|| {
            loop {
                let mut line = String::new();
                assert!(
                    self.stdout.read_line(&mut line).unwrap() > 0,
                    "the server closed stdout"
                );
                let message: Value = serde_json::from_str(&line).unwrap();
                if message["id"] == id {
                    return message;
                }
            }
        })
    }

    /// Calls a tool; returns (is_error, the JSON in its text content).
    fn call(&mut self, name: &str, arguments: Value) -> (bool, Value) {
        let response = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        let result = &response["result"];
        let text = result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{response}"));
        (
            result["isError"] == true,
            serde_json::from_str(text).unwrap(),
        )
    }
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_the_contract_tools_with_input_schemas() {
    let env = Env::start().await;
    let mut mcp = Mcp::start(&env);
    let list = mcp.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in [
        "auth_login",
        "auth_status",
        "auth_logout",
        "payment-methods_list",
        "payment-methods_add",
        "spend-request_create",
        "spend-request_update",
        "spend-request_retrieve",
        "spend-request_request-approval",
        "spend-request_cancel",
        "spend-request_list",
        "mpp_decode",
        "mpp_pay",
        "user-info_retrieve",
        "shipping-address_list",
        "payment-methods_retrieve",
        "payment-methods_update",
    ] {
        assert!(
            names.contains(&expected),
            "missing tool {expected}: {names:?}"
        );
    }
    let create = tools
        .iter()
        .find(|t| t["name"] == "spend-request_create")
        .unwrap();
    let props = &create["inputSchema"]["properties"];
    for arg in [
        "paymentMethodId",
        "credentialType",
        "networkId",
        "merchantName",
        "merchantUrl",
        "requestApproval",
        "amount",
        "context",
        "idempotencyKey",
        "expiresAt",
        "recurringInterval",
        "recurringIntervalCount",
    ] {
        assert!(
            props[arg].is_object(),
            "spend-request_create lacks {arg}: {props}"
        );
    }
    let pay = &tools.iter().find(|t| t["name"] == "mpp_pay").unwrap()["inputSchema"]["properties"];
    assert!(pay["spendRequestId"].is_object() && pay["approvedChallenge"].is_object());
    // Reads are annotated as such; anything that writes (at Link or here) is not.
    let read_only = |name: &str| {
        tools.iter().find(|t| t["name"] == name).unwrap()["annotations"]["readOnlyHint"] == true
    };
    assert!(
        read_only("payment-methods_list")
            && read_only("payment-methods_retrieve")
            && read_only("mpp_decode")
    );
    assert!(!read_only("payment-methods_update"));
    let update = tools
        .iter()
        .find(|t| t["name"] == "payment-methods_update")
        .unwrap();
    assert!(update["inputSchema"]["properties"]["nickname"].is_object());
    assert!(update["inputSchema"]["properties"]["id"].is_object());
    assert!(
        !read_only("mpp_pay") && !read_only("spend-request_create") && !read_only("auth_status")
    );
    // Errors are tool errors with the same JSON as the CLI.
    let (is_error, e) = mcp.call(
        "spend-request_create",
        json!({"amount": "5", "context": "short"}),
    );
    assert!(is_error);
    assert_eq!(e["code"], "VALIDATION_ERROR");
    let (is_error, e) = mcp.call(
        "spend-request_create",
        json!({"amount": 1500, "context": context(), "merchantName": "Shop",
               "merchantUrl": "https://shop.example", "recurringIntervalCount": 2}),
    );
    assert!(is_error);
    assert_eq!(e["code"], "INVALID_INPUT", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spt_purchase_through_tool_calls() {
    let env = Env::start().await;
    let shop = mock_merchant::MockMerchant::builder()
        .link(env.link.base_url())
        .start()
        .await
        .unwrap();
    let mut mcp = Mcp::start(&env);

    let (is_error, login) = mcp.call("auth_login", json!({"clientName": "MCP agent"}));
    assert!(!is_error, "{login}");
    env.link
        .control()
        .approve_device(login["phrase"].as_str().unwrap())
        .await
        .unwrap();
    let (_, status) = mcp.call("auth_status", json!({}));
    assert_eq!(status["authenticated"], true, "{status}");

    // PM-04 through tools: the arguments are the positional id and the flag.
    let (_, methods) = mcp.call("payment-methods_list", json!({}));
    let pm = methods[0]["id"].as_str().unwrap().to_owned();
    let (is_error, renamed) = mcp.call(
        "payment-methods_update",
        json!({"id": pm, "nickname": "Agent card"}),
    );
    assert!(!is_error, "{renamed}");
    let (_, method) = mcp.call("payment-methods_retrieve", json!({"id": pm}));
    assert_eq!(method["nickname"], "Agent card", "{method}");
    let (is_error, missing) = mcp.call("payment-methods_retrieve", json!({"id": "csmrpd_none"}));
    assert!(is_error);
    assert_eq!(missing["code"], "NOT_FOUND");

    let url = shop.url("api", "/report");
    let probe = reqwest::get(&url).await.unwrap();
    let challenge = probe.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, decoded) = mcp.call("mpp_decode", json!({"challenge": challenge}));
    assert_eq!(decoded["network_id"], "profile_mock_merchant");

    let (is_error, created) = mcp.call(
        "spend-request_create",
        json!({
            "credentialType": "shared_payment_token",
            "networkId": decoded["network_id"],
            "amount": decoded["request_json"]["amount"],
            "context": context(),
            "requestApproval": true,
        }),
    );
    assert!(!is_error, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    env.link.control().approve_spend_request(&id).await.unwrap();
    let (_, approved) = mcp.call(
        "spend-request_retrieve",
        json!({"id": id, "interval": 0.05, "maxAttempts": 100}),
    );
    assert_eq!(approved["status"], "approved");

    let (is_error, paid) = mcp.call("mpp_pay", json!({"url": url, "spendRequestId": id}));
    assert!(!is_error, "{paid}");
    assert_eq!(paid["status"], 200);
    assert!(
        paid["receipt"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("pi_")
    );
    assert_eq!(
        shop.ledger_of("api")
            .iter()
            .filter(|e| e.event == "paid")
            .count(),
        1
    );
}
