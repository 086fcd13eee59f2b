//! The merchant's side of a challenge: binding its id and writing it, for any
//! credential header.
//!
//! The `mpp` crate binds and writes a `header` param only when it names
//! `Payment-Authorization`; the spec lets a challenge name any field (its
//! example is `Payment-Credential`) and makes the header part of the binding
//! when present. [`bound_challenge_id`] keeps `mpp`'s HMAC and slot layout
//! (the header slot just before `opaque`) for every header, and
//! [`format_challenge`] writes `mpp`'s challenge plus that `header` param.

use mpp::protocol::core::{compute_challenge_id, is_default_credential_header};
use mpp::{MppError, PaymentChallenge};

/// The HMAC-bound id of a challenge with these params, as `mpp` computes it
/// (`realm|method|intent|request|expires|digest|opaque`), with a non-default
/// credential `header` inserted just before `opaque` (as `mpp` does for
/// `Payment-Authorization`). `Authorization` or no header leave the legacy
/// seven slots.
#[allow(clippy::too_many_arguments)]
pub fn bound_challenge_id(
    secret_key: &str,
    realm: &str,
    method: &str,
    intent: &str,
    request: &str,
    expires: Option<&str>,
    digest: Option<&str>,
    opaque: Option<&str>,
    header: Option<&str>,
) -> String {
    match header {
        Some(header) if !is_default_credential_header(Some(header)) => {
            // Joining the header onto the opaque slot gives exactly the layout
            // `mpp` uses for an advertised header: `...|digest|header|opaque`.
            let slot = format!("{header}|{}", opaque.unwrap_or(""));
            compute_challenge_id(
                secret_key,
                realm,
                method,
                intent,
                request,
                expires,
                digest,
                Some(&slot),
            )
        }
        _ => compute_challenge_id(
            secret_key, realm, method, intent, request, expires, digest, opaque,
        ),
    }
}

/// Whether `name` is an HTTP field name (an RFC 9110 token).
fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// Writes `challenge` as a `WWW-Authenticate` value with `mpp`'s formatter,
/// adding `header="<name>"` when the credential must travel in a field other
/// than `Authorization` (the challenge's own `header` field is ignored).
pub fn format_challenge(
    challenge: &PaymentChallenge,
    header: Option<&str>,
) -> Result<String, MppError> {
    let mut plain = challenge.clone();
    plain.header = None;
    let written = mpp::format_www_authenticate(&plain)?;
    match header {
        Some(name) if !is_default_credential_header(Some(name)) => {
            if !is_field_name(name) {
                return Err(MppError::invalid_challenge_reason(format!(
                    "credential header {name:?} is not a field name"
                )));
            }
            Ok(format!("{written}, header=\"{name}\""))
        }
        _ => Ok(written),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::select_stripe_challenge;
    use mpp::Base64UrlJson;

    fn request() -> Base64UrlJson {
        Base64UrlJson::from_value(&serde_json::json!({
            "amount": "100",
            "currency": "usd",
            "methodDetails": {"networkId": "profile_a"},
        }))
        .unwrap()
    }

    const KEY: &str = "a-secret-key-of-at-least-32-bytes!!";

    #[test]
    fn default_and_payment_authorization_bindings_equal_mpp() {
        let raw = request();
        for header in [None, Some("Authorization"), Some("Payment-Authorization")] {
            let theirs = PaymentChallenge::with_secret_key_full(
                KEY,
                "shop",
                "stripe",
                "charge",
                raw.clone(),
                Some("2030-01-01T00:00:00Z"),
                Some("sha-256=:abc=:"),
                None,
                Some(Base64UrlJson::from_raw("e30")),
                header,
            );
            let ours = bound_challenge_id(
                KEY,
                "shop",
                "stripe",
                "charge",
                raw.raw(),
                Some("2030-01-01T00:00:00Z"),
                Some("sha-256=:abc=:"),
                Some("e30"),
                header,
            );
            assert_eq!(ours, theirs.id, "{header:?}");
        }
    }

    #[test]
    fn another_header_is_bound_and_written() {
        let raw = request();
        let plain = bound_challenge_id(
            KEY,
            "shop",
            "stripe",
            "charge",
            raw.raw(),
            None,
            None,
            None,
            None,
        );
        let bound = bound_challenge_id(
            KEY,
            "shop",
            "stripe",
            "charge",
            raw.raw(),
            None,
            None,
            None,
            Some("Payment-Credential"),
        );
        assert_ne!(plain, bound);
        let challenge = PaymentChallenge::new(bound.clone(), "shop", "stripe", "charge", raw);
        let written = format_challenge(&challenge, Some("Payment-Credential")).unwrap();
        assert!(
            written.ends_with(r#", header="Payment-Credential""#),
            "{written}"
        );
        let decoded = select_stripe_challenge([written]).unwrap();
        assert_eq!(decoded.id, bound);
        assert_eq!(decoded.credential_header, "Payment-Credential");

        let written = format_challenge(&challenge, Some("Authorization")).unwrap();
        assert!(!written.contains("header="), "{written}");
        assert!(format_challenge(&challenge, Some("Bad Header\"")).is_err());
    }
}
