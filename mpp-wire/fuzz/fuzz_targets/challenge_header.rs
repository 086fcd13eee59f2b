//! Fuzzes Link's stripe challenge selection on raw `WWW-Authenticate` bytes.
//!
//! Input layout: the first byte picks how many header values (1 to 3) the
//! rest is split into, at `\n` bytes (the last value keeps any further `\n`).
//! Checks: no panic; an accepted challenge is a stripe challenge with a
//! network id; one whose credential header is allowed gets an SPT credential
//! that formats and parses back with the same challenge id (and the same
//! request, as written on the wire); any other is refused naming `header`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 3) + 1;
    let values: Vec<&[u8]> = rest.splitn(count, |&b| b == b'\n').collect();

    let Ok(challenge) = mpp_wire::select_stripe_challenge(&values) else {
        return;
    };
    assert_eq!(challenge.method, "stripe");
    assert!(
        challenge.intent == "charge" || challenge.intent == "session",
        "selected intent {:?}",
        challenge.intent
    );
    assert!(
        !challenge.network_id.is_empty(),
        "empty network_id accepted"
    );
    assert!(!challenge.id.is_empty(), "empty id accepted");

    // A challenge naming a header outside draft -02's allow-list decodes, but
    // no credential is ever made for it (a client sends nothing).
    if let Err(refused) = challenge.credential_field() {
        assert_eq!(refused.field(), "header");
        return;
    }
    let authorization = mpp_wire::format_credential(&challenge.spt_credential("spt_x"));
    let credential = mpp_wire::parse_credential(&authorization).unwrap_or_else(|e| {
        panic!(
            "our own credential for challenge {:?} does not parse: {e}",
            challenge.id
        )
    });
    assert_eq!(credential.challenge.id, challenge.id);
    assert_eq!(
        credential.challenge.request.raw(),
        challenge.challenge.request.raw()
    );
    assert_eq!(mpp_wire::spt_of(&credential), Some("spt_x"));
});
