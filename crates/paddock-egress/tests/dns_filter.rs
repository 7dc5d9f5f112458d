//! The DNS filter against a real upstream server, over loopback. Each test starts its own
//! upstream (which logs every question it receives) and its own filter; 127.0.0.x addresses play
//! the jails. Attack tests are named `blocks_<attack>` and read the upstream's log.

mod util;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use paddock_egress::{DnsFilter, EgressError, FilterConfig, FilterTable, JsonLinesSink};
use tokio::net::UdpSocket;
use util::*;

#[tokio::test]
async fn allowed_exact_name_resolves_with_the_upstream_answer() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("api.corp.test."),
        RecordType::A,
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 1)]);
    assert!(reply.metadata.recursion_available);
    assert!(h.upstream.saw("api.corp.test."));
}

#[tokio::test]
async fn wildcard_allows_names_at_depth_one_and_three() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.svc.corp.test"]);
    for name in ["db.svc.corp.test.", "a.b.db.svc.corp.test."] {
        let reply = ask(jail, h.server.udp_addr(), ascii(name), RecordType::A).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NoError,
            "{name}"
        );
        assert_eq!(
            a_records(&reply),
            vec![Ipv4Addr::new(10, 1, 0, 2)],
            "{name}"
        );
    }
}

#[tokio::test]
async fn blocks_the_wildcard_apex() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.svc.corp.test"]);
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("svc.corp.test."),
        RecordType::A,
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert!(reply.answers.is_empty());
    assert!(h.upstream.seen().is_empty(), "{:?}", h.upstream.seen());
}

#[tokio::test]
async fn blocks_suffix_confusion() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["*.svc.corp.test"]);
    for name in ["evilsvc.corp.test.", "svc.corp.test.evil.test."] {
        let reply = ask(jail, h.server.udp_addr(), ascii(name), RecordType::A).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{name}"
        );
    }
    assert!(h.upstream.seen().is_empty(), "{:?}", h.upstream.seen());
}

#[tokio::test]
async fn blocks_a_denied_name_for_every_query_type_without_asking_upstream() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test", "*.svc.corp.test"]);
    for qtype in [
        RecordType::A,
        RecordType::AAAA,
        RecordType::TXT,
        RecordType::MX,
        RecordType::ANY,
        RecordType::NULL,
    ] {
        let started = Instant::now();
        let reply = ask(jail, h.server.udp_addr(), ascii("secret.corp.test."), qtype).await;
        assert_eq!(
            reply.metadata.response_code,
            ResponseCode::NXDomain,
            "{qtype}"
        );
        assert!(reply.answers.is_empty(), "{qtype}");
        // "At once": well under the upstream timeout.
        assert!(started.elapsed() < Duration::from_millis(500), "{qtype}");
    }
    assert!(!h.upstream.saw("secret"), "{:?}", h.upstream.seen());
    assert!(h.upstream.seen().is_empty());
}

/// A fast, seedable generator for unique labels (no extra dependency).
struct XorShift(u64);

impl XorShift {
    fn label(&mut self) -> String {
        let mut s = String::new();
        for _ in 0..20 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            s.push(char::from(
                b"abcdefghijklmnopqrstuvwxyz234567"[(self.0 % 32) as usize],
            ));
        }
        s
    }
}

#[tokio::test]
async fn blocks_dns_tunnelling_through_unique_subdomains() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test", "*.svc.corp.test"]);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut rng = XorShift(seed);
    let names: HashSet<String> = (0..500)
        .map(|_| format!("{}.tunnel.corp.test.", rng.label()))
        .collect();
    assert_eq!(names.len(), 500);

    let started = Instant::now();
    let (mut nx, mut refused) = (0, 0);
    for name in &names {
        let reply = ask(jail, h.server.udp_addr(), ascii(name), RecordType::TXT).await;
        match reply.metadata.response_code {
            ResponseCode::NXDomain => nx += 1,
            ResponseCode::Refused => refused += 1,
            other => panic!("{name}: {other:?}"),
        }
        assert!(reply.answers.is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "tunnelling loop too slow"
        );
    }
    assert_eq!(nx + refused, 500);
    assert!(nx >= 200, "the burst is answered NXDOMAIN, got {nx}");
    assert!(!h.upstream.saw("tunnel"), "{:?}", h.upstream.seen());
    assert!(h.upstream.seen().is_empty());
}

#[tokio::test]
async fn normalises_case_and_trailing_dot() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["API.corp.test"]);
    for name in ["API.Corp.TEST.", "api.corp.test", "Api.CORP.test"] {
        let reply = ask(jail, h.server.udp_addr(), ascii(name), RecordType::A).await;
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
        // The client gets its own question back, spelling included.
        assert_eq!(
            reply.queries[0].name().to_ascii().trim_end_matches('.'),
            name.trim_end_matches('.')
        );
    }
}

#[tokio::test]
async fn idna_name_matches_its_a_label_pattern() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["xn--bcher-kva.corp.test"]);
    // What a resolver library sends: the A-label, any case.
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("XN--BCHER-KVA.corp.test."),
        RecordType::A,
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 5)]);
    // A crafted client sending raw UTF-8 U-label bytes: compared, and forwarded, as the A-label.
    let raw = Name::from_labels(vec!["Bücher".as_bytes(), b"corp", b"test"]).unwrap();
    let reply = ask(jail, h.server.udp_addr(), raw, RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 5)]);
    let seen = h.upstream.seen();
    assert!(
        seen.iter().all(|s| s.name == "xn--bcher-kva.corp.test."),
        "{seen:?}"
    );
    // A different U-label is another name.
    let raw = Name::from_labels(vec!["bucher".as_bytes(), b"corp", b"test"]).unwrap();
    let reply = ask(jail, h.server.udp_addr(), raw, RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn unknown_client_gets_nxdomain_for_everything() {
    let h = start(|_| {}).await;
    h.allow(jail_ip(2), "j2", &["api.corp.test"]);
    let stranger = jail_ip(99);
    for qtype in [RecordType::A, RecordType::TXT] {
        let reply = ask(
            stranger,
            h.server.udp_addr(),
            ascii("api.corp.test."),
            qtype,
        )
        .await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    }
    assert!(h.upstream.seen().is_empty());
    let audit = h.audit();
    assert!(audit
        .iter()
        .all(|e| e["reason"] == "unknown_client" && e["jail"].is_null()));
}

#[tokio::test]
async fn hot_reload_applies_to_the_very_next_query() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let addr = h.server.udp_addr();
    let reply = ask(jail, addr, ascii("later.corp.test."), RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);

    let changed = Instant::now();
    h.allow(jail, "j2", &["api.corp.test", "later.corp.test"]);
    let update_took = changed.elapsed();
    let reply = ask(jail, addr, ascii("later.corp.test."), RecordType::A).await;
    let in_force_after = changed.elapsed();
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 6)]);
    eprintln!("update took {update_took:?}; the next query resolved {in_force_after:?} after it");
    assert!(update_took < Duration::from_millis(50));
    assert!(in_force_after < Duration::from_secs(1));

    // Removing the entry denies everything at once.
    assert!(h.table.remove(jail));
    let reply = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
}

#[tokio::test]
async fn tcp_queries_work_including_answers_too_big_for_udp() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test", "big.corp.test"]);
    let tcp = h.server.tcp_addr();
    let reply = exchange_tcp(jail, tcp, &query(ascii("api.corp.test."), RecordType::A)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    assert_eq!(a_records(&reply), vec![Ipv4Addr::new(10, 1, 0, 1)]);
    let reply = exchange_tcp(jail, tcp, &query(ascii("secret.corp.test."), RecordType::A)).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);

    // 40 TXT records exceed the UDP payload: the filter retries upstream over TCP and relays
    // them all to a TCP client; a UDP client without EDNS gets a truncated reply.
    let reply = exchange_tcp(jail, tcp, &query(ascii("big.corp.test."), RecordType::TXT)).await;
    assert_eq!(
        reply.metadata.response_code,
        ResponseCode::NoError,
        "{:?}",
        h.audit()
    );
    assert_eq!(reply.answers.len(), 40);
    let big_asked = h
        .upstream
        .seen()
        .iter()
        .filter(|s| s.name == "big.corp.test.")
        .count();
    assert_eq!(big_asked, 2, "one truncated UDP exchange, one TCP retry");
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("big.corp.test."),
        RecordType::TXT,
    )
    .await;
    assert!(reply.metadata.truncation);
    assert!(!h.upstream.saw("secret"));
    assert!(h
        .audit()
        .iter()
        .any(|e| e["transport"] == "tcp" && e["decision"] == "allow"));
}

#[tokio::test]
async fn upstream_that_never_answers_gives_servfail_within_the_timeout() {
    // A bound socket that reads nothing: queries to it vanish.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let mut upstream = start_upstream().await;
    upstream.addr = silent.local_addr().unwrap();
    let h = start_with(upstream, |c| {
        c.upstream_timeout = Duration::from_millis(500)
    })
    .await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let started = Instant::now();
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("api.corp.test."),
        RecordType::A,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
    let audit = h.audit();
    assert_eq!(audit[0]["decision"], "allow");
    assert_eq!(audit[0]["upstream_error"], "timeout");
    drop(silent);
}

#[tokio::test]
async fn upstream_port_closed_gives_servfail() {
    let closed: SocketAddr = {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        s.local_addr().unwrap()
    };
    let mut upstream = start_upstream().await;
    upstream.addr = closed;
    let h = start_with(upstream, |c| {
        c.upstream_timeout = Duration::from_millis(500)
    })
    .await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let started = Instant::now();
    let reply = ask(
        jail,
        h.server.udp_addr(),
        ascii("api.corp.test."),
        RecordType::A,
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn rate_limit_refuses_above_the_burst_and_audits_once_per_second() {
    let h = start(|c| {
        c.rate_limit.per_second = 5;
        c.rate_limit.burst = 10;
    })
    .await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let other = jail_ip(3);
    h.allow(other, "j3", &["api.corp.test"]);
    let started = Instant::now();
    let mut codes = Vec::new();
    for _ in 0..30 {
        let reply = ask(
            jail,
            h.server.udp_addr(),
            ascii("api.corp.test."),
            RecordType::A,
        )
        .await;
        codes.push(reply.metadata.response_code);
    }
    let took = started.elapsed();
    let ok = codes
        .iter()
        .filter(|c| **c == ResponseCode::NoError)
        .count();
    let refused = codes
        .iter()
        .filter(|c| **c == ResponseCode::Refused)
        .count();
    assert_eq!(ok + refused, 30, "{codes:?}");
    // 10 from the burst plus 5 per second of the loop's duration.
    let earned = 10 + (took.as_secs_f64() * 5.0).ceil() as usize;
    assert!(
        ok >= 10 && ok <= earned,
        "ok {ok}, earned {earned}, {codes:?}"
    );
    assert!(refused > 0);
    // Another jail has its own bucket.
    let reply = ask(
        other,
        h.server.udp_addr(),
        ascii("api.corp.test."),
        RecordType::A,
    )
    .await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    // Only queries within the limit can go upstream (the answer cache answers the repeats).
    assert!(h.upstream.seen().len() <= ok + 1);
    let limited: Vec<_> = h
        .audit()
        .into_iter()
        .filter(|e| e["decision"] == "ratelimited")
        .collect();
    let max_events = took.as_secs() as usize + 1;
    assert!(
        !limited.is_empty() && limited.len() <= max_events,
        "{} events in {took:?}",
        limited.len()
    );
    assert_eq!(limited[0]["reason"], "rate_limited");
    assert_eq!(limited[0]["jail"], "j2");
}

#[tokio::test]
async fn audit_lines_are_json_with_the_decision_fields_and_nothing_else() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "build-7", &["*.svc.corp.test"]);
    let addr = h.server.udp_addr();
    ask(jail, addr, ascii("DB.svc.corp.test."), RecordType::A).await;
    ask(jail, addr, ascii("secret.corp.test."), RecordType::TXT).await;
    let smuggle = with_smuggled_data(
        query(ascii("db.svc.corp.test."), RecordType::AAAA),
        "c2VjcmV0cGF5bG9hZA",
    );
    exchange_udp(jail, addr, &smuggle).await;

    let text = std::fs::read_to_string(&h.audit_path).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        !text.contains("c2VjcmV0cGF5bG9hZA"),
        "payload leaked: {text}"
    );
    let allowed_keys: HashSet<&str> = [
        "time",
        "event",
        "client",
        "jail",
        "transport",
        "name",
        "type",
        "decision",
        "reason",
        "rule",
        "upstream_rcode",
        "upstream_error",
        "suppressed",
    ]
    .into();
    let events = h.audit();
    for e in &events {
        for key in e.as_object().unwrap().keys() {
            assert!(allowed_keys.contains(key.as_str()), "unexpected key {key}");
        }
        for key in [
            "time", "event", "client", "jail", "name", "type", "decision",
        ] {
            assert!(e.get(key).is_some(), "missing {key} in {e}");
        }
        assert!(time_is_rfc3339(e["time"].as_str().unwrap()), "{e}");
        assert_eq!(e["client"], "127.0.0.2");
        assert_eq!(e["jail"], "build-7");
        assert_eq!(e["transport"], "udp");
    }
    assert_eq!(events[0]["name"], "db.svc.corp.test");
    assert_eq!(events[0]["type"], "A");
    assert_eq!(events[0]["decision"], "allow");
    assert_eq!(events[0]["rule"], "*.svc.corp.test");
    assert_eq!(events[0]["upstream_rcode"], "NOERROR");
    assert_eq!(events[1]["name"], "secret.corp.test");
    assert_eq!(events[1]["type"], "TXT");
    assert_eq!(events[1]["decision"], "deny");
    assert_eq!(events[1]["reason"], "not_allowed");
    assert!(events[1].get("upstream_rcode").is_none());
    assert_eq!(events[2]["type"], "AAAA");
}

fn time_is_rfc3339(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

#[tokio::test]
async fn blocks_smuggling_data_in_other_sections_of_an_allowed_query() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let msg = with_smuggled_data(query(ascii("api.corp.test."), RecordType::A), "payload");
    let reply = exchange_udp(jail, h.server.udp_addr(), &msg).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let seen = h.upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].name, "api.corp.test.");
    assert_eq!(seen[0].additionals, 0, "additional records forwarded");
    assert_eq!(seen[0].edns_options, 0, "EDNS options forwarded");
    assert!(!h.upstream.saw("exfil"));
}

#[tokio::test]
async fn blocks_malformed_and_unsupported_queries_without_forwarding() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let addr = h.server.udp_addr();

    let mut none = query(ascii("api.corp.test."), RecordType::A);
    none.queries.clear();
    let reply = exchange_udp(jail, addr, &none).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);

    let mut two = query(ascii("api.corp.test."), RecordType::A);
    two.add_query(Query::query(ascii("secret.corp.test."), RecordType::A));
    let reply = exchange_udp(jail, addr, &two).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);

    let mut chaos = Query::query(ascii("api.corp.test."), RecordType::TXT);
    chaos.set_query_class(DNSClass::CH);
    let mut msg = Message::query();
    msg.add_query(chaos);
    let reply = exchange_udp(jail, addr, &msg).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);

    let axfr = query(ascii("api.corp.test."), RecordType::AXFR);
    let reply = exchange_udp(jail, addr, &axfr).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);

    let notify = with_opcode(
        query(ascii("api.corp.test."), RecordType::SOA),
        OpCode::Notify,
    );
    let reply = exchange_udp(jail, addr, &notify).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);

    assert!(h.upstream.seen().is_empty(), "{:?}", h.upstream.seen());
    let reasons: Vec<String> = h
        .audit()
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        reasons,
        [
            "question_count",
            "question_count",
            "not_in_class",
            "zone_transfer",
            "not_a_query"
        ]
    );
}

#[tokio::test]
async fn refuses_to_start_as_root_without_the_dangerous_flag() {
    let dir = tempfile::tempdir().unwrap();
    let sink = std::sync::Arc::new(JsonLinesSink::append(&dir.path().join("a.jsonl")).unwrap());
    let cfg = FilterConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    let result = DnsFilter::new(cfg, FilterTable::new(), sink);
    if nix::unistd::geteuid().is_root() {
        assert!(matches!(result, Err(EgressError::RunningAsRoot)));
    } else {
        assert!(result.is_ok());
    }
}

#[tokio::test]
async fn rejects_out_of_range_settings() {
    let dir = tempfile::tempdir().unwrap();
    let sink = std::sync::Arc::new(JsonLinesSink::append(&dir.path().join("a.jsonl")).unwrap());
    let mut cfg = config(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53));
    cfg.rate_limit.burst = 0;
    let result = DnsFilter::new(cfg, FilterTable::new(), sink);
    assert!(matches!(
        result,
        Err(EgressError::InvalidConfig {
            field: "rate_limit",
            ..
        })
    ));
}

#[tokio::test]
async fn serve_answers_until_shutdown_then_releases_the_port() {
    let upstream = start_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let sink = std::sync::Arc::new(JsonLinesSink::append(&dir.path().join("a.jsonl")).unwrap());
    let table = FilterTable::new();
    let filter = DnsFilter::new(config(upstream.addr), table.clone(), sink).unwrap();
    let (udp, tcp) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let addr = udp.local_addr().unwrap();
    let jail = jail_ip(2);
    table.update(
        jail,
        paddock_egress::ClientPolicy::new(None, vec!["api.corp.test".parse().unwrap()]),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        filter
            .serve(udp, tcp, async {
                let _ = stopped.await;
            })
            .await
    });
    let reply = ask(jail, addr, ascii("api.corp.test."), RecordType::A).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    stop.send(()).unwrap();
    let result = tokio::time::timeout(IO_TIMEOUT, serving)
        .await
        .unwrap()
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    // The sockets were closed: the port can be bound again.
    assert!(tokio::net::TcpListener::bind(addr).await.is_ok());
}

/// UDP datagrams the parser cannot take: a header with a broken
/// body gets FORMERR under its ID and no question; a short datagram or a response gets nothing.
#[tokio::test]
async fn answers_broken_datagrams_with_formerr_or_silence() {
    let h = start(|_| {}).await;
    let jail = jail_ip(2);
    h.allow(jail, "j2", &["api.corp.test"]);
    let addr = h.server.udp_addr();
    let sock = UdpSocket::bind((jail, 0)).await.unwrap();
    let mut buf = vec![0u8; 4096];

    // Header (ID 0x4242, RD, one question) followed by a question cut short.
    let broken = [
        0x42, 0x42, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, b'a', b'p',
    ];
    sock.send_to(&broken, addr).await.unwrap();
    let (len, _) = tokio::time::timeout(IO_TIMEOUT, sock.recv_from(&mut buf))
        .await
        .expect("no FORMERR")
        .unwrap();
    let reply = Message::from_vec(&buf[..len]).unwrap();
    assert_eq!(reply.metadata.id, 0x4242);
    assert_eq!(reply.metadata.response_code, ResponseCode::FormErr);
    assert!(reply.queries.is_empty());

    // Too short for a header, and a well-formed response: no reply to either.
    sock.send_to(&[0x42, 0x43, 0x01], addr).await.unwrap();
    let mut response = query(ascii("api.corp.test."), RecordType::A);
    response.metadata.message_type = hickory_proto::op::MessageType::Response;
    sock.send_to(&response.to_vec().unwrap(), addr)
        .await
        .unwrap();
    let silent = tokio::time::timeout(Duration::from_millis(300), sock.recv_from(&mut buf)).await;
    assert!(silent.is_err(), "replied to a short datagram or a response");

    // And the loop goes on answering.
    let reply = ask(jail, addr, ascii("evil.test."), RecordType::TXT).await;
    assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
    assert_eq!(reply.queries[0].name(), &ascii("evil.test."));
    assert!(h.upstream.seen().is_empty(), "{:?}", h.upstream.seen());
}
