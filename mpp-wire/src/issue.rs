//! The merchant's side of a challenge: binding its id and writing it, for any
//! credential header.
//!
//! The `mpp` crate binds and writes a `header` param only when it names
//! `Payment-Authorization`, and binds it just before `opaque`
//! (`realm|method|intent|request|expires|digest|header|opaque`).
//! draft-httpauth-payment-02 appends it as an eighth slot after `opaque`
//! (`...|digest|opaque|header`), only when present. [`BindingParams`] computes
//! either layout ([`HeaderSlot`]); [`bound_challenge_id`] keeps `mpp`'s, for
//! every header; [`format_challenge`] writes `mpp`'s challenge plus that
//! `header` param. An `Authorization` (or empty) header is the default and
//! takes no slot in either layout, as in `mpp`.

use mpp::protocol::core::{compute_challenge_id, is_default_credential_header};
use mpp::{ChallengeEcho, MppError, PaymentChallenge};

/// The HMAC-bound id of a challenge with these params, as `mpp` computes it
/// (`realm|method|intent|request|expires|digest|opaque`), with a non-default
/// credential `header` inserted just before `opaque` (as `mpp` does for
/// `Payment-Authorization`; [`HeaderSlot::BeforeOpaque`]). `Authorization` or
/// no header leave the legacy seven slots. For draft -02's layout use
/// [`BindingParams::bound_id`] with [`HeaderSlot::AfterOpaque`].
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
    BindingParams {
        realm,
        method,
        intent,
        request,
        expires,
        digest,
        opaque,
        header,
    }
    .bound_id(secret_key, HeaderSlot::BeforeOpaque)
}

/// Where a non-default credential `header` goes in the HMAC input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderSlot {
    /// draft-httpauth-payment-02: an eighth slot after `opaque`,
    /// `realm|method|intent|request|expires|digest|opaque|header`.
    #[default]
    AfterOpaque,
    /// The `mpp` crate (0.18): just before `opaque`,
    /// `realm|method|intent|request|expires|digest|header|opaque`.
    BeforeOpaque,
}

/// The params a challenge id binds, as they appear on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BindingParams<'a> {
    /// `realm`.
    pub realm: &'a str,
    /// `method`.
    pub method: &'a str,
    /// `intent`.
    pub intent: &'a str,
    /// `request`, base64url as written.
    pub request: &'a str,
    /// `expires`, if any.
    pub expires: Option<&'a str>,
    /// `digest`, if any.
    pub digest: Option<&'a str>,
    /// `opaque`, base64url as written, if any.
    pub opaque: Option<&'a str>,
    /// `header`, if any (`Authorization` or empty takes no slot).
    pub header: Option<&'a str>,
}

impl<'a> BindingParams<'a> {
    /// The params a credential's `echo` binds, as written, with `header` as the field
    /// the credential names (a merchant checks the echo against the id it issued).
    pub fn of_echo(echo: &'a ChallengeEcho, header: Option<&'a str>) -> Self {
        Self {
            realm: &echo.realm,
            method: echo.method.as_str(),
            intent: echo.intent.as_str(),
            request: echo.request.raw(),
            expires: echo.expires.as_deref(),
            digest: echo.digest.as_deref(),
            opaque: echo.opaque.as_ref().map(|opaque| opaque.raw()),
            header,
        }
    }

    /// The advertised (non-default) header, if any.
    fn advertised(&self) -> Option<&str> {
        self.header
            .filter(|h| !is_default_credential_header(Some(h)))
    }

    /// The exact HMAC input in the given layout.
    pub fn hmac_input(&self, slot: HeaderSlot) -> String {
        let mut slots = vec![
            self.realm,
            self.method,
            self.intent,
            self.request,
            self.expires.unwrap_or(""),
            self.digest.unwrap_or(""),
        ];
        let opaque = self.opaque.unwrap_or("");
        match (self.advertised(), slot) {
            (Some(header), HeaderSlot::BeforeOpaque) => slots.extend([header, opaque]),
            (Some(header), HeaderSlot::AfterOpaque) => slots.extend([opaque, header]),
            (None, _) => slots.push(opaque),
        }
        slots.join("|")
    }

    /// The challenge id: base64url (no padding) of HMAC-SHA256 with `secret`
    /// over [`BindingParams::hmac_input`], computed by `mpp`.
    pub fn bound_id(&self, secret: &str, slot: HeaderSlot) -> String {
        // `mpp` joins its seven slots with `|`; folding the header into the
        // opaque slot (or opaque into it) gives either layout exactly.
        let opaque = self.opaque.unwrap_or("");
        let last = match (self.advertised(), slot) {
            (Some(header), HeaderSlot::BeforeOpaque) => format!("{header}|{opaque}"),
            (Some(header), HeaderSlot::AfterOpaque) => format!("{opaque}|{header}"),
            (None, _) => opaque.to_owned(),
        };
        compute_challenge_id(
            secret,
            self.realm,
            self.method,
            self.intent,
            self.request,
            self.expires,
            self.digest,
            (!last.is_empty()).then_some(last.as_str()),
        )
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

    #[test]
    fn the_header_slot_goes_after_opaque_in_draft_02_and_before_it_in_mpp() {
        let params = BindingParams {
            realm: "r",
            method: "stripe",
            intent: "charge",
            request: "e30",
            expires: Some("2030-01-01T00:00:00Z"),
            digest: None,
            opaque: Some("b3A"),
            header: Some("Payment-Authorization"),
        };
        assert_eq!(
            params.hmac_input(HeaderSlot::AfterOpaque),
            "r|stripe|charge|e30|2030-01-01T00:00:00Z||b3A|Payment-Authorization"
        );
        assert_eq!(
            params.hmac_input(HeaderSlot::BeforeOpaque),
            "r|stripe|charge|e30|2030-01-01T00:00:00Z||Payment-Authorization|b3A"
        );
        assert_ne!(
            params.bound_id(KEY, HeaderSlot::AfterOpaque),
            params.bound_id(KEY, HeaderSlot::BeforeOpaque)
        );
        for header in [None, Some("Authorization"), Some("")] {
            let plain = BindingParams { header, ..params };
            assert_eq!(
                plain.hmac_input(HeaderSlot::AfterOpaque),
                "r|stripe|charge|e30|2030-01-01T00:00:00Z||b3A"
            );
            assert_eq!(
                plain.bound_id(KEY, HeaderSlot::AfterOpaque),
                plain.bound_id(KEY, HeaderSlot::BeforeOpaque)
            );
        }
    }
}
