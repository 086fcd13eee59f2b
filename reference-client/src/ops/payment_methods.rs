//! `payment-methods list|add|retrieve|update`, and the default payment method a
//! spend request falls back to.

use reqwest::Method;
use serde_json::{Value, json};

use crate::args::{NoArgs, PaymentMethodArgs, PaymentMethodUpdateArgs};
use crate::error::{ClientError, Result, codes};
use crate::link::Link;
use crate::ops::path_segment;
use crate::output::Emit;

/// The account's default payment method id (or the first one).
pub async fn default_payment_method(link: &Link) -> Result<String> {
    let methods = list_payment_methods(link).await?;
    let list = methods.as_array().cloned().unwrap_or_default();
    list.iter()
        .find(|m| m.get("is_default").and_then(Value::as_bool) == Some(true))
        .or_else(|| list.first())
        .and_then(|m| m.get("id").and_then(Value::as_str))
        .map(str::to_owned)
        .ok_or_else(|| {
            ClientError::new(
                codes::NO_PAYMENT_METHOD,
                "the Link account has no payment method; run `link-ref payment-methods add` and add one",
            )
        })
}

async fn list_payment_methods(link: &Link) -> Result<Value> {
    let body = link.api(Method::GET, "/payment-details", &[], None).await?;
    Ok(crate::ops::account::list_in(body, "payment_details"))
}

/// `payment-methods list`.
pub async fn list(link: &Link, _args: NoArgs, out: &mut dyn Emit) -> Result<()> {
    out.emit(list_payment_methods(link).await?);
    Ok(())
}

/// `payment-methods add`: where the user adds one (the wallet page).
pub async fn add(link: &Link, _args: NoArgs, out: &mut dyn Emit) -> Result<()> {
    let url = std::env::var("LINK_WALLET_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("{}/payment-methods/add", link.config().auth_base_url));
    out.emit(json!({
        "url": url,
        "instruction": "Open this URL and add a card; then `link-ref payment-methods list` shows it.",
    }));
    Ok(())
}

/// `payment-methods retrieve <id>`: `GET /payment-details/{id}` (unknown: `NOT_FOUND`).
pub async fn retrieve(link: &Link, args: PaymentMethodArgs, out: &mut dyn Emit) -> Result<()> {
    let path = format!(
        "/payment-details/{}",
        path_segment(&args.id, "payment method", "csmrpd_")?
    );
    out.emit(link.api(Method::GET, &path, &[], None).await?);
    Ok(())
}

/// `payment-methods update <id> --nickname S`: `POST /payment-details/{id}`
/// `{nickname}`; `""` clears it.
pub async fn update(link: &Link, args: PaymentMethodUpdateArgs, out: &mut dyn Emit) -> Result<()> {
    let path = format!(
        "/payment-details/{}",
        path_segment(&args.id, "payment method", "csmrpd_")?
    );
    let body = json!({ "nickname": args.nickname });
    out.emit(link.api(Method::POST, &path, &[], Some(&body)).await?);
    Ok(())
}
