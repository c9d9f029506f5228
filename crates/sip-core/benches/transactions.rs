//! Transaction-layer throughput: one INVITE → 486 → ACK cycle through a client and a server
//! layer, bytes parsed and printed on both sides, as the shell would drive them.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip_core::transaction::{TransactionConfig, TransactionEvent, TransactionLayer};
use sip_core::{Instant, Peer};
use sip_proto::typed::{From, To, Transport, Via};
use sip_proto::{Host, Method, RequestBuilder, StatusCode, Uri};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

fn invite_cycle(c: &mut Criterion) {
    let uac_addr = SocketAddr::from(([192, 0, 2, 1], 5060));
    let uas_addr = SocketAddr::from(([192, 0, 2, 2], 5060));
    // TCP: Timers D and I are zero, so finished transactions leave at once and the layers
    // stay the same size however long the benchmark runs.
    let (uac_peer, uas_peer) = (Peer::tcp(uac_addr), Peer::tcp(uas_addr));
    let target: Uri = "sip:101@192.0.2.2".parse().expect("uri");
    let mut from = From::new("sip:trunk@192.0.2.1".parse().expect("uri"));
    from.set_tag("f1");

    let mut uac = TransactionLayer::new(TransactionConfig::default());
    let mut uas = TransactionLayer::new(TransactionConfig::default());
    let mut now = Instant::ZERO;
    let mut n: u64 = 0;

    let mut group = c.benchmark_group("transaction_layer");
    group.throughput(Throughput::Elements(1));
    group.bench_function("invite_486_ack_cycle", |b| {
        b.iter(|| {
            n += 1;
            now = now + Duration::from_micros(100);
            let invite = RequestBuilder::new(Method::Invite, target.clone())
                .via(Via::new(
                    Transport::Tcp,
                    Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)),
                    Some(5060),
                    &format!("z9hG4bK{n}"),
                ))
                .from(from.clone())
                .to(To::new(target.clone()))
                .call_id(&format!("bench-{n}"))
                .cseq(1)
                .build();
            uac.send_request(now, invite, uas_peer).expect("send");
            while let Some(t) = uac.poll_transmit() {
                let _ = uas.handle_datagram(now, uac_peer, &t.payload);
            }
            while let Some(e) = uas.poll_event() {
                if let TransactionEvent::Request { key, request, .. } = e {
                    let busy = request.make_response(StatusCode::BUSY_HERE, Some("u1"));
                    uas.send_response(now, &key, &busy).expect("respond");
                }
            }
            while let Some(t) = uas.poll_transmit() {
                let _ = uac.handle_datagram(now, uas_peer, &t.payload);
            }
            while let Some(t) = uac.poll_transmit() {
                let _ = uas.handle_datagram(now, uac_peer, &t.payload);
            }
            while uac.poll_event().is_some() {}
            while uas.poll_event().is_some() {}
            uac.handle_timeout(now);
            uas.handle_timeout(now);
            black_box((uac.len(), uas.len()))
        })
    });
    group.finish();
    assert!(uac.is_empty() && uas.is_empty(), "every cycle completes");
}

criterion_group!(benches, invite_cycle);
criterion_main!(benches);
