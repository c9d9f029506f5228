//! How long reading one number takes; every ringing call and every lookup does it once.

use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn parse(c: &mut Criterion) {
    let de: phone::Region = "DE".parse().unwrap();
    let mut group = c.benchmark_group("phone::parse");
    for (name, raw) in [
        ("e164", "+49301234567"),
        ("national", "030 1234567"),
        ("international_00", "0049 30 1234567"),
        (
            "sip_name_addr",
            "\"Kunde\" <sip:+49301234567@10.0.0.1;user=phone>",
        ),
        ("bare_international", "390212345678"),
        ("anonymous", "sip:anonymous@anonymous.invalid"),
    ] {
        group.bench_function(name, |b| b.iter(|| phone::parse(black_box(raw), de)));
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
