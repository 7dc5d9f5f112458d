//! The answer cache, end to end over loopback: a real upstream that logs every question, the
//! filter in front of it, 127.0.0.x addresses as jails. Whether the upstream was asked again is
//! read from its log; a scripted upstream supplies the replies a zone cannot (TTL 0, SERVFAIL).
#![allow(clippy::unwrap_used)] // the scripted upstream's helpers: a failed step is a failed test

mod util;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use tokio::net::UdpSocket;
use util::*;

/// How many questions for `name` (lowercase, trailing dot) the upstream received.
fn asked(h: &Harness, name: &str) -> usize {
    h.upstream.seen().iter().filter(|s| s.name == name).count()
}

#[tokio::test]
async fn a_repeated_allowed_query_is_answered_without_asking_upstream_again() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let addr = h.server.udp_addr();
    let first = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    let second = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    for reply in [&first, &second] {
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_records(reply), vec![Ipv4Addr::new(10, 1, 0, 1)]);
        assert!(reply.metadata.recursion_available);
        assert!(reply.metadata.recursion_desired);
    }
    assert_eq!(asked(&h, "api.corp.test."), 1, "{:?}", h.upstream.seen());
    assert_ne!(first.metadata.id, second.metadata.id);

    // Still one audit event per query: the hit says it was cached, with the cached rcode.
    let audit = h.audit();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert_eq!(audit[0]["decision"], "allow");
    assert!(audit[0].get("cached").is_none(), "{}", audit[0]);
    assert_eq!(audit[1]["decision"], "allow");
    assert_eq!(audit[1]["cached"], true);
    assert_eq!(audit[1]["upstream_rcode"], "NOERROR");
    assert_eq!(audit[1]["rule"], "api.corp.test");
    assert_eq!(audit[1]["name"], "api.corp.test");
    assert_eq!(audit[1]["jail"], "j2");

    // Over TCP the same entry answers.
    let tcp = exchange_tcp(
        jail,
        h.server.tcp_addr(),
        &query(ascii("api.corp.test."), RecordType::A),
    )
    .await;
    assert_eq!(a_records(&tcp), vec![Ipv4Addr::new(10, 1, 0, 1)]);
    assert_eq!(asked(&h, "api.corp.test."), 1);
}

#[tokio::test]
async fn a_cached_answer_carries_the_ttl_minus_its_age() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let addr = h.server.udp_addr();
    let first = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    assert_eq!(first.answers[0].ttl, 60, "the zone's TTL");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    let ttl = second.answers[0].ttl;
    assert!((57..=59).contains(&ttl), "ttl {ttl}");
    assert_eq!(asked(&h, "api.corp.test."), 1);
}

#[tokio::test]
async fn an_nxdomain_answer_is_cached_negatively() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.corp.test"]);
    let addr = h.server.udp_addr();
    for _ in 0..3 {
        let reply = ask(jail, addr, ascii("gone.corp.test."), RecordType::A).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
        assert!(reply.answers.is_empty());
        // The SOA that gave the negative TTL travels with the cached answer.
        assert!(
            reply
                .authorities
                .iter()
                .any(|r| r.record_type() == RecordType::SOA),
            "{reply:?}"
        );
    }
    assert_eq!(asked(&h, "gone.corp.test."), 1, "{:?}", h.upstream.seen());
    let audit = h.audit();
    assert_eq!(audit.len(), 3);
    assert_eq!(audit[0]["upstream_rcode"], "NXDOMAIN");
    assert!(audit[0].get("cached").is_none());
    for e in &audit[1..] {
        assert_eq!(e["decision"], "allow");
        assert_eq!(e["cached"], true);
        assert_eq!(e["upstream_rcode"], "NXDOMAIN");
    }
}

#[tokio::test]
async fn blocks_reading_another_jails_cached_answer_for_a_name_denied_to_it() {
    let h = start(|_| {}).await;
    let allowed = jail_ip(2);
    let other = jail_ip(3);
    h.allow(allowed, "j2", &["secret.corp.test"]);
    h.allow(other, "j3", &["api.corp.test"]);
    let addr = h.server.udp_addr();
    let reply = ask(allowed, addr, ascii("secret.corp.test."), RecordType::A).await;
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 7)]);
    // The entry is live (the allowed jail gets it without a second upstream question)…
    let reply = ask(allowed, addr, ascii("secret.corp.test."), RecordType::A).await;
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 7)]);
    assert_eq!(asked(&h, "secret.corp.test."), 1);
    // …and the other jail, and a stranger, still get NXDOMAIN, in any spelling.
    for (client, name) in [
        (other, "secret.corp.test."),
        (other, "SECRET.corp.test."),
        (jail_ip(99), "secret.corp.test."),
    ] {
        let reply = ask(client, addr, ascii(name), RecordType::A).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
        assert!(reply.answers.is_empty(), "{name}");
    }
    let denied: Vec<_> = h
        .audit()
        .into_iter()
        .filter(|e| e["decision"] == "deny")
        .collect();
    assert_eq!(denied.len(), 3);
    for e in &denied {
        assert!(e.get("cached").is_none(), "{e}");
        assert!(e.get("upstream_rcode").is_none(), "{e}");
    }
    assert_eq!(denied[0]["reason"], "not_allowed");
    assert_eq!(denied[2]["reason"], "unknown_client");
    assert_eq!(asked(&h, "secret.corp.test."), 1);
}

#[tokio::test]
async fn case_variants_share_an_entry_and_each_client_gets_its_own_spelling_back() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    let other = jail_ip(3);
    h.allow(jail, "j2", &["api.corp.test"]);
    h.allow(other, "j3", &["*.corp.test"]);
    let addr = h.server.udp_addr();
    for (client, name) in [
        (jail, "api.corp.test."),
        (jail, "API.Corp.TEST."),
        (other, "aPi.cOrP.tEsT."),
    ] {
        let reply = ask(client, addr, ascii(name), RecordType::A).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NoError,
            "{name}"
        );
        assert_eq!(
            a_records(&reply),
            vec![Ipv4Addr::new(10, 1, 0, 1)],
            "{name}"
        );
        assert_eq!(reply.queries.len(), 1);
        assert_eq!(reply.queries[0].name().to_ascii(), name);
    }
    assert_eq!(asked(&h, "api.corp.test."), 1, "{:?}", h.upstream.seen());
    let audit = h.audit();
    assert_eq!(audit[2]["jail"], "j3");
    assert_eq!(audit[2]["rule"], "*.corp.test");
    assert_eq!(audit[2]["cached"], true);
}

#[tokio::test]
async fn another_type_or_the_do_bit_is_another_entry() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["secret.corp.test"]);
    let addr = h.server.udp_addr();
    ask(jail, addr, ascii("secret.corp.test."), RecordType::A).await;
    ask(jail, addr, ascii("secret.corp.test."), RecordType::TXT).await;
    let mut signed = query(ascii("secret.corp.test."), RecordType::A);
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true);
    signed.set_edns(edns);
    exchange_udp(jail, addr, &signed).await;
    assert_eq!(asked(&h, "secret.corp.test."), 3, "{:?}", h.upstream.seen());
}

/// An upstream answering from a script, not a zone: `zero.*` gets an A record with TTL 0,
/// `fail.*` SERVFAIL, anything else an A record with TTL 60. Logs every question.
struct Scripted {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Scripted {
    async fn start() -> Self {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = sock.local_addr().unwrap();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = Arc::clone(&log);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, from)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                let Ok(request) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                let Some(question) = request.queries.first().cloned() else {
                    continue;
                };
                let name = question.name().to_ascii().to_ascii_lowercase();
                seen.lock().unwrap().push(name.clone());
                let mut reply = Message::response(request.metadata.id, request.metadata.op_code);
                reply.metadata.recursion_desired = request.metadata.recursion_desired;
                reply.metadata.recursion_available = true;
                reply.add_query(question.clone());
                let a = |ttl| {
                    let data = RData::A(A(Ipv4Addr::new(10, 2, 0, 1)));
                    Record::from_rdata(question.name().clone(), ttl, data)
                };
                if name.starts_with("fail.") {
                    reply.metadata.response_code = ResponseCode::ServFail;
                } else if name.starts_with("zero.") {
                    reply.add_answer(a(0));
                } else {
                    reply.add_answer(a(60));
                }
                let _ = sock.send_to(&reply.to_vec().unwrap(), from).await;
            }
        });
        Self { addr, log, task }
    }

    fn asked(&self, name: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start_scripted() -> (Scripted, Harness) {
    let scripted = Scripted::start().await;
    let mut upstream = start_upstream().await;
    upstream.addr = scripted.addr;
    let h = start_with(upstream, |_| {}).await;
    (scripted, h)
}

#[tokio::test]
async fn a_ttl_0_answer_is_not_cached() {
    let (up, h) = start_scripted().await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.corp.test"]);
    let addr = h.server.udp_addr();
    for _ in 0..3 {
        let reply = ask(jail, addr, ascii("zero.corp.test."), RecordType::A).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 2, 0, 1)]);
        assert_eq!(reply.answers[0].ttl, 0);
    }
    assert_eq!(up.asked("zero.corp.test."), 3);
    // The scripted upstream caches like any other: a TTL-60 answer is asked once.
    for _ in 0..2 {
        ask(jail, addr, ascii("other.corp.test."), RecordType::A).await;
    }
    assert_eq!(up.asked("other.corp.test."), 1);
    assert!(h.audit().iter().all(|e| e["decision"] == "allow"));
}

#[tokio::test]
async fn a_servfail_answer_is_not_cached() {
    let (up, h) = start_scripted().await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.corp.test"]);
    let addr = h.server.udp_addr();
    for _ in 0..3 {
        let reply = ask(jail, addr, ascii("fail.corp.test."), RecordType::A).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    }
    assert_eq!(up.asked("fail.corp.test."), 3);
    let audit = h.audit();
    assert_eq!(audit.len(), 3);
    for e in &audit {
        assert_eq!(e["upstream_rcode"], "SERVFAIL");
        assert!(e.get("cached").is_none(), "{e}");
    }
}

#[tokio::test]
async fn an_upstream_error_is_not_cached() {
    // Nothing listens on this port: every question fails at the socket.
    let closed: SocketAddr = {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        s.local_addr().unwrap()
    };
    let mut upstream = start_upstream().await;
    upstream.addr = closed;
    let h = start_with(upstream, |c| {
        c.upstream_timeout = Duration::from_millis(300)
    })
    .await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    for _ in 0..2 {
        let reply = ask(
            jail,
            h.server.udp_addr(),
            ascii("api.corp.test."),
            RecordType::A,
        )
        .await;
        assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    }
    let audit = h.audit();
    assert_eq!(audit.len(), 2);
    for e in &audit {
        assert!(e.get("upstream_error").is_some(), "{e}");
        assert!(e.get("cached").is_none(), "{e}");
    }
}
