//! Scripted behaviour: outcomes decided ahead of time, applied after N polls, so a test (or a
//! person without the control API at hand) does not have to act at the right moment.
//!
//! A script is queued for the *next* device code or spend request created, or attached to an
//! existing spend request. Magic payment-method ids ([`MAGIC_PAYMENT_METHODS`]) script outcomes
//! without any control call.

use serde::{Deserialize, Serialize};

use crate::model::spend_request::state_machine::{Event, Resolution};

/// What happens to a device code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeviceOutcome {
    Approve,
    Deny,
    Expire,
    /// The poll is answered `slow_down` (and the code's interval grows by 5 s), whatever the
    /// user decided. Lets a test check a client's back-off without polling too fast itself.
    SlowDown,
}

/// A device-code outcome applied on the poll after `after_polls` polls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceScript {
    pub outcome: DeviceOutcome,
    /// Polls answered `authorization_pending` first (default 0: the first poll decides).
    #[serde(default)]
    #[schema(value_type = u64, maximum = 4294967295.0)]
    pub after_polls: u32,
    /// Who approves (default: the seeded user).
    pub user_id: Option<String>,
}

/// What happens to a spend request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SpendOutcome {
    Approve,
    Deny,
    Expire,
    RequireAction { resolution: Resolution },
    CompleteAction,
}

impl SpendOutcome {
    /// The state-machine event this outcome is.
    pub(crate) fn event(self) -> Event {
        match self {
            Self::Approve => Event::Approve,
            Self::Deny => Event::Deny,
            Self::Expire => Event::Expire,
            Self::RequireAction { resolution } => Event::RequireAction(resolution),
            Self::CompleteAction => Event::CompleteAction,
        }
    }
}

/// A spend-request outcome applied on the retrieve after `after_polls` retrieves, once the
/// request is in a state that allows it (an `approve` waits for `pending_approval`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpendRequestScript {
    #[serde(flatten)]
    pub outcome: SpendOutcome,
    #[serde(default)]
    #[schema(value_type = u64, maximum = 4294967295.0)]
    pub after_polls: u32,
}

/// Payment-method ids that any account may use and that script the outcome.
pub const MAGIC_PAYMENT_METHODS: &[(&str, &str)] = &[
    (
        "csmrpd_magic_approve",
        "approved as soon as approval is requested",
    ),
    (
        "csmrpd_magic_deny",
        "denied as soon as approval is requested",
    ),
    (
        "csmrpd_magic_expire",
        "expired as soon as approval is requested",
    ),
    (
        "csmrpd_magic_3ds",
        "requires_action (auto_resume, 3-D Secure) when approval is requested; approved on the next retrieve",
    ),
    (
        "csmrpd_magic_new_request",
        "requires_action (create_new_spend_request) when approval is requested",
    ),
    (
        "csmrpd_magic_decline",
        "approved as soon as approval is requested; every SPT redemption is declined (402 card_declined)",
    ),
    (
        "csmrpd_magic_decline_once",
        "approved as soon as approval is requested; the first SPT redemption is declined, the next succeeds",
    ),
    (
        "csmrpd_magic_pi_requires_action",
        "approved as soon as approval is requested; the redemption's PaymentIntent is requires_action (the SPT is used up)",
    ),
    (
        "csmrpd_magic_spt_delay",
        "approved as soon as approval is requested; its SPT shows on retrieve only 5 s later (PAY-10)",
    ),
];

/// How long after approval the SPT of `csmrpd_magic_spt_delay` appears.
pub const MAGIC_SPT_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// Spend-request amounts that behave like the magic payment method they name, whatever the
/// payment method (for clients that cannot choose one).
pub const MAGIC_AMOUNTS: &[(i64, &str)] = &[
    (400_001, "csmrpd_magic_approve"),
    (400_002, "csmrpd_magic_deny"),
    (400_003, "csmrpd_magic_expire"),
    (400_004, "csmrpd_magic_3ds"),
    (400_005, "csmrpd_magic_new_request"),
    (400_006, "csmrpd_magic_decline"),
    (400_007, "csmrpd_magic_decline_once"),
    (400_008, "csmrpd_magic_pi_requires_action"),
    (400_009, "csmrpd_magic_spt_delay"),
];

/// The magic behaviour of a spend request, named by its magic payment-method id: from the
/// payment method itself, or from a magic amount.
pub fn magic_behaviour(payment_details: &str, amount: i64) -> &str {
    if is_magic_payment_method(payment_details) {
        return payment_details;
    }
    MAGIC_AMOUNTS
        .iter()
        .find(|(magic_amount, _)| *magic_amount == amount)
        .map(|(_, behaviour)| *behaviour)
        .unwrap_or("")
}

/// Whether `id` is a magic payment-method id.
pub fn is_magic_payment_method(id: &str) -> bool {
    MAGIC_PAYMENT_METHODS.iter().any(|(magic, _)| *magic == id)
}

/// The events a magic payment method triggers right after approval is requested, and the
/// script it leaves behind.
pub fn magic_on_approval_request(id: &str) -> (Option<Event>, Option<SpendRequestScript>) {
    match id {
        "csmrpd_magic_approve"
        | "csmrpd_magic_decline"
        | "csmrpd_magic_decline_once"
        | "csmrpd_magic_pi_requires_action"
        | "csmrpd_magic_spt_delay" => (Some(Event::Approve), None),
        "csmrpd_magic_deny" => (Some(Event::Deny), None),
        "csmrpd_magic_expire" => (Some(Event::Expire), None),
        "csmrpd_magic_3ds" => (
            Some(Event::RequireAction(Resolution::AutoResume)),
            Some(SpendRequestScript {
                outcome: SpendOutcome::CompleteAction,
                after_polls: 0,
            }),
        ),
        "csmrpd_magic_new_request" => (
            Some(Event::RequireAction(Resolution::CreateNewSpendRequest)),
            None,
        ),
        _ => (None, None),
    }
}

/// How many redemptions of an SPT from this payment method are declined before one succeeds
/// (`None`: never declined, `Some(u32::MAX)`: always).
pub fn magic_declines(payment_method: &str) -> Option<u32> {
    match payment_method {
        "csmrpd_magic_decline" => Some(u32::MAX),
        "csmrpd_magic_decline_once" => Some(1),
        _ => None,
    }
}

/// Whether redemptions for this behaviour leave the PaymentIntent in `requires_action`.
pub fn magic_payment_requires_action(behaviour: &str) -> bool {
    behaviour == "csmrpd_magic_pi_requires_action"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_scripts_read_from_flat_json() {
        let script: SpendRequestScript = serde_json::from_str(
            r#"{"outcome": "require_action", "resolution": "auto_resume", "after_polls": 2}"#,
        )
        .unwrap();
        assert_eq!(
            script.outcome,
            SpendOutcome::RequireAction {
                resolution: Resolution::AutoResume
            }
        );
        assert_eq!(script.after_polls, 2);
        let approve: SpendRequestScript =
            serde_json::from_str(r#"{"outcome": "approve"}"#).unwrap();
        assert_eq!(approve.after_polls, 0);
        assert_eq!(approve.outcome.event(), Event::Approve);
    }

    #[test]
    fn every_magic_id_does_something() {
        for (id, _) in MAGIC_PAYMENT_METHODS {
            assert!(is_magic_payment_method(id));
            assert!(magic_on_approval_request(id).0.is_some(), "{id}");
        }
        assert!(!is_magic_payment_method("csmrpd_default_visa"));
        assert_eq!(magic_declines("csmrpd_magic_decline_once"), Some(1));
        assert_eq!(magic_declines("csmrpd_default_visa"), None);
    }

    #[test]
    fn magic_amounts_map_to_behaviours_and_ids_win() {
        assert_eq!(
            magic_behaviour("csmrpd_default_visa", 400_002),
            "csmrpd_magic_deny"
        );
        assert_eq!(
            magic_behaviour("csmrpd_magic_approve", 400_002),
            "csmrpd_magic_approve"
        );
        assert_eq!(magic_behaviour("csmrpd_default_visa", 4_999), "");
        for (_, behaviour) in MAGIC_AMOUNTS {
            assert!(is_magic_payment_method(behaviour));
        }
    }
}
