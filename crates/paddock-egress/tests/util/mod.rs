//! Test harness: a real upstream DNS server (hickory authority for `corp.test`) that logs every
//! question it receives, the filter in front of it, and a raw DNS client that can send from any
//! 127.0.0.0/8 address (each address plays one jail). Loopback only, no root needed.

#![allow(dead_code)] // each test uses a subset of the helpers
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failed setup step is a failed test

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_net::runtime::{Time, TokioRuntimeProvider};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, AAAA, MX, SOA, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use hickory_server::Server;
use paddock_egress::{
    ClientPolicy, DnsFilter, FilterConfig, FilterServer, FilterTable, JsonLinesSink,
};
use paddock_policy::HostPattern;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};

/// Every wait in these tests is bounded by this.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One question as the upstream saw it, plus what else its message carried.
#[derive(Clone, Debug)]
pub struct Seen {
    /// Lowercased wire name (A-labels, escaped bytes) with trailing dot.
    pub name: String,
    /// Query type.
    pub qtype: RecordType,
    /// Records in the additional section (OPT excluded).
    pub additionals: usize,
    /// EDNS options present.
    pub edns_options: usize,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

struct LoggingHandler {
    catalog: Catalog,
    log: Log,
}

#[async_trait::async_trait]
impl RequestHandler for LoggingHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        {
            let mut log = self.log.lock().unwrap();
            for q in request.queries.queries() {
                log.push(Seen {
                    name: q.original().name().to_ascii().to_ascii_lowercase(),
                    qtype: q.query_type(),
                    additionals: request.additionals.len(),
                    edns_options: request
                        .edns
                        .as_ref()
                        .map_or(0, |e| e.options().options.len()),
                });
            }
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// The upstream resolver of the tests: authoritative for `corp.test`.
pub struct Upstream {
    pub addr: SocketAddr,
    pub log: Log,
    _server: Server<LoggingHandler>,
}

impl Upstream {
    /// Names the upstream was asked, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// True when any question the upstream received contains `needle`.
    pub fn saw(&self, needle: &str) -> bool {
        self.seen().iter().any(|s| s.name.contains(needle))
    }
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

fn zone() -> InMemoryZoneHandler<TokioRuntimeProvider> {
    let origin = name("corp.test.");
    let mut z = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
        origin.clone(),
        ZoneType::Primary,
        AxfrPolicy::Deny,
    );
    let mut add = |owner: &str, data: RData| {
        assert!(z.upsert_mut(Record::from_rdata(name(owner), 60, data), 1));
    };
    add(
        "corp.test.",
        RData::SOA(SOA::new(
            name("ns.corp.test."),
            name("admin.corp.test."),
            1,
            3600,
            600,
            86400,
            60,
        )),
    );
    let a = |o: [u8; 4]| RData::A(A(Ipv4Addr::from(o)));
    add("api.corp.test.", a([10, 1, 0, 1]));
    add("*.svc.corp.test.", a([10, 1, 0, 2]));
    add("svc.corp.test.", a([10, 1, 0, 3]));
    add("evilsvc.corp.test.", a([10, 1, 0, 4]));
    add("xn--bcher-kva.corp.test.", a([10, 1, 0, 5]));
    add("later.corp.test.", a([10, 1, 0, 6]));
    // The denied name exists upstream for every type asked: only the filter stops it.
    add("secret.corp.test.", a([10, 1, 0, 7]));
    add(
        "secret.corp.test.",
        RData::AAAA(AAAA(Ipv6Addr::from_str("fd00::7").unwrap())),
    );
    add(
        "secret.corp.test.",
        RData::TXT(TXT::new(vec!["secret".to_owned()])),
    );
    add(
        "secret.corp.test.",
        RData::MX(MX::new(10, name("mail.corp.test."))),
    );
    add(
        "*.tunnel.corp.test.",
        RData::TXT(TXT::new(vec!["ack".to_owned()])),
    );
    // Larger than any UDP payload the filter asks for: forces the TCP retry.
    for i in 0..40 {
        add(
            "big.corp.test.",
            RData::TXT(TXT::new(vec![format!("{i:02}-{}", "x".repeat(60))])),
        );
    }
    z
}

/// Starts the upstream on 127.0.0.1, UDP and TCP on the same port.
pub async fn start_upstream() -> Upstream {
    let mut catalog = Catalog::new();
    let handler: Arc<dyn ZoneHandler> = Arc::new(zone());
    catalog.upsert(LowerName::new(&name("corp.test.")), vec![handler]);
    let log: Log = Arc::default();
    let mut server = Server::new(LoggingHandler {
        catalog,
        log: Arc::clone(&log),
    });
    let (udp, tcp) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let addr = udp.local_addr().unwrap();
    server.register_socket(udp);
    server.register_listener(tcp, IO_TIMEOUT, 16);
    Upstream {
        addr,
        log,
        _server: server,
    }
}

/// A UDP socket and a TCP listener on the same ephemeral port (a few tries, bounded).
pub async fn bind_pair(ip: IpAddr) -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((ip, 0)).await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((ip, port)).await {
            return (udp, tcp);
        }
    }
    panic!("no free UDP+TCP port pair on {ip}");
}

/// A running filter with its own audit file.
pub struct Harness {
    pub upstream: Upstream,
    pub filter: DnsFilter,
    pub server: FilterServer,
    pub table: FilterTable,
    pub audit_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Reads the audit file as JSON values, one per line.
    pub fn audit(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit_path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Sets `client`'s allowlist (patterns as written in a policy file).
    pub fn allow(&self, client: IpAddr, jail: &str, patterns: &[&str]) {
        let patterns: Vec<HostPattern> = patterns.iter().map(|p| p.parse().unwrap()).collect();
        self.table
            .update(client, ClientPolicy::new(Some(jail.to_owned()), patterns));
    }
}

/// A config pointing at `upstream`, allowed to start under root only because CI runs tests as
/// root; the filter itself needs no privilege.
pub fn config(upstream: SocketAddr) -> FilterConfig {
    let mut c = FilterConfig::new(upstream);
    c.dangerously_allow_root = nix::unistd::geteuid().is_root();
    c
}

/// Upstream + filter, configured by `tune`.
pub async fn start(tune: impl FnOnce(&mut FilterConfig)) -> Harness {
    let upstream = start_upstream().await;
    start_with(upstream, tune).await
}

pub async fn start_with(upstream: Upstream, tune: impl FnOnce(&mut FilterConfig)) -> Harness {
    let mut cfg = config(upstream.addr);
    tune(&mut cfg);
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let sink = Arc::new(JsonLinesSink::append(&audit_path).unwrap());
    let table = FilterTable::new();
    let filter = DnsFilter::new(cfg, table.clone(), sink).unwrap();
    let (udp, tcp) = bind_pair(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
    let server = filter.start(udp, tcp).unwrap();
    Harness {
        upstream,
        filter,
        server,
        table,
        audit_path,
        _dir: dir,
    }
}

/// A query message for one question.
pub fn query(name: Name, qtype: RecordType) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name, qtype));
    m
}

/// `s` as a name, exactly as written (case kept).
pub fn ascii(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// Sends `msg` over UDP from `from` and waits (bounded) for the reply with the same ID.
pub async fn exchange_udp(from: IpAddr, server: SocketAddr, msg: &Message) -> Message {
    let sock = UdpSocket::bind((from, 0)).await.unwrap();
    sock.send_to(&msg.to_vec().unwrap(), server).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
    loop {
        let (len, _) = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf))
            .await
            .expect("no UDP reply from the filter in time")
            .unwrap();
        let reply = Message::from_vec(&buf[..len]).unwrap();
        if reply.metadata.id == msg.metadata.id {
            assert_eq!(reply.metadata.message_type, MessageType::Response);
            return reply;
        }
    }
}

/// One question over UDP.
pub async fn ask(from: IpAddr, server: SocketAddr, name: Name, qtype: RecordType) -> Message {
    exchange_udp(from, server, &query(name, qtype)).await
}

/// Sends `msg` over TCP from `from` (two-byte length framing) and reads one reply.
pub async fn exchange_tcp(from: IpAddr, server: SocketAddr, msg: &Message) -> Message {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(SocketAddr::new(from, 0)).unwrap();
    let work = async {
        let mut stream = sock.connect(server).await.unwrap();
        let bytes = msg.to_vec().unwrap();
        let len = u16::try_from(bytes.len()).unwrap();
        stream.write_all(&len.to_be_bytes()).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut buf).await.unwrap();
        Message::from_vec(&buf).unwrap()
    };
    tokio::time::timeout(IO_TIMEOUT, work)
        .await
        .expect("no TCP reply from the filter in time")
}

/// The A addresses of a reply.
pub fn a_records(m: &Message) -> Vec<Ipv4Addr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect()
}

/// Adds an EDNS record carrying an option with `payload`, and an extra additional record.
pub fn with_smuggled_data(mut m: Message, payload: &str) -> Message {
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.options_mut()
        .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
            65001,
            payload.as_bytes().to_vec(),
        ));
    m.set_edns(edns);
    m.add_additional(Record::from_rdata(
        name(&format!("{payload}.exfil.test.")),
        0,
        RData::TXT(TXT::new(vec![payload.to_owned()])),
    ));
    m
}

/// An opcode other than QUERY.
pub fn with_opcode(mut m: Message, op: OpCode) -> Message {
    m.metadata.op_code = op;
    m
}

/// Loopback address 127.0.0.`n`, one per simulated jail.
pub fn jail_ip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))
}
