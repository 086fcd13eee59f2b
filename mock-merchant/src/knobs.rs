//! Fault knobs, set per merchant through the control API
//! (`PUT /__control/merchants/{id}/knobs`) or [`crate::MockMerchant::set_knobs`]:
//! redirects after the first 402, a refreshed challenge that changes one
//! pinned field, and payers the merchant's policy refuses (403).

use serde::{Deserialize, Serialize};

/// The knobs of one merchant; every one is off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Knobs {
    /// A request without a credential to a route that already answered a 402
    /// (the re-probe after approval) gets this redirect instead of a 402.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_reprobe: Option<Redirect>,
    /// A request carrying a Payment credential (the paid retry) gets this
    /// redirect; nothing is verified or settled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_paid_retry: Option<Redirect>,
    /// Every 402 of a route after its first changes exactly this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_refreshed: Option<Change>,
    /// Payers the merchant will not serve: a credential whose `source` is
    /// listed (or any credential, with `"*"`) gets 403 after verification,
    /// and its SPT is not redeemed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refuse_payers: Vec<String>,
}

impl Knobs {
    /// Checks values serde cannot: redirect statuses.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, redirect) in [
            ("redirect_reprobe", &self.redirect_reprobe),
            ("redirect_paid_retry", &self.redirect_paid_retry),
        ] {
            if let Some(redirect) = redirect
                && !REDIRECT_STATUSES.contains(&redirect.status())
            {
                return Err(format!(
                    "{name}.status must be one of 301, 302, 303, 307, 308, not {}",
                    redirect.status()
                ));
            }
        }
        Ok(())
    }

    /// Whether the policy refuses a credential from payer `source`.
    pub(crate) fn refuses(&self, source: Option<&str>) -> bool {
        self.refuse_payers
            .iter()
            .any(|payer| payer == "*" || Some(payer.as_str()) == source)
    }
}

/// The redirect statuses a knob may use.
pub const REDIRECT_STATUSES: [u16; 5] = [301, 302, 303, 307, 308];

/// A redirect answered by a knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Redirect {
    /// Where it points.
    pub to: Target,
    /// The 3xx status (default 307).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl Redirect {
    /// The status, 307 unless set.
    pub fn status(&self) -> u16 {
        self.status.unwrap_or(307)
    }
}

/// The destination of a knob's redirect: `/m/redirects/landing`, a paid route
/// that answers a 402 of the same price, on this origin or the other one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// `http://127.0.0.1:<port>/m/redirects/landing`.
    SameOrigin,
    /// `<cross origin>/m/redirects/landing` (`http://localhost:<port>` by default).
    CrossOrigin,
}

/// The one field a refreshed challenge changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// `amount` rises by 500 with every later challenge.
    Amount,
    /// `currency` becomes `eur`.
    Currency,
    /// `methodDetails.networkId` becomes `profile_changed_terms`.
    #[serde(alias = "network")]
    NetworkId,
    /// `intent` flips between `charge` and `session`.
    Intent,
    /// `realm` becomes `mock-merchant/elsewhere`.
    Realm,
    /// `methodDetails.paymentMethodTypes` becomes `["card"]`.
    PaymentMethodTypes,
    /// `digest` names another body (a GET gets one it never had).
    Digest,
    /// `opaque` gains `"revision": "<n>"` (the route it names stays).
    Opaque,
    /// `header` flips between absent and `Payment-Authorization`.
    Header,
    /// `description`, in the param and in the request (1.x clients refuse it:
    /// it is part of the serialized request).
    Description,
    /// Nothing but a new `id` and `expires` (which every challenge gets): a
    /// client must accept it.
    Benign,
    /// The request JSON's keys in another order (not JCS), same values: a
    /// client must accept it.
    KeyOrder,
}

impl Change {
    /// Every value, in the order of the docs.
    pub const ALL: [Change; 12] = [
        Self::Amount,
        Self::Currency,
        Self::NetworkId,
        Self::Intent,
        Self::Realm,
        Self::PaymentMethodTypes,
        Self::Digest,
        Self::Opaque,
        Self::Header,
        Self::Description,
        Self::Benign,
        Self::KeyOrder,
    ];

    /// Reads a name (`changing-terms?change=<name>`, or the knob's JSON
    /// value); `network` is an alias of `network_id`; unknown names are `None`.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_read_their_documented_json() {
        let knobs: Knobs = serde_json::from_str(
            r#"{"redirect_reprobe": {"to": "cross-origin", "status": 302},
                "redirect_paid_retry": {"to": "same-origin"},
                "change_refreshed": "network_id",
                "refuse_payers": ["did:example:blocked"]}"#,
        )
        .unwrap();
        assert_eq!(knobs.redirect_reprobe.unwrap().to, Target::CrossOrigin);
        assert_eq!(knobs.redirect_paid_retry.unwrap().status(), 307);
        assert_eq!(knobs.change_refreshed, Some(Change::NetworkId));
        assert!(knobs.refuses(Some("did:example:blocked")));
        assert!(!knobs.refuses(None));
        assert!(knobs.validate().is_ok());
        assert!(serde_json::from_str::<Knobs>(r#"{"redirect": {}}"#).is_err());
        let bad: Knobs =
            serde_json::from_str(r#"{"redirect_reprobe": {"to": "same-origin", "status": 200}}"#)
                .unwrap();
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("redirect_reprobe.status")
        );
        for change in Change::ALL {
            let name = serde_json::to_value(change).unwrap();
            assert_eq!(Change::from_name(name.as_str().unwrap()), Some(change));
        }
        assert_eq!(Change::from_name("network"), Some(Change::NetworkId));
        assert_eq!(Change::from_name("colour"), None);
    }
}
