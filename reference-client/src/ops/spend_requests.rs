//! `spend-request create|update|retrieve|request-approval|cancel|list`.

use std::io::Write;
use std::path::Path;

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::args::{CreateArgs, IdArgs, ListArgs, RetrieveArgs, UpdateArgs};
use crate::error::{ClientError, Result, codes};
use crate::link::Link;
use crate::ops::Poller;
use crate::ops::path_segment;
use crate::ops::payment_methods::default_payment_method;
use crate::output::{Emit, mask};

/// Link's bounds on a spend request.
pub const MAX_AMOUNT: u64 = 500_000;
/// The least context the user must be given.
pub const MIN_CONTEXT_CHARS: usize = 100;

/// Statuses after which polling stops.
const TERMINAL: [&str; 6] = [
    "approved",
    "denied",
    "expired",
    "succeeded",
    "failed",
    "canceled",
];

/// Whether a poller should stop at this spend request: terminal statuses, and
/// `requires_action` unless it resolves by itself (`auto_resume`).
pub fn is_terminal(request: &Value) -> bool {
    let status = request
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if status == "requires_action" {
        return resolution(request) != Some("auto_resume");
    }
    TERMINAL.contains(&status)
}

fn resolution(request: &Value) -> Option<&str> {
    request
        .pointer("/status_details/requires_action/next_action/resolution")
        .and_then(Value::as_str)
}

/// Parses an amount flag: a whole number of the smallest unit, 1..=500000.
pub fn parse_amount(raw: &str) -> Result<u64> {
    let amount: u64 = raw.trim().parse().map_err(|_| {
        ClientError::validation(
            "amount",
            format!("{raw:?} is not a positive whole number of the smallest currency unit"),
        )
    })?;
    if amount == 0 || amount > MAX_AMOUNT {
        return Err(ClientError::validation(
            "amount",
            format!("must be between 1 and {MAX_AMOUNT}, got {amount}"),
        ));
    }
    Ok(amount)
}

fn check_context(context: &str) -> Result<()> {
    let chars = context.chars().count();
    if chars < MIN_CONTEXT_CHARS {
        return Err(ClientError::validation(
            "context",
            format!(
                "must be at least {MIN_CONTEXT_CHARS} characters so the user knows what they approve (got {chars})"
            ),
        ));
    }
    Ok(())
}

fn objects(items: &[crate::args::JsonObject]) -> Value {
    Value::Array(items.iter().map(|o| Value::Object(o.0.clone())).collect())
}

/// Checks the flags of `create` and builds the body, before any request.
pub fn create_body(args: &CreateArgs) -> Result<Map<String, Value>> {
    check_new_terms(args)?;
    let credential_type = args.credential_type.as_deref().unwrap_or("card");
    if !matches!(credential_type, "card" | "shared_payment_token") {
        return Err(ClientError::validation(
            "credential_type",
            format!("{credential_type:?} is not one of card, shared_payment_token"),
        ));
    }
    let amount = parse_amount(
        args.amount
            .as_deref()
            .ok_or_else(|| ClientError::validation("amount", "required"))?,
    )?;
    check_context(args.context.as_deref().unwrap_or_default())?;
    let spt = credential_type == "shared_payment_token";
    if spt {
        for (field, value) in [
            ("merchant_name", &args.merchant_name),
            ("merchant_url", &args.merchant_url),
        ] {
            if value.is_some() {
                return Err(ClientError::validation(
                    field,
                    "not allowed with shared_payment_token: the network id names the merchant",
                ));
            }
        }
        if args.network_id.as_deref().is_none_or(str::is_empty) {
            return Err(ClientError::validation(
                "network_id",
                "required with shared_payment_token",
            ));
        }
    } else {
        for (field, value) in [
            ("merchant_name", &args.merchant_name),
            ("merchant_url", &args.merchant_url),
        ] {
            if value.as_deref().is_none_or(str::is_empty) {
                return Err(ClientError::validation(
                    field,
                    "required for a card spend request",
                ));
            }
        }
    }
    let mut body = Map::new();
    body.insert("credential_type".into(), json!(credential_type));
    body.insert("amount".into(), json!(amount));
    body.insert(
        "currency".into(),
        json!(
            args.currency
                .as_deref()
                .unwrap_or("usd")
                .to_ascii_lowercase()
        ),
    );
    body.insert("context".into(), json!(args.context));
    for (key, value) in [
        ("network_id", &args.network_id),
        ("merchant_name", &args.merchant_name),
        ("merchant_url", &args.merchant_url),
        ("payment_details", &args.payment_method_id),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), json!(v));
        }
    }
    if !args.line_items.is_empty() {
        body.insert("line_items".into(), objects(&args.line_items));
    }
    if !args.totals.is_empty() {
        body.insert("totals".into(), objects(&args.totals));
    }
    if let Some(m) = &args.metadata {
        body.insert("metadata".into(), Value::Object(m.0.clone()));
    }
    if args.request_approval {
        body.insert("request_approval".into(), json!(true));
    }
    if args.test {
        body.insert("test".into(), json!(true));
    }
    if let Some(key) = &args.idempotency_key {
        body.insert("idempotency_key".into(), json!(key));
    }
    if let Some(raw) = &args.expires_at {
        body.insert("expires_at".into(), json!(parse_expires_at(raw)?));
    }
    if let Some(recurring) = recurring_terms(args)? {
        body.insert("recurring".into(), recurring);
    }
    Ok(body)
}

/// Recurring intervals Link accepts.
const RECURRING_INTERVALS: [&str; 4] = ["day", "week", "month", "year"];

/// The longest idempotency key Link accepts, in UTF-8 bytes.
const MAX_IDEMPOTENCY_KEY_BYTES: usize = 255;

/// Checks the 1.x create flags that need no request: the idempotency key's
/// length, `--expires-at`, and the recurring terms (the count needs the interval).
fn check_new_terms(args: &CreateArgs) -> Result<()> {
    if args.recurring_interval_count.is_some() && args.recurring_interval.is_none() {
        return Err(ClientError::invalid_input(
            "recurring-interval is required with recurring-interval-count",
        ));
    }
    if let Some(key) = &args.idempotency_key
        && !(1..=MAX_IDEMPOTENCY_KEY_BYTES).contains(&key.len())
    {
        return Err(ClientError::validation(
            "idempotency_key",
            format!(
                "must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes, got {}",
                key.len()
            ),
        ));
    }
    Ok(())
}

/// `--expires-at`: a whole number of unix seconds (Link checks the range).
fn parse_expires_at(raw: &str) -> Result<i64> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .filter(|t| *t > 0)
        .ok_or_else(|| {
            ClientError::validation(
                "expires_at",
                format!("{raw:?} is not a time in unix seconds"),
            )
        })
}

/// `recurring: {interval, interval_count?}` from `--recurring-interval[-count]`.
fn recurring_terms(args: &CreateArgs) -> Result<Option<Value>> {
    let Some(interval) = &args.recurring_interval else {
        return Ok(None);
    };
    if !RECURRING_INTERVALS.contains(&interval.as_str()) {
        return Err(ClientError::validation(
            "recurring_interval",
            format!(
                "{interval:?} is not one of {}",
                RECURRING_INTERVALS.join(", ")
            ),
        ));
    }
    let mut terms = json!({ "interval": interval });
    if let Some(raw) = &args.recurring_interval_count {
        let count = raw
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|c| *c > 0)
            .ok_or_else(|| {
                ClientError::validation(
                    "recurring_interval_count",
                    format!("{raw:?} is not a whole number of intervals (1 or more)"),
                )
            })?;
        terms["interval_count"] = json!(count);
    }
    Ok(Some(terms))
}

fn with_next(mut request: Value) -> Value {
    let id = request
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let status = request
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let next = match status {
        "pending_approval" => Some(json!({
            "command": format!("spend-request retrieve {id} --interval 2 --max-attempts 300"),
            "until": "status is approved, denied or expired",
        })),
        "created" => Some(json!({
            "command": format!("spend-request request-approval {id}"),
            "until": "the user has an approval link",
        })),
        _ => None,
    };
    if let (Some(next), Some(object)) = (next, request.as_object_mut()) {
        object.insert("_next".into(), next);
    }
    request
}

/// Creates a spend request from checked flags; fills in the default payment method.
pub async fn create_request(link: &Link, args: &CreateArgs) -> Result<Value> {
    let mut body = create_body(args)?;
    if !body.contains_key("payment_details") {
        body.insert(
            "payment_details".into(),
            json!(default_payment_method(link).await?),
        );
    }
    link.api(
        Method::POST,
        "/spend_requests",
        &[],
        Some(&Value::Object(body)),
    )
    .await
}

/// `spend-request create`.
pub async fn create(link: &Link, args: CreateArgs, out: &mut dyn Emit) -> Result<()> {
    out.emit(with_next(create_request(link, &args).await?));
    Ok(())
}

/// `spend-request update <id>`.
pub async fn update(link: &Link, args: UpdateArgs, out: &mut dyn Emit) -> Result<()> {
    let mut body = Map::new();
    if let Some(raw) = &args.amount {
        body.insert("amount".into(), json!(parse_amount(raw)?));
    }
    if let Some(context) = &args.context {
        check_context(context)?;
        body.insert("context".into(), json!(context));
    }
    for (key, value) in [
        ("payment_details", &args.payment_method_id),
        ("merchant_name", &args.merchant_name),
        ("merchant_url", &args.merchant_url),
    ] {
        if let Some(v) = value {
            body.insert(key.into(), json!(v));
        }
    }
    if !args.line_items.is_empty() {
        body.insert("line_items".into(), objects(&args.line_items));
    }
    if !args.totals.is_empty() {
        body.insert("totals".into(), objects(&args.totals));
    }
    if body.is_empty() {
        return Err(ClientError::invalid_input(
            "nothing to update: give at least one of --amount, --context, --line-item, ...",
        ));
    }
    let path = format!("/spend_requests/{}", path_id(&args.id)?);
    out.emit(
        link.api(Method::POST, &path, &[], Some(&Value::Object(body)))
            .await?,
    );
    Ok(())
}

/// A spend request id safe to put in a path.
pub fn path_id(id: &str) -> Result<&str> {
    path_segment(id, "spend request", "lsrq_")
}

/// Fetches a spend request once.
pub async fn fetch(link: &Link, id: &str, include: &[String]) -> Result<Value> {
    for item in include {
        if !matches!(item.as_str(), "card" | "shared_payment_token") {
            return Err(ClientError::validation(
                "include",
                format!("{item:?} is not one of card, shared_payment_token"),
            ));
        }
    }
    let query: Vec<(&str, String)> = if include.is_empty() {
        Vec::new()
    } else {
        vec![("include", include.join(","))]
    };
    link.api(
        Method::GET,
        &format!("/spend_requests/{}", path_id(id)?),
        &query,
        None,
    )
    .await
}

/// Polls a spend request until a terminal status. A transient failure of one
/// poll (5xx, dropped connection, timeout) is retried with backoff within the
/// poller's bounds; any other failure ends the polling.
pub async fn wait_for_terminal(
    link: &Link,
    id: &str,
    include: &[String],
    mut poller: Poller,
) -> Result<Value> {
    let mut first = true;
    loop {
        if !first {
            poller.wait().await?;
        }
        first = false;
        poller.attempt()?;
        match fetch(link, id, include).await {
            Ok(request) if is_terminal(&request) => return Ok(request),
            Ok(_) => poller.succeeded(),
            Err(e) => poller.failed(e)?,
        }
    }
}

/// `spend-request retrieve <id>`.
pub async fn retrieve(link: &Link, args: RetrieveArgs, out: &mut dyn Emit) -> Result<()> {
    if let Some(path) = &args.output_file
        && path.exists()
        && !args.force
    {
        return Err(ClientError::new(
            codes::OUTPUT_FILE_EXISTS,
            format!("{} exists; pass --force to overwrite it", path.display()),
        ));
    }
    let mut request = match args.interval.filter(|i| *i > 0.0) {
        Some(interval) => {
            let poller = Poller::new(
                interval,
                args.timeout,
                args.max_attempts,
                "the spend request to reach a final status",
            )?;
            wait_for_terminal(link, &args.id, &args.include, poller).await?
        }
        None => fetch(link, &args.id, &args.include).await?,
    };
    if request.get("status").and_then(Value::as_str) == Some("requires_action")
        && is_terminal(&request)
    {
        request["_next"] = json!({
            "message": "this spend request cannot go on: create a new spend request (after completing the action if the resolution says so)",
            "resolution": resolution(&request),
        });
    }
    if let Some(path) = &args.output_file {
        write_private(path, &request)?;
        let mut shown = mask(request);
        shown["output_file"] = json!(path.display().to_string());
        out.emit(shown);
    } else {
        out.emit(request);
    }
    Ok(())
}

fn write_private(path: &Path, value: &Value) -> Result<()> {
    let fail = |e: std::io::Error| {
        ClientError::new(
            codes::OUTPUT_FILE_WRITE_ERROR,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(fail)?;
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(fail)
}

/// `spend-request request-approval <id>`.
pub async fn request_approval(link: &Link, args: IdArgs, out: &mut dyn Emit) -> Result<()> {
    let id = path_id(&args.id)?;
    let mut result = link
        .api(
            Method::POST,
            &format!("/spend_requests/{id}/request_approval"),
            &[],
            Some(&json!({})),
        )
        .await?;
    if let Some(object) = result.as_object_mut() {
        object.insert(
            "_next".into(),
            json!({
                "command": format!("spend-request retrieve {id} --interval 2 --max-attempts 300"),
                "until": "status is approved, denied or expired",
            }),
        );
    }
    out.emit(result);
    Ok(())
}

/// `spend-request cancel <id>`.
pub async fn cancel(link: &Link, args: IdArgs, out: &mut dyn Emit) -> Result<()> {
    let id = path_id(&args.id)?;
    out.emit(
        link.api(
            Method::POST,
            &format!("/spend_requests/{id}/cancel"),
            &[],
            Some(&json!({})),
        )
        .await?,
    );
    Ok(())
}

/// `spend-request list`.
pub async fn list(link: &Link, args: ListArgs, out: &mut dyn Emit) -> Result<()> {
    let query: Vec<(&str, String)> = if args.include_history {
        vec![("include_history", "true".into())]
    } else {
        Vec::new()
    };
    let body = link
        .api(Method::GET, "/spend_requests", &query, None)
        .await?;
    out.emit(crate::ops::account::list_in(body, "spend_requests"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_checked_before_any_request() {
        let base = CreateArgs {
            amount: Some("1000".into()),
            context: Some("x".repeat(100)),
            merchant_name: Some("Shop".into()),
            merchant_url: Some("https://shop.example".into()),
            ..CreateArgs::default()
        };
        assert!(create_body(&base).is_ok());
        let field = |args: CreateArgs| {
            let e = create_body(&args).unwrap_err();
            assert_eq!(e.code, codes::VALIDATION_ERROR);
            e.extra["fieldErrors"][0]["field"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            field(CreateArgs {
                context: Some("short".into()),
                ..base.clone()
            }),
            "context"
        );
        assert_eq!(
            field(CreateArgs {
                amount: Some("-5".into()),
                ..base.clone()
            }),
            "amount"
        );
        assert_eq!(
            field(CreateArgs {
                amount: Some("ten".into()),
                ..base.clone()
            }),
            "amount"
        );
        assert_eq!(
            field(CreateArgs {
                amount: Some("500001".into()),
                ..base.clone()
            }),
            "amount"
        );
        assert_eq!(
            field(CreateArgs {
                credential_type: Some("cash".into()),
                ..base.clone()
            }),
            "credential_type"
        );
        let spt = CreateArgs {
            credential_type: Some("shared_payment_token".into()),
            network_id: Some("profile_x".into()),
            ..base.clone()
        };
        assert_eq!(field(spt.clone()), "merchant_name");
        let spt = CreateArgs {
            merchant_name: None,
            merchant_url: None,
            ..spt
        };
        assert!(create_body(&spt).is_ok());
        assert_eq!(
            field(CreateArgs {
                network_id: None,
                ..spt
            }),
            "network_id"
        );
    }

    #[test]
    fn new_terms_go_in_the_body_and_bad_ones_are_refused_first() {
        let base = CreateArgs {
            amount: Some("1000".into()),
            context: Some("x".repeat(100)),
            merchant_name: Some("Shop".into()),
            merchant_url: Some("https://shop.example".into()),
            ..CreateArgs::default()
        };
        let body = create_body(&CreateArgs {
            idempotency_key: Some("order-42".into()),
            expires_at: Some("1900000000".into()),
            recurring_interval: Some("month".into()),
            recurring_interval_count: Some("3".into()),
            ..base.clone()
        })
        .unwrap();
        assert_eq!(body["idempotency_key"], "order-42");
        assert_eq!(body["expires_at"], 1_900_000_000);
        assert_eq!(
            body["recurring"],
            json!({"interval": "month", "interval_count": 3})
        );
        let plain = create_body(&base).unwrap();
        for key in ["idempotency_key", "expires_at", "recurring"] {
            assert!(!plain.contains_key(key), "{key} sent without its flag");
        }
        let interval_only = create_body(&CreateArgs {
            recurring_interval: Some("week".into()),
            ..base.clone()
        })
        .unwrap();
        assert_eq!(interval_only["recurring"], json!({"interval": "week"}));

        // The count alone is INVALID_INPUT, even with other flags wrong too.
        let e = create_body(&CreateArgs {
            recurring_interval_count: Some("2".into()),
            amount: None,
            ..base.clone()
        })
        .unwrap_err();
        assert_eq!(e.code, codes::INVALID_INPUT);
        assert_eq!(
            e.message,
            "recurring-interval is required with recurring-interval-count"
        );
        let field = |args: CreateArgs| {
            let e = create_body(&args).unwrap_err();
            assert_eq!(e.code, codes::VALIDATION_ERROR, "{e}");
            e.extra["fieldErrors"][0]["field"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        for (args, expected) in [
            (
                CreateArgs {
                    idempotency_key: Some(String::new()),
                    ..base.clone()
                },
                "idempotency_key",
            ),
            (
                CreateArgs {
                    // 128 two-byte characters: 256 bytes.
                    idempotency_key: Some("é".repeat(128)),
                    ..base.clone()
                },
                "idempotency_key",
            ),
            (
                CreateArgs {
                    expires_at: Some("tomorrow".into()),
                    ..base.clone()
                },
                "expires_at",
            ),
            (
                CreateArgs {
                    recurring_interval: Some("fortnight".into()),
                    ..base.clone()
                },
                "recurring_interval",
            ),
            (
                CreateArgs {
                    recurring_interval: Some("day".into()),
                    recurring_interval_count: Some("0".into()),
                    ..base.clone()
                },
                "recurring_interval_count",
            ),
        ] {
            assert_eq!(field(args), expected);
        }
        assert!(
            create_body(&CreateArgs {
                idempotency_key: Some("k".repeat(255)),
                ..base
            })
            .is_ok()
        );
    }

    #[test]
    fn requires_action_stops_polling_unless_it_resumes_by_itself() {
        let with = |resolution: &str| json!({"status": "requires_action", "status_details": {"requires_action": {"next_action": {"resolution": resolution}}}});
        assert!(!is_terminal(&with("auto_resume")));
        assert!(is_terminal(&with("create_new_spend_request")));
        assert!(is_terminal(&json!({"status": "denied"})));
        assert!(!is_terminal(&json!({"status": "pending_approval"})));
    }
}
