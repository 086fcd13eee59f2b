//! Decode throughput of Link's stripe selection, against the `mpp` crate's
//! own parser on the same input as the baseline (1, 3 and 10 challenges, a
//! 64 KiB header), and its scaling with header length (linear: the time per
//! byte stays flat from 1 KiB to 64 KiB, and to 252 KiB on pathological inputs).
//! `scripts/bench` runs it and reports the ratios in docs/benchmarks.md.
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

/// `n` challenges in one field: `n - 1` distractors (tempo and lightning in turn),
/// then the stripe challenge Link pays.
fn challenges(n: usize) -> String {
    let lightning = challenge(
        "LiGhTnInG000000000000000000000000000000000b",
        "lightning",
        r#"{"amount":"2500","currency":"BTC","methodDetails":{"invoice":"lnbc25u1pexample"}}"#,
    );
    let distractors = [tempo(), lightning];
    let stripe = challenge(
        "qB3wErTyUiOpAsDfGhJkLzXcVbNm1234567890abcde",
        "stripe",
        r#"{"amount":"2500","currency":"usd","methodDetails":{"networkId":"profile_1MqDcVKA5SAgXE","paymentMethodTypes":["card","link"]}}"#,
    );
    let mut parts: Vec<&str> = (0..n - 1).map(|i| distractors[i % 2].as_str()).collect();
    parts.push(&stripe);
    parts.join(", ")
}

/// A header of about `bytes` bytes: distractors, then the stripe challenge.
fn header_of(bytes: usize) -> String {
    let stripe = challenges(3);
    let mut header = String::new();
    let distractor = tempo();
    while header.len() + distractor.len() + stripe.len() + 2 < bytes {
        header.push_str(&distractor);
        header.push_str(", ");
    }
    header.push_str(&stripe);
    header
}

/// Both parsers on the same input: `mpp` (baseline) parses every challenge,
/// `mpp_wire` selects and fully decodes the stripe one.
fn against_the_mpp_parser(c: &mut Criterion, group: &str, inputs: &[(String, String)]) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(1));
    for (label, header) in inputs {
        assert!(mpp_wire::select_stripe_challenge([header]).is_ok());
        group.bench_with_input(BenchmarkId::new("mpp", label), header, |b, h| {
            b.iter(|| mpp::parse_www_authenticate_all([black_box(h.as_str())]))
        });
        group.bench_with_input(BenchmarkId::new("mpp_wire", label), header, |b, h| {
            b.iter(|| mpp_wire::select_stripe_challenge([black_box(h)]))
        });
    }
    group.finish();
}

fn decode_challenges(c: &mut Criterion) {
    let inputs: Vec<(String, String)> = [1usize, 3, 10]
        .into_iter()
        .map(|n| (n.to_string(), challenges(n)))
        .collect();
    against_the_mpp_parser(c, "challenges", &inputs);
    against_the_mpp_parser(c, "header_64KiB", &[("64KiB".into(), header_of(64 * 1024))]);
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
/// escapes, of whitespace before `=`. Each at 4 to 252 KiB: linear means the
/// time per byte stays flat.
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
        // 252 KiB: the largest size under the 256 KiB cap (MAX_HEADER_BYTES).
        for kib in [4usize, 16, 64, 252] {
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

criterion_group!(benches, decode_challenges, scaling, pathological);
criterion_main!(benches);
