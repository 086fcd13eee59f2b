//! PAY-11, the seller's half without a Link client: a merchant developer mints
//! test SPTs with Stripe's test helper (mock-link serves it), pays its own 402
//! route with one, and revokes another. The suite plays the developer, so these
//! scenarios hold for any client: they check what the harness gives a seller.

use cucumber::{given, then, when};
use mock_link::SellerClient;
use serde_json::Value;

use crate::route::MerchantRoute;
use crate::step_error::{StepResult, bail};
use crate::world::LinkWorld;

fn seller(w: &LinkWorld) -> SellerClient {
    SellerClient::new(w.link.base_url(), mock_merchant::DEFAULT_SECRET_KEY)
}

/// Mints a test token for the amount `route` charges; returns its id.
async fn mint_for(w: &LinkWorld, route: &MerchantRoute) -> StepResult<String> {
    let challenge = route.probe(&w.shop).await?;
    let amount: i64 = challenge
        .request_json
        .get("amount")
        .and_then(Value::as_str)
        .and_then(|a| a.parse().ok())
        .ok_or("the challenge has no integer amount")?;
    let currency = challenge
        .request_json
        .get("currency")
        .and_then(Value::as_str)
        .unwrap_or("usd")
        .to_owned();
    let minted = seller(w).mint_test_token(amount, &currency).await;
    Ok(minted.map_err(|refused| format!("the test helper refused: {}", refused.body))?)
}

#[given(expr = "a merchant developer minted a test shared payment token for {string}")]
async fn minted(w: &mut LinkWorld, route: MerchantRoute) -> StepResult {
    let token = mint_for(w, &route).await?;
    w.notes.insert("seller_token".into(), token);
    Ok(())
}

#[when(expr = "the developer revokes another test token for {string} with the test helper")]
async fn revokes(w: &mut LinkWorld, route: MerchantRoute) -> StepResult {
    let token = mint_for(w, &route).await?;
    let answer = seller(w).revoke_test_token(&token).await?;
    if answer.status != 200 || answer.body["deactivated_reason"] != "revoked" {
        bail!("revoking answered {}: {}", answer.status, answer.body);
    }
    w.notes.insert("seller_token".into(), token);
    Ok(())
}

/// Probes the route and pays its stripe challenge with the developer's token.
#[when(expr = "the developer pays {string} with that token")]
async fn pays(w: &mut LinkWorld, route: MerchantRoute) -> StepResult {
    let token = w
        .notes
        .get("seller_token")
        .cloned()
        .ok_or("no test token minted")?;
    let challenge = route.probe(&w.shop).await?;
    let credential = mpp_wire::format_credential(&challenge.spt_credential(&token));
    let response = mock_link::loopback_http_client()
        .get(route.url(&w.shop))
        .header("authorization", credential)
        .send()
        .await?;
    let receipt = response.headers().contains_key("payment-receipt");
    w.notes.insert(
        "seller_status".into(),
        response.status().as_u16().to_string(),
    );
    w.notes.insert("seller_receipt".into(), receipt.to_string());
    Ok(())
}

#[then(expr = "the developer's payment answered {int} {word} a receipt")]
async fn answered(w: &mut LinkWorld, status: u16, with: String) -> StepResult {
    let got = w.notes.get("seller_status").ok_or("nothing was paid")?;
    let receipt = w.notes.get("seller_receipt").is_some_and(|r| r == "true");
    let want_receipt = match with.as_str() {
        "with" => true,
        "without" => false,
        other => bail!("\"with\" or \"without\", not {other:?}"),
    };
    if *got != status.to_string() || receipt != want_receipt {
        bail!(
            "the payment answered {got} {} a receipt",
            if receipt { "with" } else { "without" }
        );
    }
    Ok(())
}

#[then(expr = "Stripe shows the token as {string}")]
async fn token_state(w: &mut LinkWorld, reason: String) -> StepResult {
    let token = w.notes.get("seller_token").ok_or("no test token minted")?;
    let answer = seller(w).granted_token(token).await?;
    if answer.body["deactivated_reason"] != reason.as_str() {
        bail!("the token is {}", answer.body);
    }
    Ok(())
}
