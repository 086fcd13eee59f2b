//! The committed corpus is what the kit generates, covers every edge case of
//! the spec summary, and Link's decoder agrees with every case.

use mpp_testkit::Expectation;
use mpp_testkit::corpus::{cases, from_jsonl, to_jsonl};
use mpp_wire::select_stripe_challenge;

const CORPUS_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/decode.jsonl");

fn now() -> time::OffsetDateTime {
    // Fixed so the corpus's "expired" flags do not drift: 2026-11-01.
    time::macros::datetime!(2026-11-01 00:00 UTC)
}

#[test]
fn committed_corpus_matches_the_generator() {
    let committed = std::fs::read_to_string(CORPUS_PATH).expect("corpus file");
    let generated = to_jsonl(&cases());
    if committed != generated {
        if std::env::var_os("UPDATE_CORPUS").is_some() {
            std::fs::write(CORPUS_PATH, generated).expect("write corpus");
            return;
        }
        panic!(
            "corpus/decode.jsonl is stale: run `UPDATE_CORPUS=1 cargo test -p mpp-testkit --test corpus`"
        );
    }
    assert_eq!(from_jsonl(&committed).expect("corpus parses"), cases());
}

#[test]
fn decoder_agrees_with_every_corpus_case() {
    let committed = std::fs::read_to_string(CORPUS_PATH).expect("corpus file");
    let mut disagreements = Vec::new();
    for case in from_jsonl(&committed).expect("corpus parses") {
        let got = Expectation::of_decoded(&select_stripe_challenge(case.values()), now());
        if got != case.expect {
            disagreements.push(format!(
                "{}: expected {:?}, got {:?}",
                case.name, case.expect, got
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

#[test]
fn corpus_covers_every_edge_case_of_the_spec_summary() {
    // The list at the end of shared/docs/mpp.md, each mapped to its cases.
    let required = [
        "several_challenges_one_field",
        "several_fields",
        "other_schemes_mixed_in",
        "escaped_quotes_and_commas",
        "token_values",
        "mixed_case_names",
        "whitespace_around_separators",
        "mutation_duplicate_id",
        "mutation_missing_id",
        "mutation_empty_id",
        "mutation_request_padded",
        "mutation_request_standard_alphabet",
        "mutation_request_not_json",
        "mutation_request_not_object",
        "mutation_request_not_jcs",
        "mutation_amount_as_number",
        "mutation_missing_network_id",
        "mutation_expired",
        "mutation_unknown_params",
        "mutation_oversized_request",
        "mutation_long_description",
        "many_distractors_64k",
        "header_too_large",
        "latin1_byte_in_description",
        "invalid_utf8_in_distractor",
        "no_stripe_challenge",
        "credential_header_payment_authorization",
        "credential_header_unsupported",
    ];
    let names: Vec<String> = cases().into_iter().map(|c| c.name).collect();
    for name in required {
        assert!(
            names.iter().any(|n| n == name),
            "missing corpus case {name}"
        );
    }
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "corpus names must be unique");
}
