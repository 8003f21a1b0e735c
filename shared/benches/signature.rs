//! Signature verification of a 4 KB webhook body beside the raw HMAC-SHA256 of the same
//! bytes: the difference is what header parsing and the constant-time compare cost.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use shared::secret::Secret;
use shared::signature::{Verifier, sign_header};

const SECRET: &str = "whsec_bench_0123456789abcdef0123456789abcdef";
const NOW: i64 = 1_764_340_000;

fn body_4k() -> Vec<u8> {
    let mut body = br#"{"id":"evt_bench","object":"event","type":"checkout.session.completed","data":{"object":{"padding":""#.to_vec();
    while body.len() < 4096 - 6 {
        body.push(b'x');
    }
    body.extend_from_slice(br#""}}}"#);
    body.resize(4096, b' ');
    body
}

fn bench(c: &mut Criterion) {
    let body = body_4k();
    let header = sign_header(&body, &[SECRET], NOW);
    let one_secret = Verifier::new(vec![Secret::new(SECRET)], 300);
    // While a secret is rolled: two configured, the matching one second.
    let rolling = Verifier::new(
        vec![Secret::new("whsec_old_secret_value"), Secret::new(SECRET)],
        300,
    );

    let mut group = c.benchmark_group("stripe_signature_4KiB");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("raw_hmac_sha256", |b| {
        b.iter(|| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(black_box(&body));
            black_box(mac.finalize().into_bytes())
        })
    });
    group.bench_function("verify_one_secret", |b| {
        b.iter(|| {
            one_secret
                .verify(black_box(&body), Some(black_box(&header)), NOW)
                .unwrap()
        })
    });
    group.bench_function("verify_two_secrets", |b| {
        b.iter(|| {
            rolling
                .verify(black_box(&body), Some(black_box(&header)), NOW)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
