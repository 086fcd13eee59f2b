//! Server-side validation of spend-request bodies: every rule of the contract, each failure
//! a 400 whose `param` and message name the field.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::accounts::PaymentMethod;
use crate::model::scripts::is_magic_payment_method;

/// The largest amount a spend request may carry, in the currency's smallest unit.
pub const MAX_AMOUNT: i64 = 500_000;
/// The shortest `context` accepted, in characters.
pub const MIN_CONTEXT_CHARS: usize = 100;
/// The nearest `expires_at` accepted: three hours ahead.
pub const MIN_EXPIRY_SECONDS: i64 = 3 * 3600;
/// The furthest `expires_at` accepted: seven days ahead.
pub const MAX_EXPIRY_SECONDS: i64 = 7 * 24 * 3600;
/// How much earlier than [`MIN_EXPIRY_SECONDS`] is still accepted, so that a client computing
/// "now + 3 h" on its own clock is not refused for the seconds its request took.
pub const EXPIRY_GRACE_SECONDS: i64 = 60;
/// `recurring.interval` values.
pub const RECURRING_INTERVALS: &[&str] = &["day", "week", "month", "year"];
/// Metadata limits.
pub const MAX_METADATA_KEYS: usize = 50;
pub const MAX_METADATA_KEY_CHARS: usize = 40;
pub const MAX_METADATA_VALUE_CHARS: usize = 500;
/// The `totals[].type` values Link knows.
pub const TOTAL_TYPES: &[&str] = &[
    "subtotal",
    "tax",
    "total",
    "items_base_amount",
    "items_discount",
    "discount",
    "fulfillment",
    "shipping",
    "fee",
    "gift_wrap",
    "tip",
    "store_credit",
];
const APPROVAL_METHODS: &[&str] = &["click", "programmatic", "voice"];

/// What kind of credential an approval issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    Card,
    SharedPaymentToken,
    /// A Link Pay Token for one merchant account (link-cli 1.x; `merchant_account_id`).
    LinkPayToken,
}

impl CredentialType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::SharedPaymentToken => "shared_payment_token",
            Self::LinkPayToken => "link_pay_token",
        }
    }
}

/// A spend-request body that passed validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendRequestInput {
    pub payment_details: String,
    pub card_brand: Option<String>,
    pub card_last4: Option<String>,
    pub credential_type: CredentialType,
    pub network_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub merchant_name: Option<String>,
    pub merchant_url: Option<String>,
    pub context: String,
    pub line_items: Vec<Value>,
    pub totals: Vec<Value>,
    pub request_approval: bool,
    pub test: bool,
    pub approval_details: Option<Value>,
    pub metadata: Map<String, Value>,
    pub expires_at: Option<i64>,
    /// `{interval, interval_count}`, or `null`.
    pub recurring: Value,
    pub execution_method: Option<String>,
    pub merchant_account_id: Option<String>,
}

impl SpendRequestInput {
    /// Whether two open requests with these bodies are duplicates of each other: the
    /// same payment method, credential type, network, amount, currency, merchant, context,
    /// line items, totals and recurring terms. Compares in place: `create` asks it of every
    /// open request of the user, so it must not allocate.
    pub fn duplicates(&self, other: &Self) -> bool {
        self.amount == other.amount
            && self.credential_type == other.credential_type
            && self.payment_details == other.payment_details
            && self.network_id == other.network_id
            && self.currency == other.currency
            && self.merchant_name == other.merchant_name
            && self.merchant_url == other.merchant_url
            && self.context == other.context
            && self.line_items == other.line_items
            && self.totals == other.totals
            && self.recurring == other.recurring
            && self.merchant_account_id == other.merchant_account_id
    }
}

fn optional_string(fields: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(Error::invalid_param(key, "must be a string")),
    }
}

fn required_string(fields: &Map<String, Value>, key: &str) -> Result<String> {
    match optional_string(fields, key)? {
        Some(value) if !value.trim().is_empty() => Ok(value),
        Some(_) => Err(Error::invalid_param(key, "must not be empty")),
        None => Err(Error::missing_param(key)),
    }
}

fn optional_integer(fields: &Map<String, Value>, key: &str) -> Result<Option<i64>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| Error::invalid_param(key, "must be an integer")),
        Some(_) => Err(Error::invalid_param(key, "must be an integer")),
    }
}

fn optional_bool(fields: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(value)) => Ok(Some(*value)),
        Some(_) => Err(Error::invalid_param(key, "must be a boolean")),
    }
}

fn optional_array<'a>(fields: &'a Map<String, Value>, key: &str) -> Result<&'a [Value]> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(Error::invalid_param(key, "must be an array")),
    }
}

fn is_http_url(value: &str) -> bool {
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    rest.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
}

fn validate_line_items(items: &[Value]) -> Result<Vec<Value>> {
    let mut checked = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::Object(item) = item else {
            return Err(Error::invalid_param(
                &format!("line_items[{index}]"),
                "must be an object",
            ));
        };
        let param = |field: &str| format!("line_items[{index}].{field}");
        match item.get("name") {
            Some(Value::String(name)) if !name.trim().is_empty() => {}
            Some(Value::String(_)) => {
                return Err(Error::invalid_param(&param("name"), "must not be empty"));
            }
            None | Some(Value::Null) => return Err(Error::missing_param(&param("name"))),
            Some(_) => return Err(Error::invalid_param(&param("name"), "must be a string")),
        }
        if let Some(quantity) = optional_integer(item, "quantity")
            .map_err(|_| Error::invalid_param(&param("quantity"), "must be an integer"))?
            && quantity < 1
        {
            return Err(Error::invalid_param(
                &param("quantity"),
                "must be at least 1",
            ));
        }
        if let Some(unit_amount) = optional_integer(item, "unit_amount")
            .map_err(|_| Error::invalid_param(&param("unit_amount"), "must be an integer"))?
            && unit_amount < 0
        {
            return Err(Error::invalid_param(
                &param("unit_amount"),
                "must not be negative",
            ));
        }
        for field in ["description", "sku", "url", "image_url", "product_url"] {
            optional_string(item, field)
                .map_err(|_| Error::invalid_param(&param(field), "must be a string"))?;
        }
        checked.push(Value::Object(item.clone()));
    }
    Ok(checked)
}

fn validate_totals(totals: &[Value]) -> Result<Vec<Value>> {
    let mut checked = Vec::with_capacity(totals.len());
    for (index, total) in totals.iter().enumerate() {
        let Value::Object(total) = total else {
            return Err(Error::invalid_param(
                &format!("totals[{index}]"),
                "must be an object",
            ));
        };
        let param = |field: &str| format!("totals[{index}].{field}");
        match total.get("type") {
            Some(Value::String(kind)) if TOTAL_TYPES.contains(&kind.as_str()) => {}
            None | Some(Value::Null) => return Err(Error::missing_param(&param("type"))),
            Some(_) => {
                return Err(Error::invalid_param(
                    &param("type"),
                    format!("must be one of {}", TOTAL_TYPES.join(", ")),
                ));
            }
        }
        optional_string(total, "display_text")
            .map_err(|_| Error::invalid_param(&param("display_text"), "must be a string"))?;
        match optional_integer(total, "amount")
            .map_err(|_| Error::invalid_param(&param("amount"), "must be an integer"))?
        {
            Some(_) => {}
            None => return Err(Error::missing_param(&param("amount"))),
        }
        checked.push(Value::Object(total.clone()));
    }
    Ok(checked)
}

fn validate_metadata(fields: &Map<String, Value>) -> Result<Map<String, Value>> {
    let metadata = match fields.get("metadata") {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(metadata)) => metadata,
        Some(_) => return Err(Error::invalid_param("metadata", "must be an object")),
    };
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(Error::invalid_param(
            "metadata",
            format!(
                "must have at most {MAX_METADATA_KEYS} keys (got {})",
                metadata.len()
            ),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY_CHARS {
            return Err(Error::invalid_param(
                "metadata",
                format!("keys must be 1 to {MAX_METADATA_KEY_CHARS} characters ('{key}' is not)"),
            ));
        }
        match value {
            Value::String(text) if text.chars().count() <= MAX_METADATA_VALUE_CHARS => {}
            Value::String(_) => {
                return Err(Error::invalid_param(
                    &format!("metadata.{key}"),
                    format!("must be at most {MAX_METADATA_VALUE_CHARS} characters"),
                ));
            }
            _ => {
                return Err(Error::invalid_param(
                    &format!("metadata.{key}"),
                    "must be a string",
                ));
            }
        }
    }
    Ok(metadata.clone())
}

fn validate_approval_details(fields: &Map<String, Value>) -> Result<Option<Value>> {
    let details = match fields.get("approval_details") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(details)) => details,
        Some(_) => {
            return Err(Error::invalid_param(
                "approval_details",
                "must be an object",
            ));
        }
    };
    match details.get("approval_method") {
        Some(Value::String(method)) if APPROVAL_METHODS.contains(&method.as_str()) => {}
        None | Some(Value::Null) => {
            return Err(Error::missing_param("approval_details.approval_method"));
        }
        Some(_) => {
            return Err(Error::invalid_param(
                "approval_details.approval_method",
                "must be one of click, programmatic, voice",
            ));
        }
    }
    optional_integer(details, "approved_at")
        .map_err(|_| Error::invalid_param("approval_details.approved_at", "must be an integer"))?;
    for field in ["app_name", "external_user_id"] {
        optional_string(details, field).map_err(|_| {
            Error::invalid_param(&format!("approval_details.{field}"), "must be a string")
        })?;
    }
    Ok(Some(Value::Object(details.clone())))
}

/// `recurring: {interval: day|week|month|year, interval_count >= 1 (default 1)}`, or `null`.
fn validate_recurring(fields: &Map<String, Value>) -> Result<Value> {
    let recurring = match fields.get("recurring") {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(Value::Object(recurring)) => recurring,
        Some(_) => return Err(Error::invalid_param("recurring", "must be an object")),
    };
    let interval = match recurring.get("interval") {
        Some(Value::String(interval)) if RECURRING_INTERVALS.contains(&interval.as_str()) => {
            interval.clone()
        }
        None | Some(Value::Null) => return Err(Error::missing_param("recurring.interval")),
        Some(_) => {
            return Err(Error::invalid_param(
                "recurring.interval",
                format!("must be one of {}", RECURRING_INTERVALS.join(", ")),
            ));
        }
    };
    let interval_count = optional_integer(recurring, "interval_count")
        .map_err(|_| Error::invalid_param("recurring.interval_count", "must be an integer"))?
        .unwrap_or(1);
    if interval_count < 1 {
        return Err(Error::invalid_param(
            "recurring.interval_count",
            "must be at least 1",
        ));
    }
    Ok(serde_json::json!({ "interval": interval, "interval_count": interval_count }))
}

/// Checks an `expires_at` a caller sent: `client_allowed` says whether its OAuth client is on
/// the allow-list; the time must lie 3 h to 7 d after `now` (unix seconds).
pub fn check_expires_at(expires_at: i64, now: i64, client_allowed: bool) -> Result<()> {
    if !client_allowed {
        return Err(Error::api(
            axum::http::StatusCode::BAD_REQUEST,
            "expires_at_not_supported",
            "expires_at is not supported for this client",
        )
        .with_extra("param", Value::String("expires_at".into())));
    }
    let earliest = now + MIN_EXPIRY_SECONDS - EXPIRY_GRACE_SECONDS;
    let latest = now.saturating_add(MAX_EXPIRY_SECONDS);
    if !(earliest..=latest).contains(&expires_at) {
        return Err(Error::invalid_param(
            "expires_at",
            "must be between 3 hours and 7 days from now (unix seconds)",
        ));
    }
    Ok(())
}

/// Validates a create (or merged update) body for a user holding `payment_methods`.
pub fn validate(
    fields: &Map<String, Value>,
    payment_methods: &[PaymentMethod],
) -> Result<SpendRequestInput> {
    // Absent: the account's default payment method (the public client may omit it).
    let payment_details = match optional_string(fields, "payment_details")? {
        Some(id) if id.trim().is_empty() => {
            return Err(Error::invalid_param("payment_details", "must not be empty"));
        }
        Some(id) => id,
        None => payment_methods
            .iter()
            .find(|method| method.is_default)
            .or(payment_methods.first())
            .map(|method| method.id.clone())
            .unwrap_or_default(),
    };
    let magic_method;
    let method = match payment_methods
        .iter()
        .find(|method| method.id == payment_details)
    {
        Some(method) => method,
        None if is_magic_payment_method(&payment_details) => {
            magic_method = PaymentMethod::card(payment_details.clone(), "visa", "0000", false);
            &magic_method
        }
        None if payment_methods.is_empty() => {
            return Err(Error::invalid_param(
                "payment_details",
                "this account has no payment method; add one first",
            )
            .with_extra("no_payment_method", Value::Bool(true)));
        }
        None => {
            return Err(Error::invalid_param(
                "payment_details",
                format!("no payment method '{payment_details}' on this account"),
            ));
        }
    };

    let credential_type = match optional_string(fields, "credential_type")?.as_deref() {
        None | Some("card") => CredentialType::Card,
        Some("shared_payment_token") => CredentialType::SharedPaymentToken,
        Some("link_pay_token") => CredentialType::LinkPayToken,
        Some(other) => {
            return Err(Error::invalid_param(
                "credential_type",
                format!("must be card, shared_payment_token or link_pay_token (got '{other}')"),
            ));
        }
    };

    let amount =
        optional_integer(fields, "amount")?.ok_or_else(|| Error::missing_param("amount"))?;
    if amount > MAX_AMOUNT {
        // The 1.x client dropped its own maximum: the server alone enforces it.
        return Err(Error::param_error(
            "amount_too_large",
            "amount",
            format!("must be at most {MAX_AMOUNT} (got {amount})"),
        ));
    }
    if amount < 1 {
        return Err(Error::invalid_param(
            "amount",
            format!("must be between 1 and {MAX_AMOUNT} (got {amount})"),
        ));
    }

    let currency = optional_string(fields, "currency")?
        .unwrap_or_else(|| "usd".into())
        .to_ascii_lowercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(Error::invalid_param(
            "currency",
            "must be a three-letter ISO currency code",
        ));
    }

    let context = required_string(fields, "context")?;
    let context_chars = context.chars().count();
    if context_chars < MIN_CONTEXT_CHARS {
        return Err(Error::invalid_param(
            "context",
            format!("must be at least {MIN_CONTEXT_CHARS} characters (got {context_chars})"),
        ));
    }

    let merchant_name = optional_string(fields, "merchant_name")?;
    let merchant_url = optional_string(fields, "merchant_url")?;
    let network_id = optional_string(fields, "network_id")?;
    match credential_type {
        CredentialType::Card => {
            if network_id.is_some() {
                return Err(Error::invalid_param(
                    "network_id",
                    "is only allowed with credential_type shared_payment_token",
                ));
            }
            match merchant_name.as_deref() {
                Some(name) if !name.trim().is_empty() => {}
                Some(_) => return Err(Error::invalid_param("merchant_name", "must not be empty")),
                None => return Err(Error::missing_param("merchant_name")),
            }
            match merchant_url.as_deref() {
                Some(url) if is_http_url(url) => {}
                Some(_) => {
                    return Err(Error::invalid_param(
                        "merchant_url",
                        "must be an http(s) URL",
                    ));
                }
                None => return Err(Error::missing_param("merchant_url")),
            }
        }
        // Bound to a merchant account instead: merchant name and URL are optional.
        CredentialType::LinkPayToken => {
            if network_id.is_some() {
                return Err(Error::invalid_param(
                    "network_id",
                    "is only allowed with credential_type shared_payment_token",
                ));
            }
            if let Some(url) = merchant_url.as_deref()
                && !is_http_url(url)
            {
                return Err(Error::invalid_param(
                    "merchant_url",
                    "must be an http(s) URL",
                ));
            }
        }
        CredentialType::SharedPaymentToken => {
            if merchant_name.is_some() {
                return Err(Error::invalid_param(
                    "merchant_name",
                    "must not be set for credential_type shared_payment_token",
                ));
            }
            if merchant_url.is_some() {
                return Err(Error::invalid_param(
                    "merchant_url",
                    "must not be set for credential_type shared_payment_token",
                ));
            }
            match network_id.as_deref() {
                Some(id) if !id.trim().is_empty() => {}
                Some(_) => return Err(Error::invalid_param("network_id", "must not be empty")),
                None => return Err(Error::missing_param("network_id")),
            }
        }
    }

    let line_items = validate_line_items(optional_array(fields, "line_items")?)?;
    let totals = validate_totals(optional_array(fields, "totals")?)?;
    let request_approval = optional_bool(fields, "request_approval")?.unwrap_or(false);
    let test = optional_bool(fields, "test")?.unwrap_or(false);
    let approval_details = validate_approval_details(fields)?;
    let metadata = validate_metadata(fields)?;

    // Its range and the client allow-list are checked where it is sent ([`check_expires_at`]).
    let expires_at = optional_integer(fields, "expires_at")?;
    let recurring = validate_recurring(fields)?;

    let execution_method = optional_string(fields, "execution_method")?;
    // Trimmed, as the 1.x client sends it.
    let merchant_account_id =
        optional_string(fields, "merchant_account_id")?.map(|id| id.trim().to_owned());
    match execution_method.as_deref() {
        // link-cli 1.x: `credential_type: link_pay_token` with `merchant_account_id`.
        None if credential_type == CredentialType::LinkPayToken => {
            if merchant_account_id.as_deref().is_none_or(str::is_empty) {
                return Err(Error::missing_param("merchant_account_id"));
            }
        }
        None => {
            if merchant_account_id.is_some() {
                return Err(Error::invalid_param(
                    "merchant_account_id",
                    "is only allowed with credential_type link_pay_token",
                ));
            }
        }
        // link-cli 0.13.1: `execution_method: link_pay_token` on a card request.
        Some("link_pay_token") => {
            if credential_type != CredentialType::Card {
                return Err(Error::invalid_param(
                    "execution_method",
                    "link_pay_token is only allowed with credential_type card",
                ));
            }
            if merchant_account_id.as_deref().is_none_or(str::is_empty) {
                return Err(Error::missing_param("merchant_account_id"));
            }
        }
        Some(other) => {
            return Err(Error::invalid_param(
                "execution_method",
                format!("must be link_pay_token (got '{other}')"),
            ));
        }
    }

    Ok(SpendRequestInput {
        payment_details: payment_details.clone(),
        card_brand: method.card_details.as_ref().map(|card| card.brand.clone()),
        card_last4: method.card_details.as_ref().map(|card| card.last4.clone()),
        credential_type,
        network_id,
        amount,
        currency,
        merchant_name,
        merchant_url,
        context,
        line_items,
        totals,
        request_approval,
        test,
        approval_details,
        metadata,
        expires_at,
        recurring,
        execution_method,
        merchant_account_id,
    })
}
