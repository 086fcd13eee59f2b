//! A test kit for decoders of MPP `WWW-Authenticate: Payment` challenges, as
//! Link reads them: proptest strategies that write valid stripe challenges
//! among distractors in every formatting RFC 9110 allows, labelled mutations
//! that each come with the outcome a decoder must reach, and a committed,
//! language-neutral corpus (`corpus/decode.jsonl`) for decoders in any language.
//!
//! ```
//! use mpp_testkit::strategies::header_with_stripe;
//! use proptest::prelude::*;
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! runner
//!     .run(&header_with_stripe(), |header| {
//!         let decoded = mpp_wire::select_stripe_challenge(&header.values).unwrap();
//!         prop_assert_eq!(decoded.network_id, header.stripe.unwrap().network_id);
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

pub mod binding;
pub mod corpus;
pub mod generate;
pub mod mutations;
pub mod render;
pub mod strategies;

pub use mutations::{Expectation, MutatedHeader, Mutation, mutated_header};
pub use render::{Challenge, Style};
pub use strategies::{GeneratedHeader, StripeSpec, header_with_stripe, header_without_stripe};
