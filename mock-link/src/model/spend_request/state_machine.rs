//! The spend-request state machine: a pure function of (state, event).
//!
//! ```text
//! created ──request_approval──▶ pending_approval ──approve──▶ approved ──redeem──▶ succeeded
//!    │                              │   │   ▲                    │  └──fail──▶ failed
//!    │ approve_programmatically     │   │   └ complete_action    └──cancel──▶ canceled
//!    └──────────────▶ approved      │   └ require_action ─▶ requires_action(resolution)
//!                                   └ deny ─▶ denied
//! created | pending_approval | requires_action ──expire──▶ expired, ──cancel──▶ canceled
//! approved ──submit──▶ submitted ──redeem──▶ succeeded, ──fail──▶ failed
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// How a `requires_action` step gets resolved (`next_action.resolution`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The step resolves itself once the user completes it (3-D Secure); polling goes on.
    AutoResume,
    /// This request cannot go on; the agent must create a new one.
    CreateNewSpendRequest,
    /// The user completes the step, then the agent must create a new request.
    CreateNewSpendRequestAfterCompletion,
}

/// Where a spend request stands (`status` on the wire, plus the resolution of `requires_action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Created,
    PendingApproval,
    RequiresAction(Resolution),
    Approved,
    /// The credential was used; the payment's outcome is not known yet (link-cli 1.x).
    Submitted,
    Denied,
    Expired,
    Canceled,
    Succeeded,
    Failed,
}

/// Something that happens to a spend request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The agent asks the user to approve (`request_approval`).
    RequestApproval,
    /// The user approves (approval page or control API).
    Approve,
    /// `create_delegated` / `update_delegated`: approved by the caller on the user's behalf.
    ApproveProgrammatically,
    /// The user denies.
    Deny,
    /// The request's `expires_at` passes before it was decided.
    Expire,
    /// The agent cancels.
    Cancel,
    /// The issuer asks the user for an extra step.
    RequireAction(Resolution),
    /// The user completes the extra step (e.g. 3-D Secure).
    CompleteAction,
    /// The agent changes fields (`update`); only before a decision.
    Edit,
    /// The credential was used and the payment awaits its outcome.
    Submit,
    /// A merchant redeemed the credential.
    Redeem,
    /// A redemption failed for good.
    Fail,
}

/// A transition the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} a spend request that is {from}")]
pub struct TransitionError {
    pub from: State,
    pub event: Event,
}

impl State {
    /// The wire `status`.
    pub fn status(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::PendingApproval => "pending_approval",
            Self::RequiresAction(_) => "requires_action",
            Self::Approved => "approved",
            Self::Submitted => "submitted",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Canceled => "canceled",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Not decided yet: still counts for duplicate detection and can expire.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Self::Created | Self::PendingApproval | Self::RequiresAction(_)
        )
    }

    /// Over for good: shown by `list` only with `include_history=true`.
    pub fn is_history(self) -> bool {
        matches!(
            self,
            Self::Denied | Self::Expired | Self::Canceled | Self::Succeeded | Self::Failed
        )
    }

    /// Whether the approved credential may be shown (`include=card` / `shared_payment_token`).
    pub fn shows_credential(self) -> bool {
        matches!(self, Self::Approved | Self::Submitted | Self::Succeeded)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::RequestApproval => "request approval for",
            Self::Approve => "approve",
            Self::ApproveProgrammatically => "approve programmatically",
            Self::Deny => "deny",
            Self::Expire => "expire",
            Self::Cancel => "cancel",
            Self::RequireAction(_) => "require action on",
            Self::CompleteAction => "complete the action of",
            Self::Edit => "update",
            Self::Submit => "submit",
            Self::Redeem => "redeem",
            Self::Fail => "fail",
        };
        f.write_str(name)
    }
}

/// The next state after `event`, or why the event is not allowed now.
pub fn transition(state: State, event: Event) -> Result<State, TransitionError> {
    use Event as E;
    use State as S;
    let next = match (state, event) {
        (S::Created | S::PendingApproval, E::RequestApproval) => S::PendingApproval,
        (S::Created | S::PendingApproval, E::Edit) => state,
        (S::Created | S::PendingApproval, E::ApproveProgrammatically) => S::Approved,
        (S::PendingApproval, E::Approve) => S::Approved,
        (S::PendingApproval | S::RequiresAction(_), E::Deny) => S::Denied,
        (S::PendingApproval, E::RequireAction(resolution)) => S::RequiresAction(resolution),
        (S::RequiresAction(Resolution::AutoResume), E::CompleteAction) => S::Approved,
        (
            S::RequiresAction(Resolution::CreateNewSpendRequestAfterCompletion),
            E::CompleteAction,
        ) => S::Failed,
        (S::Created | S::PendingApproval | S::RequiresAction(_), E::Expire) => S::Expired,
        (S::Created | S::PendingApproval | S::RequiresAction(_) | S::Approved, E::Cancel) => {
            S::Canceled
        }
        (S::Approved, E::Submit) => S::Submitted,
        (S::Approved | S::Submitted, E::Redeem) => S::Succeeded,
        (S::Approved | S::Submitted, E::Fail) => S::Failed,
        _ => return Err(TransitionError { from: state, event }),
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use Resolution as R;
    use State as S;

    const ALL_STATES: [State; 12] = [
        S::Created,
        S::PendingApproval,
        S::RequiresAction(R::AutoResume),
        S::RequiresAction(R::CreateNewSpendRequest),
        S::RequiresAction(R::CreateNewSpendRequestAfterCompletion),
        S::Approved,
        S::Submitted,
        S::Denied,
        S::Expired,
        S::Canceled,
        S::Succeeded,
        S::Failed,
    ];

    const ALL_EVENTS: [Event; 14] = [
        E::RequestApproval,
        E::Approve,
        E::ApproveProgrammatically,
        E::Deny,
        E::Expire,
        E::Cancel,
        E::RequireAction(R::AutoResume),
        E::RequireAction(R::CreateNewSpendRequest),
        E::RequireAction(R::CreateNewSpendRequestAfterCompletion),
        E::CompleteAction,
        E::Edit,
        E::Submit,
        E::Redeem,
        E::Fail,
    ];

    /// Every allowed transition, written out once; everything else must be refused.
    fn allowed() -> Vec<(State, Event, State)> {
        let mut table = vec![
            (S::Created, E::RequestApproval, S::PendingApproval),
            (S::PendingApproval, E::RequestApproval, S::PendingApproval),
            (S::Created, E::Edit, S::Created),
            (S::PendingApproval, E::Edit, S::PendingApproval),
            (S::Created, E::ApproveProgrammatically, S::Approved),
            (S::PendingApproval, E::ApproveProgrammatically, S::Approved),
            (S::PendingApproval, E::Approve, S::Approved),
            (S::PendingApproval, E::Deny, S::Denied),
            (
                S::RequiresAction(R::AutoResume),
                E::CompleteAction,
                S::Approved,
            ),
            (
                S::RequiresAction(R::CreateNewSpendRequestAfterCompletion),
                E::CompleteAction,
                S::Failed,
            ),
            (S::Created, E::Expire, S::Expired),
            (S::PendingApproval, E::Expire, S::Expired),
            (S::Created, E::Cancel, S::Canceled),
            (S::PendingApproval, E::Cancel, S::Canceled),
            (S::Approved, E::Cancel, S::Canceled),
            (S::Approved, E::Redeem, S::Succeeded),
            (S::Approved, E::Fail, S::Failed),
            (S::Approved, E::Submit, S::Submitted),
            (S::Submitted, E::Redeem, S::Succeeded),
            (S::Submitted, E::Fail, S::Failed),
        ];
        for resolution in [
            R::AutoResume,
            R::CreateNewSpendRequest,
            R::CreateNewSpendRequestAfterCompletion,
        ] {
            table.push((
                S::PendingApproval,
                E::RequireAction(resolution),
                S::RequiresAction(resolution),
            ));
            table.push((S::RequiresAction(resolution), E::Deny, S::Denied));
            table.push((S::RequiresAction(resolution), E::Expire, S::Expired));
            table.push((S::RequiresAction(resolution), E::Cancel, S::Canceled));
        }
        table
    }

    #[test]
    fn every_allowed_transition_lands_where_the_table_says() {
        for (from, event, to) in allowed() {
            assert_eq!(transition(from, event), Ok(to), "{from:?} + {event:?}");
        }
    }

    #[test]
    fn every_other_pair_is_refused_with_its_state_and_event() {
        let table = allowed();
        for from in ALL_STATES {
            for event in ALL_EVENTS {
                if table.iter().any(|(f, e, _)| *f == from && *e == event) {
                    continue;
                }
                assert_eq!(
                    transition(from, event),
                    Err(TransitionError { from, event }),
                    "{from:?} + {event:?} should be refused"
                );
            }
        }
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for from in [S::Denied, S::Expired, S::Canceled, S::Succeeded, S::Failed] {
            for event in ALL_EVENTS {
                assert!(transition(from, event).is_err(), "{from:?} + {event:?}");
            }
        }
    }

    #[test]
    fn open_and_history_states_do_not_overlap() {
        for state in ALL_STATES {
            assert!(!(state.is_open() && state.is_history()), "{state:?}");
        }
        assert!(!S::Approved.is_open() && !S::Approved.is_history());
        assert!(!S::Submitted.is_open() && !S::Submitted.is_history());
    }

    #[test]
    fn transition_errors_read_as_sentences() {
        let error = transition(S::Approved, E::Edit).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot update a spend request that is approved"
        );
    }
}
