//! Parse and print cost of typical messages: an INVITE with SDP from a trunk (Diversion, PAI)
//! and a REGISTER with digest credentials (the golden fixtures).
//!
//! `cargo bench -p sip-proto --bench parse`; each benchmark is one message, so criterion's
//! "thrpt" line reads as messages per second.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use sip_proto::typed::{Authorization, CSeq, CallId, From, To, Via};
use sip_proto::{parse_message, parse_stream, StatusCode};

const INVITE: &[u8] = include_bytes!("../tests/fixtures/invite-trunk-diversion.sip");
const REGISTER: &[u8] = include_bytes!("../tests/fixtures/register-auth.sip");

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sip");
    g.throughput(Throughput::Elements(1));

    g.bench_function("parse INVITE+SDP (datagram)", |b| {
        b.iter(|| parse_message(black_box(INVITE)).expect("parses"))
    });
    g.bench_function("parse REGISTER+auth (datagram)", |b| {
        b.iter(|| parse_message(black_box(REGISTER)).expect("parses"))
    });
    g.bench_function("parse INVITE+SDP (stream)", |b| {
        b.iter(|| {
            parse_stream(black_box(INVITE))
                .expect("parses")
                .expect("complete")
        })
    });

    // What a transaction layer does with every request: parse, validate, read the keys
    // (validate_core hands back the Via/From/To/Call-ID/CSeq it parsed).
    g.bench_function("parse+validate_core INVITE", |b| {
        b.iter(|| {
            let m = parse_message(black_box(INVITE)).expect("parses");
            let core = m.validate_core().expect("valid");
            black_box((m, core))
        })
    });
    g.bench_function(
        "parse+read Via/From/To/Call-ID/CSeq INVITE (no validate)",
        |b| {
            b.iter(|| {
                let m = parse_message(black_box(INVITE)).expect("parses");
                let h = m.headers();
                let via: Via = h.require().expect("via");
                let from: From = h.require().expect("from");
                let to: To = h.require().expect("to");
                let call_id: CallId = h.require().expect("call-id");
                let cseq: CSeq = h.require().expect("cseq");
                black_box((via, from, to, call_id, cseq))
            })
        },
    );
    g.bench_function("parse REGISTER + read Authorization", |b| {
        b.iter(|| {
            let m = parse_message(black_box(REGISTER)).expect("parses");
            let auth: Authorization = m.headers().require().expect("auth");
            black_box(auth)
        })
    });

    let invite = parse_message(INVITE).expect("parses");
    let register = parse_message(REGISTER).expect("parses");
    g.bench_function("print INVITE+SDP", |b| {
        b.iter(|| black_box(&invite).to_bytes())
    });
    g.bench_function("print REGISTER+auth", |b| {
        b.iter(|| black_box(&register).to_bytes())
    });
    let invite_request = invite.as_request().expect("request").clone();
    g.bench_function("make 180 response + print", |b| {
        b.iter(|| {
            black_box(&invite_request)
                .make_response(StatusCode::RINGING, Some("tag-1"))
                .to_bytes()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
