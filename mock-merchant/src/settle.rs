//! Settlement: redeem the SPT by creating a confirmed PaymentIntent at the
//! Stripe-compatible API (mock-link), and read its answer as a Payment outcome.

use mpp_wire::ProblemType;
use serde_json::Value;

use crate::state::Shared;

/// What settling an SPT came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// `status: succeeded`: the PaymentIntent id.
    Paid(String),
    /// Refused: the problem type to answer with and why.
    Refused(ProblemType, String),
    /// The Stripe API could not be used (down, wrong key, unexpected answer).
    Unavailable(String),
}

/// The problem type for a Stripe error code of `POST /v1/payment_intents`.
pub fn problem_for_stripe_code(code: &str) -> ProblemType {
    match code {
        // The authorization behind the token expired.
        "shared_payment_granted_token_expired" => ProblemType::PaymentExpired,
        // Unknown, used, revoked, for another network or currency, over the
        // approved amount: the spec files all of these under a proof that
        // does not verify.
        _ => ProblemType::VerificationFailed,
    }
}

/// Creates the PaymentIntent for `spt` paying `amount` `currency` against challenge `challenge_id`.
pub async fn settle(
    shared: &Shared,
    challenge_id: &str,
    spt: &str,
    amount: &str,
    currency: &str,
) -> Settlement {
    let config = &shared.config;
    let form = [
        ("amount", amount),
        ("currency", currency),
        ("shared_payment_granted_token", spt),
        ("confirm", "true"),
        ("automatic_payment_methods[enabled]", "true"),
        ("automatic_payment_methods[allow_redirects]", "never"),
        ("metadata[challenge_id]", challenge_id),
    ];
    let url = format!(
        "{}/v1/payment_intents",
        config.link_url.trim_end_matches('/')
    );
    let style = &config.settle_style;
    let mut request = shared.http.post(url).header(
        "idempotency-key",
        format!("{}{challenge_id}_{spt}", style.idempotency_prefix),
    );
    request = if style.basic_auth {
        request.basic_auth(&config.secret_key, Some(""))
    } else {
        request.bearer_auth(&config.secret_key)
    };
    if let Some(version) = &style.stripe_version {
        request = request.header("stripe-version", version);
    }
    let sent = request.form(&form).send().await;
    let response = match sent {
        Ok(response) => response,
        Err(error) => return Settlement::Unavailable(format!("Stripe API unreachable: {error}")),
    };
    let status = response.status();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    let body: Value = match response.json().await {
        Ok(body) => body,
        Err(error) => {
            return Settlement::Unavailable(format!(
                "Stripe API answered {status} without JSON: {error}"
            ));
        }
    };
    if status.is_success() {
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        return match body["status"].as_str() {
            _ if replayed => Settlement::Refused(
                ProblemType::VerificationFailed,
                format!("this credential was already settled (PaymentIntent {id} replayed)"),
            ),
            Some("succeeded") if !id.is_empty() => Settlement::Paid(id),
            Some("requires_action") => Settlement::Refused(
                ProblemType::PaymentActionRequired,
                format!("PaymentIntent {id} requires action"),
            ),
            other => Settlement::Refused(
                ProblemType::VerificationFailed,
                format!(
                    "PaymentIntent {id} is {}",
                    other.unwrap_or("of unknown status")
                ),
            ),
        };
    }
    let error = &body["error"];
    match (status.as_u16(), error["code"].as_str()) {
        (400..=499, Some(code)) if status != 401 && status != 403 => {
            let message = error["message"].as_str().unwrap_or_default();
            Settlement::Refused(problem_for_stripe_code(code), format!("{code}: {message}"))
        }
        _ => Settlement::Unavailable(format!(
            "Stripe API answered {status}: {}",
            error["message"].as_str().unwrap_or("no message")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_codes_map_to_the_spec_problem_types() {
        assert_eq!(
            problem_for_stripe_code("shared_payment_granted_token_expired"),
            ProblemType::PaymentExpired
        );
        for code in [
            "token_already_used",
            "resource_missing",
            "shared_payment_granted_token_network_mismatch",
            "amount_too_large",
            "shared_payment_granted_token_currency_mismatch",
        ] {
            assert_eq!(
                problem_for_stripe_code(code),
                ProblemType::VerificationFailed,
                "{code}"
            );
        }
    }
}
