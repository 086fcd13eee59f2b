//! Link's view of the Machine Payments Protocol wire: the one place in
//! link-harness that reads and writes MPP messages.
//!
//! It stands on the protocol's own Rust SDK, the [`mpp`] crate, for the
//! challenge, credential and receipt types, their codecs and the HMAC binding,
//! and adds what a Link client needs on top:
//!
//! - [`select_stripe_challenge`]: find and validate the stripe challenge among
//!   the `WWW-Authenticate` values of a 402, with errors that name the field;
//! - [`StripeChallenge::spt_credential`]: the credential that pays it with a
//!   shared payment token;
//! - [`problem`]: the Problem Details types merchants answer with;
//! - [`issue`]: the merchant's side, binding and writing a challenge for any
//!   credential header.
//!
//! ```
//! use mpp_wire::select_stripe_challenge;
//!
//! let request = mpp::base64url_encode(
//!     br#"{"amount":"2500","currency":"usd","methodDetails":{"networkId":"profile_shop"}}"#,
//! );
//! let www_authenticate = format!(
//!     concat!(
//!         r#"Payment id="t1", realm="shop", method="tempo", intent="charge", request="e30", "#,
//!         r#"Payment id="s1", realm="shop", method="stripe", intent="charge", request="{}""#,
//!     ),
//!     request
//! );
//! let challenge = select_stripe_challenge([www_authenticate]).unwrap();
//! assert_eq!(challenge.network_id, "profile_shop");
//! assert_eq!(challenge.amount(), "2500");
//!
//! let authorization = mpp_wire::format_credential(&challenge.spt_credential("spt_abc"));
//! assert!(authorization.starts_with("Payment "));
//! ```

pub mod auth_params;
pub mod challenge;
pub mod credential;
pub mod credential_header;
pub mod issue;
pub mod problem;

pub use challenge::{DecodeError, MAX_HEADER_BYTES, StripeChallenge, select_stripe_challenge};
pub use credential::{
    CredentialError, ReceiptError, format_credential, format_receipt, parse_credential,
    parse_receipt, spt_of, stripe_receipt,
};
pub use credential_header::{CredentialHeader, UnsupportedCredentialHeader};
pub use issue::{BindingParams, HeaderSlot, bound_challenge_id, format_challenge};
pub use mpp;
pub use problem::{Problem, ProblemType};
