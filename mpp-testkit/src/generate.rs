//! Seeded, reproducible samples of the strategies, for tools outside Rust
//! (the mppx differential test, the conformance suite's decoding scenarios).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;

use crate::mutations::{Expectation, mutated_header};
use crate::strategies::{header_with_stripe, header_without_stripe};

/// One generated header with the oracle's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// `valid-<n>`, `no-stripe-<n>` or `mutation-<name>-<n>`.
    pub name: String,
    /// The field values.
    pub values: Vec<String>,
    /// What Link's decoder must answer.
    pub oracle: Expectation,
}

/// `count` samples from `seed`: 60% valid headers, 10% without stripe, 30%
/// labelled mutations. The same seed always gives the same samples.
pub fn samples(count: usize, seed: u64) -> Vec<Sample> {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = prop_oneof![
        6 => header_with_stripe().prop_map(|h| {
            let oracle = h
                .stripe
                .as_ref()
                .map(Expectation::accept)
                .unwrap_or_else(|| Expectation::reject("no_stripe_challenge", None));
            ("valid".to_owned(), h.values, oracle)
        }),
        1 => header_without_stripe().prop_map(|h| (
            "no-stripe".to_owned(),
            h.values,
            Expectation::reject("no_stripe_challenge", None)
        )),
        3 => mutated_header().prop_map(|m| (
            format!("mutation-{}", m.mutation.name()),
            m.header.values,
            m.expect
        )),
    ];
    (0..count)
        .filter_map(|i| {
            let tree = strategy.new_tree(&mut runner).ok()?;
            let (kind, values, oracle) = tree.current();
            Some(Sample {
                name: format!("{kind}-{i}"),
                values,
                oracle,
            })
        })
        .collect()
}
