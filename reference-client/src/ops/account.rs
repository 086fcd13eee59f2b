//! `user-info retrieve`, `shipping-address list`.

use reqwest::Method;
use serde_json::Value;

use crate::args::NoArgs;
use crate::error::Result;
use crate::link::Link;
use crate::output::Emit;

/// The list in a list answer: a bare array, or under `data` or `key`.
pub fn list_in(body: Value, key: &str) -> Value {
    match body {
        Value::Array(_) => body,
        Value::Object(mut map) => map
            .remove("data")
            .or_else(|| map.remove(key))
            .unwrap_or(Value::Array(Vec::new())),
        _ => Value::Array(Vec::new()),
    }
}

/// `user-info retrieve`.
pub async fn user_info(link: &Link, _args: NoArgs, out: &mut dyn Emit) -> Result<()> {
    out.emit(link.api(Method::GET, "/userinfo", &[], None).await?);
    Ok(())
}

/// `shipping-address list`.
pub async fn shipping_addresses(link: &Link, _args: NoArgs, out: &mut dyn Emit) -> Result<()> {
    let body = link
        .api(Method::GET, "/shipping_addresses", &[], None)
        .await?;
    out.emit(list_in(body, "shipping_addresses"));
    Ok(())
}
