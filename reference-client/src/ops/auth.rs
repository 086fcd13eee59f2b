//! `auth login`, `auth status`, `auth logout`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::args::{LoginArgs, NoArgs, StatusArgs};
use crate::error::{ClientError, Result, codes};
use crate::link::{Link, TokenPoll, Tokens};
use crate::ops::Poller;
use crate::output::Emit;
use crate::sanitize::clean_text;
use crate::session::{PendingLogin, Session};

/// Default seconds between polls when the server names none.
const DEFAULT_INTERVAL: f64 = 5.0;

fn authenticated(link: &Link) -> Value {
    let session = link.session();
    let mut out = json!({
        "authenticated": true,
        "credentials_path": link.config().credentials_path.display().to_string(),
    });
    if let Some(t) = &session.token_type {
        out["token_type"] = json!(t);
    }
    if let Some(s) = &session.scope {
        out["scope"] = json!(s);
    }
    if let Some(token) = &session.access_token {
        out["access_token"] = json!(shorten(token));
    }
    out
}

/// The first characters of a token: enough to tell two apart, not to use one.
fn shorten(token: &str) -> String {
    let head: String = token.chars().take(8).collect();
    format!("{head}...")
}

fn store_tokens(link: &Link, tokens: Tokens) -> Result<()> {
    link.store_session(Session {
        access_token: Some(tokens.access_token),
        refresh_token: tokens.refresh_token,
        token_type: tokens.token_type.or(Some("Bearer".into())),
        scope: tokens.scope,
        pending_login: None,
    })
}

/// Whether Link's answer ends a pending login: the user denied it
/// (`ACCESS_DENIED`), the code expired or Link no longer knows it
/// (`expired_token`, `invalid_grant`: both `LOGIN_EXPIRED`). Anything else (a
/// 5xx, a dropped connection, a timeout, a body that is not JSON) leaves the
/// login pending, to be polled again.
fn ends_login(error: &ClientError) -> bool {
    matches!(
        error.code.as_str(),
        codes::ACCESS_DENIED | codes::LOGIN_EXPIRED
    )
}

/// Forgets the pending login, keeping any tokens. The file is read again
/// first: another `link-ref` polling the same code may have just stored the
/// tokens it redeemed (this one then gets `invalid_grant`).
fn forget_pending_login(link: &Link) -> Result<()> {
    let on_disk = match link.config().access_token {
        Some(_) => None,
        None => crate::session::load(&link.config().credentials_path).ok(),
    };
    let mut session = on_disk.unwrap_or_else(|| link.session());
    session.pending_login = None;
    if session.is_logged_in() {
        link.store_session(session)
    } else {
        link.clear_session()
    }
}

/// What a failed poll of a pending login ends with: the login is forgotten
/// only when Link ended it; otherwise a login kept in the session file stays
/// there, and the error says so (`pending: true`), so `auth status` resumes it.
fn poll_failure(link: &Link, error: ClientError) -> ClientError {
    if ends_login(&error) {
        return match forget_pending_login(link) {
            Ok(()) => error,
            Err(e) => e,
        };
    }
    if link.session().pending_login.is_some() {
        return error.with("pending", true);
    }
    error
}

/// Polls the token endpoint until the user acts; stores the tokens. A login
/// just started waits one interval first (the user cannot have approved yet);
/// one handed over to `auth status` polls at once (the user may have).
/// Transient failures are polled through with backoff, within the poller's
/// bounds; however it ends, the pending login stays unless Link ended it.
async fn poll_login(
    link: &Link,
    pending: &PendingLogin,
    poller: Poller,
    wait_first: bool,
) -> Result<()> {
    poll_until_decided(link, pending, poller, wait_first)
        .await
        .map_err(|e| poll_failure(link, e))
}

async fn poll_until_decided(
    link: &Link,
    pending: &PendingLogin,
    mut poller: Poller,
    wait_first: bool,
) -> Result<()> {
    let mut first = true;
    loop {
        if !first || wait_first {
            poller.wait().await?;
        }
        first = false;
        poller.attempt()?;
        match link.poll_device_token(&pending.device_code).await {
            Ok(TokenPoll::Granted(tokens)) => return store_tokens(link, tokens),
            Ok(TokenPoll::Pending) => poller.succeeded(),
            // RFC 8628 §3.5: add 5 seconds to the interval for this and later polls.
            Ok(TokenPoll::SlowDown) => {
                poller.succeeded();
                poller.slow_down(Duration::from_secs(5));
            }
            Err(e) => poller.failed(e)?,
        }
    }
}

/// `auth login`.
pub async fn login(link: &Link, args: LoginArgs, out: &mut dyn Emit) -> Result<()> {
    if link.session().is_logged_in() {
        let mut status = authenticated(link);
        status["message"] =
            json!("already logged in; run `link-ref auth logout` to switch accounts");
        out.emit(status);
        return Ok(());
    }
    let client_name = args.client_name.unwrap_or_else(|| "link-ref".into());
    let code = link.device_code(&client_name).await?;
    let server_interval = code
        .interval
        .filter(|i| i.is_finite() && *i >= 0.0)
        .unwrap_or(DEFAULT_INTERVAL);
    let pending = PendingLogin {
        device_code: code.device_code.clone(),
        phrase: clean_text(&code.user_code),
        verification_url: clean_text(
            code.verification_uri_complete
                .as_deref()
                .unwrap_or(&code.verification_uri),
        ),
        interval: server_interval,
    };
    let mut first = json!({
        "verification_url": pending.verification_url,
        "phrase": pending.phrase,
        "instruction": "Open the verification URL, check that it shows this phrase, and approve.",
    });
    // The code is kept in the session file, so that `auth status` can finish
    // the login: handed over at once with `--interval 0`, or after polling
    // here ran out or failed.
    let mut session = link.session();
    session.pending_login = Some(pending.clone());
    link.store_session(session)?;
    if args.interval == Some(0.0) {
        first["_next"] = json!({
            "command": format!("auth status --interval {} --max-attempts 60", server_interval.max(1.0)),
            "poll_interval_seconds": server_interval,
            "until": "authenticated is true",
        });
        out.emit(first);
        return Ok(());
    }
    out.emit(first);
    let interval = args
        .interval
        .unwrap_or(server_interval)
        .max(server_interval);
    let poller = Poller::new(
        interval,
        args.timeout,
        args.max_attempts,
        "the login to be approved",
    )?;
    poll_login(link, &pending, poller, true).await?;
    out.emit(authenticated(link));
    Ok(())
}

/// `auth status`.
pub async fn status(link: &Link, args: StatusArgs, out: &mut dyn Emit) -> Result<()> {
    let session = link.session();
    if session.is_logged_in() {
        let mut status = authenticated(link);
        if let Some(update) = update_check(link).await {
            status["update"] = update;
        }
        out.emit(status);
        return Ok(());
    }
    let credentials_path = link.config().credentials_path.display().to_string();
    let Some(pending) = session.pending_login.clone() else {
        out.emit(json!({"authenticated": false, "credentials_path": credentials_path}));
        return Ok(());
    };
    // A login is pending: poll once now, or keep polling with --interval.
    let keep_polling = args.interval.is_some_and(|i| i > 0.0);
    let result = if keep_polling {
        let interval = args
            .interval
            .unwrap_or(pending.interval)
            .max(pending.interval);
        let poller = Poller::new(
            interval,
            args.timeout,
            args.max_attempts,
            "the login to be approved",
        )?;
        poll_login(link, &pending, poller, false)
            .await
            .map(|()| true)
    } else {
        match link.poll_device_token(&pending.device_code).await {
            Ok(TokenPoll::Granted(tokens)) => store_tokens(link, tokens).map(|()| true),
            Ok(TokenPoll::Pending | TokenPoll::SlowDown) => Ok(false),
            Err(e) => Err(poll_failure(link, e)),
        }
    };
    if result? {
        out.emit(authenticated(link));
    } else {
        out.emit(json!({
            "authenticated": false,
            "pending": true,
            "verification_url": pending.verification_url,
            "phrase": pending.phrase,
            "credentials_path": credentials_path,
        }));
    }
    Ok(())
}

/// Revokes `token` at Link, trying a second time if the first fails.
async fn revoke_with_retry(link: &Link, token: &str) -> Result<()> {
    match link.revoke(token).await {
        Ok(()) => Ok(()),
        Err(_) => link.revoke(token).await,
    }
}

/// `auth logout`: revokes both tokens at Link, then forgets the session. When
/// Link cannot revoke them (after one retry), the session is kept, so the
/// user can run `auth logout` again, and the command fails with `REVOKE_FAILED`:
/// forgetting tokens that still work would leave a live session no one can end.
pub async fn logout(link: &Link, _args: NoArgs, out: &mut dyn Emit) -> Result<()> {
    let session = link.session();
    let credentials_path = link.config().credentials_path.display().to_string();
    for token in [&session.access_token, &session.refresh_token]
        .into_iter()
        .flatten()
    {
        if let Err(e) = revoke_with_retry(link, token).await {
            return Err(ClientError::new(
                codes::REVOKE_FAILED,
                format!(
                    "Link did not revoke the session ({}); you are still logged in and the session is kept: run `link-ref auth logout` again",
                    e.message
                ),
            )
            .with("retryable", true)
            .with("revoked", false)
            .with("credentials_path", credentials_path));
        }
    }
    link.clear_session()?;
    out.emit(json!({
        "authenticated": false,
        "logged_out": true,
        "was_logged_in": session.is_logged_in(),
        "credentials_path": credentials_path,
        "revoked": session.is_logged_in(),
    }));
    Ok(())
}

/// Reads `LINK_UPDATE_FEED` (plain text version, or JSON with `version` or
/// `latest`); an `update` object when it names a newer version. Failures are
/// silent: an update check never breaks `auth status`.
async fn update_check(link: &Link) -> Option<Value> {
    let feed = link.config().update_feed.as_deref()?;
    let response = link.http().get(feed).send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.text().await.ok()?;
    let latest = match serde_json::from_str::<Value>(&text) {
        Ok(v) => v
            .get("version")
            .or_else(|| v.get("latest"))
            .and_then(Value::as_str)
            .map(str::to_owned)?,
        Err(_) => text.trim().to_owned(),
    };
    let latest = clean_text(latest.trim_start_matches('v'));
    let current = env!("CARGO_PKG_VERSION");
    (version_key(&latest)? > version_key(current)?).then(|| {
        json!({
            "current": current,
            "latest": latest,
            "update_command": "cargo install --locked --git https://github.com/link-harness/link-harness reference-client",
        })
    })
}

fn version_key(v: &str) -> Option<Vec<u64>> {
    let core = v.split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}
