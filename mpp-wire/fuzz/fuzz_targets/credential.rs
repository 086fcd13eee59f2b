//! Fuzzes the credential decoder (`Authorization: Payment <base64url JSON>`)
//! and the receipt decoder (`Payment-Receipt`) on arbitrary strings.
//!
//! Checks: no panic; a credential that parses formats and parses back to the
//! same challenge id, request and payload; a receipt that parses formats and
//! parses back to the same reference.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(credential) = mpp_wire::parse_credential(data) {
        let again = mpp_wire::parse_credential(&mpp_wire::format_credential(&credential))
            .unwrap_or_else(|e| panic!("re-formatted credential does not parse: {e}"));
        assert_eq!(again.challenge.id, credential.challenge.id);
        assert_eq!(
            again.challenge.request.raw(),
            credential.challenge.request.raw()
        );
        assert_eq!(again.payload, credential.payload);
    }
    if let Ok(receipt) = mpp_wire::parse_receipt(data) {
        let again = mpp_wire::parse_receipt(&mpp_wire::format_receipt(&receipt))
            .unwrap_or_else(|e| panic!("re-formatted receipt does not parse: {e}"));
        assert_eq!(again.reference, receipt.reference);
    }
});
