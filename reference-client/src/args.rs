//! The arguments of every operation, defined once: clap reads them from flags
//! (kebab-case), serde from MCP tool arguments (camelCase), schemars writes
//! the tools' input schemas from the same definitions.

use std::path::PathBuf;
use std::str::FromStr;

use clap::Args;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A JSON object given as a flag value (`--line-item '{"name":"Tea"}'`) or,
/// over MCP, as an object.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(transparent)]
pub struct JsonObject(pub serde_json::Map<String, Value>);

impl FromStr for JsonObject {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err("expected a JSON object".into()),
            Err(e) => Err(format!("not JSON: {e}")),
        }
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(map) => Ok(Self(map)),
            Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a JSON object")),
        }
    }
}

/// A number of seconds, fractional allowed.
pub type Seconds = f64;

/// `auth login`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginArgs {
    /// The name shown to the user on the approval page ("<name> on <host>").
    #[arg(long)]
    #[serde(default)]
    pub client_name: Option<String>,
    /// Seconds between token polls (default: as the server says). 0 returns at
    /// once and leaves `auth status` to finish the login.
    #[arg(long)]
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// Give up polling after this many seconds.
    #[arg(long)]
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Give up polling after this many polls.
    #[arg(long)]
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

/// `auth status`: with `--interval`, keeps polling a pending login.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusArgs {
    /// Seconds between polls of a pending login.
    #[arg(long)]
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// Give up after this many seconds.
    #[arg(long)]
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Give up after this many polls.
    #[arg(long)]
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

/// Commands with no arguments.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `spend-request create`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateArgs {
    /// The payment method (`csmrpd_...`); default: the account's default method.
    #[arg(long)]
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// `card` (default) or `shared_payment_token`.
    #[arg(long)]
    #[serde(default)]
    pub credential_type: Option<String>,
    /// The merchant's network id (`profile_...`), required for `shared_payment_token`.
    #[arg(long)]
    #[serde(default)]
    pub network_id: Option<String>,
    /// Merchant name (card only).
    #[arg(long)]
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// Merchant URL (card only).
    #[arg(long)]
    #[serde(default)]
    pub merchant_url: Option<String>,
    /// Amount in the smallest currency unit (1 to 500000).
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub amount: Option<String>,
    /// ISO currency code (default `usd`).
    #[arg(long)]
    #[serde(default)]
    pub currency: Option<String>,
    /// What the user reads when approving: at least 100 characters.
    #[arg(long)]
    #[serde(default)]
    pub context: Option<String>,
    /// A line item as a JSON object (`name` required); repeat the flag for more.
    #[arg(long = "line-item", alias = "line-items")]
    #[serde(default, alias = "lineItem")]
    pub line_items: Vec<JsonObject>,
    /// A total as a JSON object (`type`, `display_text`, `amount`); repeatable.
    #[arg(long = "total", alias = "totals")]
    #[serde(default, alias = "total")]
    pub totals: Vec<JsonObject>,
    /// Metadata as a JSON object of strings.
    #[arg(long)]
    #[serde(default)]
    pub metadata: Option<JsonObject>,
    /// Ask the user for approval right away.
    #[arg(long)]
    #[serde(default)]
    pub request_approval: bool,
    /// Test mode: test credentials only.
    #[arg(long)]
    #[serde(default)]
    pub test: bool,
    /// Makes retrying this creation safe: Link answers a repeat with the same
    /// spend request (1 to 255 bytes; reuse only for the same creation).
    #[arg(long)]
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// When the credential stops being usable, in unix seconds (Link: 3 hours
    /// to 7 days ahead, 12 hours when not given).
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub expires_at: Option<String>,
    /// Recurring terms: `day`, `week`, `month` or `year`.
    #[arg(long)]
    #[serde(default)]
    pub recurring_interval: Option<String>,
    /// Recurring terms: how many intervals between charges (needs `--recurring-interval`).
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub recurring_interval_count: Option<String>,
}

/// `spend-request update <id>`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateArgs {
    /// The spend request id (`lsrq_...`).
    pub id: String,
    /// New amount.
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub amount: Option<String>,
    /// New context (at least 100 characters).
    #[arg(long)]
    #[serde(default)]
    pub context: Option<String>,
    /// New payment method.
    #[arg(long)]
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// New merchant name.
    #[arg(long)]
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// New merchant URL.
    #[arg(long)]
    #[serde(default)]
    pub merchant_url: Option<String>,
    /// Replace the line items (JSON objects; repeatable).
    #[arg(long = "line-item", alias = "line-items")]
    #[serde(default, alias = "lineItem")]
    pub line_items: Vec<JsonObject>,
    /// Replace the totals (JSON objects; repeatable).
    #[arg(long = "total", alias = "totals")]
    #[serde(default, alias = "total")]
    pub totals: Vec<JsonObject>,
}

/// `spend-request retrieve <id>`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetrieveArgs {
    /// The spend request id.
    pub id: String,
    /// `card` and/or `shared_payment_token`: include the credential once approved.
    #[arg(long, value_delimiter = ',')]
    #[serde(default, deserialize_with = "one_or_many")]
    pub include: Vec<String>,
    /// Poll every this many seconds until a terminal status.
    #[arg(long)]
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// Give up polling after this many seconds (POLLING_TIMEOUT).
    #[arg(long)]
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Give up polling after this many polls (POLLING_TIMEOUT).
    #[arg(long)]
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Write the full object (card details included) to this file, mode 0600.
    #[arg(long)]
    #[serde(default)]
    pub output_file: Option<PathBuf>,
    /// Overwrite `--output-file` if it exists.
    #[arg(long)]
    #[serde(default)]
    pub force: bool,
}

/// Commands that take only a spend request id.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdArgs {
    /// The spend request id.
    pub id: String,
}

/// `payment-methods retrieve <id>`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodArgs {
    /// The payment method id (`csmrpd_...`).
    pub id: String,
}

/// `payment-methods update <id> --nickname S`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodUpdateArgs {
    /// The payment method id (`csmrpd_...`).
    pub id: String,
    /// The new nickname; an empty string clears it.
    #[arg(long, allow_hyphen_values = true)]
    pub nickname: String,
}

/// `spend-request list`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListArgs {
    /// Include terminal (approved, denied, expired, canceled, ...) requests.
    #[arg(long)]
    #[serde(default)]
    pub include_history: bool,
}

/// `mpp decode`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecodeArgs {
    /// The raw `WWW-Authenticate` value; repeat for several header fields.
    #[arg(long, required = true)]
    #[serde(deserialize_with = "one_or_many")]
    pub challenge: Vec<String>,
}

/// `mpp pay <url>`.
#[derive(Debug, Clone, Default, Args, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PayArgs {
    /// The merchant URL.
    pub url: String,
    /// An approved `shared_payment_token` spend request; without it the whole
    /// flow runs (create, wait for approval, pay).
    #[arg(long)]
    #[serde(default)]
    pub spend_request_id: Option<String>,
    /// HTTP method (default GET, or POST with `--data`).
    #[arg(long, short = 'X')]
    #[serde(default)]
    pub method: Option<String>,
    /// Request body (JSON; sets `Content-Type: application/json`).
    #[arg(long, short = 'd', allow_hyphen_values = true)]
    #[serde(default)]
    pub data: Option<String>,
    /// The raw `WWW-Authenticate` of the challenge the spend request was
    /// approved for (from `_next.pay_argv`): the merchant's current challenge
    /// must have the same terms (all but `id` and `expires`), or nothing is paid.
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default)]
    pub approved_challenge: Option<String>,
    /// Extra request header `Name: value`; repeatable.
    #[arg(long = "header", short = 'H')]
    #[serde(default, alias = "header", deserialize_with = "one_or_many")]
    pub headers: Vec<String>,
    /// Amount for the new spend request; must equal the challenge's.
    #[arg(long, allow_hyphen_values = true)]
    #[serde(default, deserialize_with = "string_or_number")]
    #[schemars(with = "Option<String>")]
    pub amount: Option<String>,
    /// Payment method for the new spend request.
    #[arg(long)]
    #[serde(default)]
    pub payment_method_id: Option<String>,
    /// Context for the new spend request (default: describes the purchase).
    #[arg(long)]
    #[serde(default)]
    pub context: Option<String>,
    /// Seconds between approval polls in the full flow (default 2).
    #[arg(long)]
    #[serde(default)]
    pub interval: Option<Seconds>,
    /// Give up waiting for approval after this many seconds.
    #[arg(long)]
    #[serde(default)]
    pub timeout: Option<Seconds>,
    /// Give up waiting for approval after this many polls.
    #[arg(long)]
    #[serde(default)]
    pub max_attempts: Option<u32>,
}

fn string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(serde::de::Error::custom(format!(
                    "expected a string, got {other}"
                ))),
            })
            .collect::<Result<_, _>>()?,
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected a string or an array, got {other}"
            )));
        }
    })
}
