//! The committed binding vectors are what the kit generates, match the
//! cross-SDK golden ids, the `mpp` crate's own binding in its layout, and an
//! HMAC-SHA256 computed here over the documented input.

use hmac::{Hmac, KeyInit, Mac};
use mpp_testkit::binding::{from_jsonl, to_jsonl, vectors};
use sha2::Sha256;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/binding.jsonl");

fn hmac_id(secret: &str, input: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    mpp_wire::mpp::base64url_encode(&mac.finalize().into_bytes())
}

#[test]
fn committed_binding_vectors_match_the_generator() {
    let generated = to_jsonl(&vectors());
    let committed = std::fs::read_to_string(PATH).unwrap_or_default();
    if committed != generated {
        if std::env::var_os("UPDATE_CORPUS").is_some() {
            std::fs::write(PATH, &generated).expect("write binding vectors");
            return;
        }
        panic!(
            "corpus/binding.jsonl is stale: run `UPDATE_CORPUS=1 cargo test -p mpp-testkit --test binding`"
        );
    }
    assert_eq!(from_jsonl(&committed).unwrap(), vectors());
}

#[test]
fn every_id_is_the_hmac_of_its_documented_input() {
    for v in vectors() {
        for bound in [&v.draft_02, &v.mpp_0_18] {
            assert_eq!(
                hmac_id(&v.secret, &bound.hmac_input),
                bound.id,
                "{}",
                v.name
            );
        }
        let p = &v.params;
        let legacy = [
            p.realm.as_str(),
            &p.method,
            &p.intent,
            &p.request,
            p.expires.as_deref().unwrap_or(""),
            p.digest.as_deref().unwrap_or(""),
            p.opaque.as_deref().unwrap_or(""),
        ]
        .join("|");
        match p.header.as_deref() {
            Some("Payment-Authorization") => {
                // draft -02: the eighth slot is appended after opaque.
                assert_eq!(
                    v.draft_02.hmac_input,
                    format!("{legacy}|Payment-Authorization")
                );
                assert_ne!(v.draft_02.id, v.mpp_0_18.id, "{}", v.name);
            }
            _ => {
                assert_eq!(v.draft_02.hmac_input, legacy, "{}", v.name);
                assert_eq!(v.draft_02, v.mpp_0_18, "{}", v.name);
            }
        }
    }
}

#[test]
fn the_mpp_crate_binds_in_its_own_layout_and_the_golden_ids_hold() {
    use mpp_wire::mpp::protocol::core::compute_challenge_id_with_header;
    for v in vectors() {
        let p = &v.params;
        let theirs = compute_challenge_id_with_header(
            &v.secret,
            &p.realm,
            &p.method,
            &p.intent,
            &p.request,
            p.expires.as_deref(),
            p.digest.as_deref(),
            p.opaque.as_deref(),
            p.header.as_deref(),
        );
        assert_eq!(theirs, v.mpp_0_18.id, "{}", v.name);
    }
    let by_name = |name: &str| vectors().into_iter().find(|v| v.name == name).unwrap();
    // Published cross-SDK golden ids (mpp's binding tests, shared with mppx and pympp).
    assert_eq!(
        by_name("legacy_required_only").draft_02.id,
        "X6v1eo7fJ76gAxqY0xN9Jd__4lUyDDYmriryOM-5FO4"
    );
    assert_eq!(
        by_name("legacy_with_opaque").draft_02.id,
        "rxzKZ2qjXvinqCH96RORTZEPs1KXsA-0AUjrCAPFOWc"
    );
}
