//! The DNS filter: a hickory-server `RequestHandler` that rate-limits, checks the message's
//! shape, decides by the client's table entry, and either answers NXDOMAIN or answers an allowed
//! question from the answer cache ([`crate::cache`]) or the upstream. Every step that ends a
//! query records one audit event.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_net::runtime::Time;
use hickory_net::xfer::Protocol;
use hickory_proto::op::{
    Edns, Header, HeaderCounts, LowerQuery, Message, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};

use crate::audit::{AuditDecision, AuditEvent, AuditSink, Transport};
use crate::cache::{AnswerCache, CacheKey, CachedAnswer, DEFAULT_ENTRIES};
use crate::decision::{decide, Decision, DenyReason, RefuseReason};
use crate::error::EgressError;
use crate::name::{normalize_labels, InvalidName};
use crate::ratelimit::{Admit, RateLimit, RateLimiter};
use crate::table::FilterTable;
use crate::upstream::{Upstream, UpstreamError};

/// Responses queued per TCP connection before the connection's task waits.
const TCP_RESPONSE_BUFFER: usize = 16;

/// How the filter runs. The sockets themselves are the caller's (see [`DnsFilter::start`]).
#[derive(Clone, Debug)]
pub struct FilterConfig {
    /// The resolver allowed names are resolved through (`PADDOCK_DNS_UPSTREAM`).
    pub upstream: SocketAddr,
    /// How long an allowed question may take upstream, TCP retry included; then SERVFAIL.
    pub upstream_timeout: Duration,
    /// Per-client token bucket.
    pub rate_limit: RateLimit,
    /// A TCP connection that sends no complete query for this long is closed.
    pub tcp_idle_timeout: Duration,
    /// Lets [`DnsFilter::start`] run with effective uid 0. For test harnesses that run as root
    /// in CI; never set in a deployment.
    pub dangerously_allow_root: bool,
}

impl FilterConfig {
    /// Defaults: 2 s upstream timeout, 100 queries/s with a burst of 200, 5 s TCP idle timeout.
    pub fn new(upstream: SocketAddr) -> Self {
        Self {
            upstream,
            upstream_timeout: Duration::from_secs(2),
            rate_limit: RateLimit::default(),
            tcp_idle_timeout: Duration::from_secs(5),
            dangerously_allow_root: false,
        }
    }

    fn validate(&self) -> Result<(), EgressError> {
        let bad = |field, reason| Err(EgressError::InvalidConfig { field, reason });
        if self.upstream_timeout.is_zero() || self.upstream_timeout > Duration::from_secs(30) {
            return bad(
                "upstream_timeout",
                "give a duration above 0 and at most 30 s",
            );
        }
        if self.tcp_idle_timeout.is_zero() {
            return bad("tcp_idle_timeout", "give a duration above 0");
        }
        if self.rate_limit.per_second == 0 || self.rate_limit.burst == 0 {
            return bad("rate_limit", "per_second and burst must be at least 1");
        }
        if self.upstream.ip().is_unspecified() || self.upstream.port() == 0 {
            return bad(
                "upstream",
                "name a resolver address and port, not 0.0.0.0 or port 0",
            );
        }
        Ok(())
    }
}

/// The DNS filter: policy table, rate limiter, audit sink, answer cache and upstream. Cheap to
/// clone (clones share the cache).
#[derive(Clone)]
pub struct DnsFilter {
    inner: Arc<Inner>,
}

struct Inner {
    table: FilterTable,
    limiter: RateLimiter,
    audit: Arc<dyn AuditSink>,
    audit_failures: AtomicU64,
    upstream: Upstream,
    /// Consulted only for questions already allowed for the asking client.
    cache: AnswerCache,
    tcp_idle_timeout: Duration,
}

impl DnsFilter {
    /// A filter deciding by `table` (keep a clone of it to push policy changes) and recording
    /// to `audit`.
    pub fn new(
        config: FilterConfig,
        table: FilterTable,
        audit: Arc<dyn AuditSink>,
    ) -> Result<Self, EgressError> {
        config.validate()?;
        if !config.dangerously_allow_root && nix::unistd::geteuid().is_root() {
            return Err(EgressError::RunningAsRoot);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                table,
                limiter: RateLimiter::new(config.rate_limit),
                audit,
                audit_failures: AtomicU64::new(0),
                upstream: Upstream {
                    addr: config.upstream,
                    timeout: config.upstream_timeout,
                },
                cache: AnswerCache::new(DEFAULT_ENTRIES),
                tcp_idle_timeout: config.tcp_idle_timeout,
            }),
        })
    }

    /// The policy table this filter reads.
    pub fn table(&self) -> &FilterTable {
        &self.inner.table
    }

    /// Audit events the sink failed to record since the filter was created.
    pub fn audit_failures(&self) -> u64 {
        self.inner.audit_failures.load(Ordering::Relaxed) + self.inner.audit.failures()
    }

    /// Starts answering on already-bound sockets (binding, and redirecting the jails' port 53
    /// to them, is the caller's business). Must be called inside a tokio runtime.
    pub fn start(&self, udp: UdpSocket, tcp: TcpListener) -> Result<FilterServer, EgressError> {
        let udp_addr = udp.local_addr().map_err(|source| EgressError::LocalAddr {
            transport: "udp",
            source,
        })?;
        let tcp_addr = tcp.local_addr().map_err(|source| EgressError::LocalAddr {
            transport: "tcp",
            source,
        })?;
        let mut server = Server::new(FilterHandler {
            inner: Arc::clone(&self.inner),
        });
        server.register_socket(udp);
        server.register_listener(tcp, self.inner.tcp_idle_timeout, TCP_RESPONSE_BUFFER);
        Ok(FilterServer {
            server,
            udp_addr,
            tcp_addr,
        })
    }

    /// Answers on `udp` and `tcp` until `shutdown` completes, then stops gracefully.
    pub async fn serve(
        &self,
        udp: UdpSocket,
        tcp: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), EgressError> {
        let mut running = self.start(udp, tcp)?;
        tokio::select! {
            done = running.server.block_until_done() => done.map_err(|source| EgressError::Serve { source }),
            () = shutdown => running.shutdown().await,
        }
    }
}

/// A running filter, from [`DnsFilter::start`].
pub struct FilterServer {
    server: Server<FilterHandler>,
    udp_addr: SocketAddr,
    tcp_addr: SocketAddr,
}

impl FilterServer {
    /// The UDP address queries are answered on.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The TCP address queries are answered on.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp_addr
    }

    /// Stops accepting queries and waits for the listener tasks to end.
    pub async fn shutdown(mut self) -> Result<(), EgressError> {
        self.server
            .shutdown_gracefully()
            .await
            .map_err(|source| EgressError::Serve { source })
    }
}

struct FilterHandler {
    inner: Arc<Inner>,
}

#[async_trait::async_trait]
impl RequestHandler for FilterHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        self.inner.handle(request, response_handle).await
    }
}

impl Inner {
    async fn handle<R: ResponseHandler>(&self, request: &Request, responder: R) -> ResponseInfo {
        let client = request.src().ip().to_canonical();
        let transport = match request.protocol() {
            Protocol::Tcp => Transport::Tcp,
            _ => Transport::Udp,
        };
        // One snapshot of the client's entry decides the query and labels its audit event.
        let policy = self.table.get(client);
        let event = |decision| {
            let mut e = AuditEvent::new(client, transport, decision);
            e.jail = policy.as_ref().and_then(|p| p.jail().map(str::to_owned));
            e
        };
        let reply = Reply {
            request,
            edns: response_edns(request),
        };

        // The limiter runs before the question is looked at, so a flood costs one map lookup
        // per packet.
        if let Admit::Limited { audit } = self.limiter.admit(client, std::time::Instant::now()) {
            if let Some(suppressed) = audit {
                let mut e = event(AuditDecision::Ratelimited);
                describe_question(&mut e, request.queries.queries());
                e.reason = Some(RefuseReason::RateLimited.code());
                e.suppressed = Some(suppressed);
                self.record(&e);
            }
            return reply.code(ResponseCode::Refused, responder).await;
        }

        let query = match check_shape(request) {
            Ok(query) => query,
            Err((reason, rcode)) => {
                let mut e = event(AuditDecision::Refused);
                describe_question(&mut e, request.queries.queries());
                e.reason = Some(reason.code());
                self.record(&e);
                return reply.code(rcode, responder).await;
            }
        };

        let original = query.original();
        let normalized = normalize_labels(original.name().iter());
        let mut e = event(AuditDecision::Deny);
        e.name = Some(match &normalized {
            Ok(n) => n.clone(),
            Err(_) => original.name().to_ascii(),
        });
        e.qtype = Some(original.query_type().to_string());
        let decision = decide(policy.as_deref(), normalized.as_deref().map_err(|e| *e));
        let (rule, name) = match (decision, normalized) {
            (Decision::Allow { rule }, Ok(name)) => (rule, name),
            (decision, _) => {
                // `decide` allows only names that normalised; anything else is a deny.
                let reason = match decision {
                    Decision::Deny { reason } => reason,
                    Decision::Allow { .. } => DenyReason::InvalidName(InvalidName::Empty),
                };
                e.reason = Some(reason.code());
                self.record(&e);
                return reply.code(ResponseCode::NXDomain, responder).await;
            }
        };
        e.decision = AuditDecision::Allow;
        e.rule = Some(rule.to_string());
        self.forward(&reply, e, name, original.query_type(), responder)
            .await
    }

    /// Answers an allowed name from the cache, or resolves it upstream, caches and relays the
    /// answer, or SERVFAIL. The name sent is exactly the name the policy matched; nothing else
    /// from the client's message goes along. Only called once `decide` allowed the name for
    /// this client, so a cached answer never reaches a client not allowed its name.
    async fn forward<R: ResponseHandler>(
        &self,
        reply: &Reply<'_>,
        mut event: AuditEvent,
        name: String,
        qtype: RecordType,
        responder: R,
    ) -> ResponseInfo {
        let dnssec_ok = reply
            .request
            .edns
            .as_ref()
            .is_some_and(|edns| edns.flags().dnssec_ok);
        let key = CacheKey {
            name,
            qtype,
            class: DNSClass::IN,
            dnssec_ok,
        };
        if let Some(hit) = self.cache.get(&key, std::time::Instant::now()) {
            event.upstream_rcode = Some(rcode_mnemonic(hit.rcode));
            event.cached = true;
            self.record(&event);
            return reply.cached(&hit, responder).await;
        }
        let answer = match Name::from_ascii(format!("{}.", key.name)) {
            Ok(fqdn) => {
                self.upstream
                    .resolve(Query::query(fqdn, qtype), dnssec_ok)
                    .await
            }
            Err(_) => Err(UpstreamError::Network),
        };
        match answer {
            Ok(message) => {
                self.cache.insert(key, &message, std::time::Instant::now());
                event.upstream_rcode = Some(rcode_mnemonic(message.metadata.response_code));
                self.record(&event);
                reply.relay(&message, responder).await
            }
            Err(err) => {
                event.upstream_error = Some(err.code());
                self.record(&event);
                reply.code(ResponseCode::ServFail, responder).await
            }
        }
    }

    fn record(&self, event: &AuditEvent) {
        if let Err(error) = self.audit.record(event) {
            self.audit_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%error, "DNS filter audit event lost");
        }
    }
}

/// The RFC mnemonic of a response code (`NOERROR`, `NXDOMAIN`, …), `RCODE<n>` for the rest.
fn rcode_mnemonic(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".to_owned(),
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::NXDomain => "NXDOMAIN".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The one question a forwardable message carries, or why the message is refused.
fn check_shape(request: &Request) -> Result<&LowerQuery, (RefuseReason, ResponseCode)> {
    if request.metadata.op_code != OpCode::Query {
        return Err((RefuseReason::NotAQuery, ResponseCode::Refused));
    }
    let [query] = request.queries.queries() else {
        return Err((RefuseReason::QuestionCount, ResponseCode::FormErr));
    };
    if query.query_class() != DNSClass::IN {
        return Err((RefuseReason::NotInClass, ResponseCode::Refused));
    }
    if matches!(query.query_type(), RecordType::AXFR | RecordType::IXFR) {
        return Err((RefuseReason::ZoneTransfer, ResponseCode::Refused));
    }
    Ok(query)
}

/// Fills name and type from the message's question when it has exactly one.
fn describe_question(event: &mut AuditEvent, queries: &[LowerQuery]) {
    if let [query] = queries {
        let name = query.original().name();
        let labels = name.iter();
        event.name = Some(normalize_labels(labels).unwrap_or_else(|_| name.to_ascii()));
        event.qtype = Some(query.query_type().to_string());
    }
}

/// Our EDNS record when the client sent one: version 0, the client's payload size (at least
/// 512), none of its options echoed.
fn response_edns(request: &Request) -> Option<Edns> {
    request.edns.as_ref().map(|req| {
        let mut edns = Edns::new();
        edns.set_max_payload(req.max_payload().max(512));
        edns.set_version(0);
        edns
    })
}

/// Writes responses to one request.
struct Reply<'q> {
    request: &'q Request,
    edns: Option<Edns>,
}

impl Reply<'_> {
    fn metadata(&self, rcode: ResponseCode) -> Metadata {
        let mut metadata = Metadata::response_from_request(&self.request.metadata);
        metadata.response_code = rcode;
        metadata.recursion_available = true;
        metadata
    }

    /// A response with no records: NXDOMAIN, REFUSED, FORMERR or SERVFAIL.
    async fn code<R: ResponseHandler>(
        &self,
        rcode: ResponseCode,
        mut responder: R,
    ) -> ResponseInfo {
        let metadata = self.metadata(rcode);
        let response = MessageResponseBuilder::new(&self.request.queries, self.edns.as_ref())
            .build_no_records(metadata);
        match responder.send_response(response).await {
            Ok(info) => info,
            Err(_) => unsent(metadata),
        }
    }

    /// The upstream's records and response code under the client's own ID and question.
    async fn relay<R: ResponseHandler>(&self, upstream: &Message, responder: R) -> ResponseInfo {
        let sections = [
            &upstream.answers[..],
            &upstream.authorities,
            &upstream.additionals,
        ];
        self.records(upstream.metadata.response_code, sections, responder)
            .await
    }

    /// A cached answer (TTLs already aged), exactly as `relay` would have sent it.
    async fn cached<R: ResponseHandler>(&self, hit: &CachedAnswer, responder: R) -> ResponseInfo {
        let sections = [&hit.answers[..], &hit.authorities, &hit.additionals];
        self.records(hit.rcode, sections, responder).await
    }

    /// `rcode` and the answer, authority and additional `sections` under the client's own ID
    /// and question (its spelling included).
    async fn records<R: ResponseHandler>(
        &self,
        rcode: ResponseCode,
        [answers, authorities, additionals]: [&[Record]; 3],
        mut responder: R,
    ) -> ResponseInfo {
        let metadata = self.metadata(rcode);
        let response = MessageResponseBuilder::new(&self.request.queries, self.edns.as_ref())
            .build(
                metadata,
                answers.iter(),
                authorities.iter(),
                std::iter::empty(),
                additionals.iter(),
            );
        match responder.send_response(response).await {
            Ok(info) => info,
            Err(_) => unsent(metadata),
        }
    }
}

/// What hickory records for a response that could not be sent (the client went away).
fn unsent(metadata: Metadata) -> ResponseInfo {
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}
