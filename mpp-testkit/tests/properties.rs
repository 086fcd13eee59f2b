//! Properties of Link's stripe challenge decoder, over the kit's strategies.

use mpp::protocol::core::PaymentChallenge;
use mpp_testkit::render::{render_challenge, render_fields, style};
use mpp_testkit::strategies::{distractors, header_without_stripe, stripe_spec};
use mpp_testkit::{Expectation, header_with_stripe, mutated_header};
use mpp_wire::auth_params::{decode_field_value, split_challenges};
use mpp_wire::select_stripe_challenge;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-01 00:00 UTC)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// A challenge the `mpp` crate formats decodes to what was formatted.
    #[test]
    fn mpp_formatted_challenges_round_trip(spec in stripe_spec()) {
        let c = spec.challenge();
        let challenge: PaymentChallenge = serde_json::from_value(serde_json::json!({
            "id": spec.id, "realm": spec.realm, "method": "stripe", "intent": spec.intent,
            "request": c.param("request"), "expires": spec.expires,
            "description": spec.description, "digest": spec.digest,
        })).unwrap();
        let header = mpp::format_www_authenticate(&challenge).unwrap();
        let decoded = select_stripe_challenge([&header]).unwrap();
        prop_assert_eq!(&decoded.id, &spec.id);
        prop_assert_eq!(&decoded.realm, &spec.realm);
        prop_assert_eq!(&decoded.intent, &spec.intent);
        prop_assert_eq!(&decoded.network_id, &spec.network_id);
        prop_assert_eq!(&decoded.description, &spec.description);
        prop_assert_eq!(&decoded.expires, &spec.expires);
        prop_assert_eq!(&decoded.digest, &spec.digest);
        prop_assert_eq!(serde_json::Value::Object(decoded.request_json.clone()), spec.request_json());
        // And the credential built from it parses back with the same echo.
        let credential = mpp_wire::format_credential(&decoded.spt_credential("spt_test"));
        let parsed = mpp_wire::parse_credential(&credential).unwrap();
        prop_assert_eq!(&parsed.challenge.id, &spec.id);
        prop_assert_eq!(mpp_wire::spt_of(&parsed), Some("spt_test"));
    }

    /// Among any distractors, in any order and formatting, split over any
    /// number of fields, the stripe challenge is found with its values.
    #[test]
    fn selection_finds_stripe_among_distractors(header in header_with_stripe()) {
        let spec = header.stripe.clone().unwrap();
        let got = Expectation::of_decoded(&select_stripe_challenge(&header.values), now());
        prop_assert_eq!(got, Expectation::accept(&spec), "{:?}", header.values);
    }

    /// The decoded view does not depend on distractor order or formatting.
    #[test]
    fn selection_is_independent_of_order_and_formatting(
        spec in stripe_spec(),
        others in distractors(5),
        (style_a, style_b) in (style(), style()),
        split in vec(any::<bool>(), 6),
        rotate in any::<Index>(),
    ) {
        let mut a = others.clone();
        a.push(spec.challenge());
        let mut b = a.clone();
        let len = b.len();
        b.rotate_left(rotate.index(len));
        let view = |challenges: &[mpp_testkit::Challenge], s: &mpp_testkit::Style, split: &[bool]| {
            select_stripe_challenge(render_fields(challenges, split, s))
                .map(|c| serde_json::to_string(&c).unwrap())
        };
        prop_assert_eq!(view(&a, &style_a, &[]), view(&b, &style_b, &split));
    }

    /// Without a stripe charge or session challenge, Link cannot pay.
    #[test]
    fn headers_without_stripe_are_not_supported(header in header_without_stripe()) {
        let err = select_stripe_challenge(&header.values).unwrap_err();
        prop_assert_eq!(err.code(), "no_stripe_challenge");
    }

    /// Every labelled mutation reaches its labelled outcome, among distractors.
    #[test]
    fn labelled_mutations_reach_their_outcome(m in mutated_header()) {
        let got = Expectation::of_decoded(&select_stripe_challenge(&m.header.values), now());
        prop_assert_eq!(got, m.expect, "{:?}: {:?}", m.mutation, m.header.values);
    }

    /// Our splitter and the `mpp` crate's parser find the same Payment
    /// challenges, with the same ids where `mpp` accepts them.
    #[test]
    fn splitter_agrees_with_mpp(m in mutated_header()) {
        for value in &m.header.values {
            let ours: Vec<_> = split_challenges(&decode_field_value(value.as_bytes()))
                .into_iter()
                .filter(|c| c.is_payment())
                .collect();
            let theirs = mpp::parse_www_authenticate_all([value.as_str()]);
            prop_assert_eq!(ours.len(), theirs.len(), "{}", value);
            for (raw, parsed) in ours.iter().zip(&theirs) {
                if let Ok(parsed) = parsed {
                    prop_assert_eq!(raw.param("id"), Some(parsed.id.as_str()));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// No input makes the decoder panic: arbitrary bytes.
    #[test]
    fn arbitrary_bytes_never_panic(values in vec(vec(any::<u8>(), 0..512), 0..4)) {
        let _ = select_stripe_challenge(&values);
    }

    /// No input makes the decoder panic: valid headers with random byte edits;
    /// what it accepts is always a stripe challenge with a network id.
    #[test]
    fn edited_headers_never_panic(
        header in header_with_stripe(),
        edits in vec((any::<Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = header.values.join(", ").into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len().max(1)).min(bytes.len());
            match op {
                0 if i < bytes.len() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        if let Ok(c) = select_stripe_challenge([&bytes]) {
            prop_assert_eq!(c.method, "stripe");
            prop_assert!(!c.network_id.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Headers up to 64 KiB: the stripe challenge is still found after a long
    /// run of distractors and inside a long quoted description.
    #[test]
    fn long_headers_up_to_64k_decode(
        spec in stripe_spec(),
        others in distractors(4),
        repeat in 1usize..200,
        filler in "[a-z ,=\"\\\\]{16,64}",
    ) {
        let style = mpp_testkit::Style::default();
        let mut stripe = spec.challenge();
        stripe.set("description", filler.repeat(4096 / filler.len().max(1)));
        let stripe_text = render_challenge(&stripe, &style);
        let budget = 64 * 1024 - stripe_text.len() - 2;
        let mut header = String::new();
        for c in others.iter().cycle().take(repeat * others.len()) {
            let text = render_challenge(c, &style);
            if header.len() + text.len() + 2 > budget { break; }
            header.push_str(&text);
            header.push_str(", ");
        }
        header.push_str(&stripe_text);
        prop_assert!(header.len() <= 64 * 1024);
        let decoded = select_stripe_challenge([&header]).unwrap();
        prop_assert_eq!(decoded.network_id, spec.network_id);
    }
}
