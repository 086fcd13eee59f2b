//! Decode throughput of Link's stripe selection, against the `mpp` crate's
//! own parser on the same input as the baseline, and its scaling with header
//! length (linear: the time per byte stays flat from 1 KiB to 64 KiB).
//!
//! `cargo bench -p mpp-wire --bench decode`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn challenge(id: &str, method: &str, request: &str) -> String {
    format!(
        r#"Payment id="{id}", realm="api.shop.example", method="{method}", intent="charge", request="{}", expires="2031-01-01T00:00:00Z""#,
        mpp::base64url_encode(request.as_bytes())
    )
}

fn tempo() -> String {
    challenge(
        "tEmPo0000000000000000000000000000000000000a",
        "tempo",
        r#"{"amount":"2500000","currency":"0x20c0000000000000000000000000000000000000","methodDetails":{"chainId":4217},"recipient":"0x742d35cc6634c0532925a3b844bc9e7595f8fe00"}"#,
    )
}

fn three_challenges() -> String {
    let lightning = challenge(
        "LiGhTnInG000000000000000000000000000000000b",
        "lightning",
        r#"{"amount":"2500","currency":"BTC","methodDetails":{"invoice":"lnbc25u1pexample"}}"#,
    );
    let stripe = challenge(
        "qB3wErTyUiOpAsDfGhJkLzXcVbNm1234567890abcde",
        "stripe",
        r#"{"amount":"2500","currency":"usd","methodDetails":{"networkId":"profile_1MqDcVKA5SAgXE","paymentMethodTypes":["card","link"]}}"#,
    );
    format!("{}, {lightning}, {stripe}", tempo())
}

/// A header of about `bytes` bytes: distractors, then the stripe challenge.
fn header_of(bytes: usize) -> String {
    let stripe = three_challenges();
    let mut header = String::new();
    let distractor = tempo();
    while header.len() + distractor.len() + stripe.len() + 2 < bytes {
        header.push_str(&distractor);
        header.push_str(", ");
    }
    header.push_str(&stripe);
    header
}

fn decode_three_challenges(c: &mut Criterion) {
    let header = three_challenges();
    assert!(mpp_wire::select_stripe_challenge([&header]).is_ok());
    let mut group = c.benchmark_group("three_challenge_header");
    group.throughput(Throughput::Elements(1));
    group.bench_function("mpp_parse_all (baseline)", |b| {
        b.iter(|| mpp::parse_www_authenticate_all([black_box(header.as_str())]))
    });
    group.bench_function("mpp_wire_select_stripe", |b| {
        b.iter(|| mpp_wire::select_stripe_challenge([black_box(&header)]))
    });
    group.finish();
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("header_length");
    for kib in [1usize, 4, 16, 64] {
        let header = header_of(kib * 1024);
        assert!(mpp_wire::select_stripe_challenge([&header]).is_ok());
        group.throughput(Throughput::Bytes(header.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{kib}KiB")),
            &header,
            |b, h| b.iter(|| mpp_wire::select_stripe_challenge([black_box(h)])),
        );
    }
    group.finish();
}

/// Inputs built to trip a quadratic scan: runs of bare words, of schemes, of
/// escapes, of whitespace before `=`. Each at 16 and 64 KiB: linear means the
/// 64 KiB time is about four times the 16 KiB one.
/// Makes an input of about the given number of bytes.
type Shape = fn(usize) -> String;

fn pathological(c: &mut Criterion) {
    let shapes: [(&str, Shape); 4] = [
        ("words", |n| "a,".repeat(n / 2)),
        ("schemes", |n| "Payment ".repeat(n / 8)),
        ("escapes", |n| {
            format!("Payment id=\"{}\"", "\\\"".repeat(n / 4))
        }),
        ("spaces_before_eq", |n| format!("a,{}=", " ".repeat(n))),
    ];
    let mut group = c.benchmark_group("pathological");
    for (name, make) in shapes {
        for kib in [16usize, 64] {
            let input = make(kib * 1024);
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(
                BenchmarkId::new(name, format!("{kib}KiB")),
                &input,
                |b, h| b.iter(|| mpp_wire::select_stripe_challenge([black_box(h)])),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, decode_three_challenges, scaling, pathological);
criterion_main!(benches);
