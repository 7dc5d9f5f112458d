//! The egress service: the DNS filter as its own unprivileged process, shared by every jail on
//! the host and controlled over a Unix socket ([`crate::control`]).
//!
//! [`run`] is the whole process after argument parsing, in order:
//!
//! 1. refuse effective uid 0 (the filter parses jail traffic);
//! 2. build the filter (validating the configuration) and a single-threaded tokio runtime;
//! 3. bind UDP on `listen:0`, then TCP on the same port (another port if TCP's is taken);
//! 4. bind the control socket, replacing a stale one but never a live service's, mode 0600;
//! 5. install SIGTERM (exit) and SIGHUP (ignored) handlers, then call `ready(port)`;
//! 6. serve DNS and control connections until no control connection has been open for
//!    `idle_exit`, or SIGTERM; then unlink the socket *first* (a new client starts a new service
//!    instead of connecting to this one), close connections, stop DNS and return.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audit::BufferedJsonLinesSink;
use crate::control::{self, Leases};
use crate::error::EgressError;
use crate::ratelimit::RateLimit;
use crate::server::{DnsFilter, FilterConfig};
use crate::table::FilterTable;

/// Ports tried for a UDP+TCP pair before giving up.
const BIND_ATTEMPTS: u32 = 20;

/// How the egress service runs (`paddock egress dns`).
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// The control socket's path.
    pub socket: PathBuf,
    /// The resolver allowed names are resolved through.
    pub upstream: SocketAddr,
    /// The address DNS is answered on (UDP and TCP, one ephemeral port).
    pub listen: IpAddr,
    /// Exit after no control connection has been open for this long.
    pub idle_exit: Duration,
    /// See [`FilterConfig::upstream_timeout`].
    pub upstream_timeout: Duration,
    /// See [`FilterConfig::rate_limit`].
    pub rate_limit: RateLimit,
    /// See [`FilterConfig::tcp_idle_timeout`].
    pub tcp_idle_timeout: Duration,
    /// Lets the service run with effective uid 0. For test harnesses that run as root in CI;
    /// never set in a deployment.
    pub dangerously_allow_root: bool,
}

impl ServiceConfig {
    /// Defaults: listen on 0.0.0.0, exit after 1 s without control connections, filter
    /// settings from [`FilterConfig::new`].
    pub fn new(socket: PathBuf, upstream: SocketAddr) -> Self {
        let filter = FilterConfig::new(upstream);
        Self {
            socket,
            upstream,
            listen: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            idle_exit: Duration::from_secs(1),
            upstream_timeout: filter.upstream_timeout,
            rate_limit: filter.rate_limit,
            tcp_idle_timeout: filter.tcp_idle_timeout,
            dangerously_allow_root: false,
        }
    }

    fn filter_config(&self) -> FilterConfig {
        FilterConfig {
            upstream: self.upstream,
            upstream_timeout: self.upstream_timeout,
            rate_limit: self.rate_limit,
            tcp_idle_timeout: self.tcp_idle_timeout,
            dangerously_allow_root: self.dangerously_allow_root,
        }
    }
}

/// Runs the service until it is idle for `cfg.idle_exit` or gets SIGTERM. Audit events go to
/// `audit` as JSON lines; `ready` gets the DNS port once every socket is bound and the control
/// socket accepts connections.
pub fn run(
    cfg: ServiceConfig,
    audit: Box<dyn Write + Send>,
    ready: impl FnOnce(u16),
) -> Result<(), EgressError> {
    if !cfg.dangerously_allow_root && nix::unistd::geteuid().is_root() {
        return Err(EgressError::RunningAsRoot);
    }
    if cfg.idle_exit.is_zero() {
        return Err(EgressError::InvalidConfig {
            field: "idle_exit",
            reason: "give a duration above 0",
        });
    }
    let table = FilterTable::new();
    // Audit lines are written in batches by the sink's own thread (see the crate docs for the
    // crash window); `close` below writes what is still pending before `run` returns.
    let sink = Arc::new(BufferedJsonLinesSink::new(audit)?);
    let filter = DnsFilter::new(cfg.filter_config(), table.clone(), sink.clone())?;
    // One thread answers: per query the filter does a table lookup and a relay. Measured over
    // loopback (release build), it answered as fast as a two-worker runtime under concurrent
    // load and faster one query at a time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| EgressError::Runtime {
            what: "runtime",
            source,
        })?;
    let result = runtime.block_on(bind(&cfg)).and_then(|bound| {
        let port = bound.port;
        tracing::info!(port, socket = %cfg.socket.display(), "egress service ready");
        ready(port);
        runtime.block_on(serve(&cfg, bound, filter, table))
    });
    // No query is answered any more: write every event still pending.
    drop(runtime);
    sink.close();
    tracing::info!(ok = result.is_ok(), "egress service stopped");
    result
}

/// Everything bound before `ready`.
struct Bound {
    port: u16,
    udp: UdpSocket,
    tcp: TcpListener,
    control: ControlSocket,
    sigterm: Signal,
    // Kept so SIGHUP stays handled (and ignored) while the service runs.
    _sighup: Signal,
}

async fn bind(cfg: &ServiceConfig) -> Result<Bound, EgressError> {
    let (udp, tcp, port) = bind_dns(cfg.listen).await?;
    let control = ControlSocket::bind(&cfg.socket)?;
    let handler = |kind, what| signal(kind).map_err(|source| EgressError::Runtime { what, source });
    let signals = handler(SignalKind::terminate(), "SIGTERM handler").and_then(|term| {
        // A closing terminal sends SIGHUP; jails still running must keep their resolver.
        handler(SignalKind::hangup(), "SIGHUP handler").map(|hup| (term, hup))
    });
    let (sigterm, sighup) = match signals {
        Ok(signals) => signals,
        Err(error) => {
            control.unlink();
            return Err(error);
        }
    };
    Ok(Bound {
        port,
        udp,
        tcp,
        control,
        sigterm,
        _sighup: sighup,
    })
}

/// A UDP socket and a TCP listener on the same port of `ip`.
async fn bind_dns(ip: IpAddr) -> Result<(UdpSocket, TcpListener, u16), EgressError> {
    let fail = |attempts, source| EgressError::BindDns {
        ip,
        attempts,
        source,
    };
    let mut last = None;
    for attempt in 1..=BIND_ATTEMPTS {
        let udp = UdpSocket::bind((ip, 0))
            .await
            .map_err(|e| fail(attempt, e))?;
        let port = udp.local_addr().map_err(|e| fail(attempt, e))?.port();
        match TcpListener::bind((ip, port)).await {
            Ok(tcp) => return Ok((udp, tcp, port)),
            Err(error) => {
                tracing::debug!(port, %error, "TCP port taken; trying another");
                last = Some(error);
            }
        }
    }
    let source = last.unwrap_or_else(|| std::io::Error::other("no attempt made"));
    Err(fail(BIND_ATTEMPTS, source))
}

/// The bound control socket, and the identity of the file it created so the service never
/// unlinks a successor's socket.
struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    identity: (u64, u64),
}

impl ControlSocket {
    fn bind(path: &Path) -> Result<Self, EgressError> {
        remove_stale(path)?;
        let err = |action, source| EgressError::BindControl {
            action,
            path: path.to_owned(),
            source,
        };
        let listener = UnixListener::bind(path).map_err(|e| err("bind", e))?;
        // Until this chmod other users could connect; the peer check refuses them anyway.
        let restrict = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err("chmod", e))
            .and_then(|()| std::fs::symlink_metadata(path).map_err(|e| err("stat", e)));
        match restrict {
            Ok(meta) => Ok(Self {
                listener,
                path: path.to_owned(),
                identity: (meta.dev(), meta.ino()),
            }),
            Err(error) => {
                let _ = std::fs::remove_file(path);
                Err(error)
            }
        }
    }

    /// Removes the socket file if it is still the one this service bound.
    fn unlink(&self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| (m.dev(), m.ino()) == self.identity);
        if !ours {
            tracing::warn!(socket = %self.path.display(), "control socket already replaced or gone");
            return;
        }
        if let Err(error) = std::fs::remove_file(&self.path) {
            tracing::warn!(socket = %self.path.display(), %error, "cannot remove control socket");
        }
    }
}

/// Makes `path` free for binding: fails if a service answers there, removes a dead socket.
fn remove_stale(path: &Path) -> Result<(), EgressError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(EgressError::BindControl {
                action: "stat",
                path: path.to_owned(),
                source,
            })
        }
    };
    if !meta.file_type().is_socket() {
        return Err(EgressError::NotASocket {
            path: path.to_owned(),
        });
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(EgressError::AlreadyRunning {
            path: path.to_owned(),
        });
    }
    tracing::info!(socket = %path.display(), "removing stale control socket");
    std::fs::remove_file(path).map_err(|source| EgressError::RemoveStaleSocket {
        path: path.to_owned(),
        source,
    })
}

/// Why the control loop ended.
#[derive(Debug)]
enum Stop {
    Idle,
    Sigterm,
}

async fn serve(
    cfg: &ServiceConfig,
    bound: Bound,
    filter: DnsFilter,
    table: FilterTable,
) -> Result<(), EgressError> {
    let Bound {
        port,
        udp,
        tcp,
        control,
        mut sigterm,
        _sighup,
    } = bound;
    let (stop_dns, dns_stopped) = tokio::sync::oneshot::channel::<()>();
    let dns = filter.serve(udp, tcp, async {
        let _ = dns_stopped.await;
    });
    tokio::pin!(dns);
    let leases = Arc::new(Leases::new(table));
    let mut conns = JoinSet::new();
    let control_loop = control_loop(
        &control.listener,
        &mut conns,
        &leases,
        port,
        cfg.idle_exit,
        &mut sigterm,
    );
    let outcome = tokio::select! {
        result = &mut dns => Err(result),
        stop = control_loop => Ok(stop),
    };
    // Unlink first: from here on a client finds no socket and starts a new service.
    control.unlink();
    // Connections still queued in the listener's backlog are reset when it closes; accepted
    // ones see EOF when their tasks are aborted.
    drop(control);
    conns.shutdown().await;
    match outcome {
        Ok(stop) => {
            tracing::info!(?stop, "egress service stopping");
            let _ = stop_dns.send(());
            dns.await
        }
        Err(result) => {
            tracing::error!("DNS filter stopped on its own");
            result
        }
    }
}

/// Accepts control connections until the service has been idle for `idle_exit` or SIGTERM.
async fn control_loop(
    listener: &UnixListener,
    conns: &mut JoinSet<()>,
    leases: &Arc<Leases>,
    dns_port: u16,
    idle_exit: Duration,
    sigterm: &mut Signal,
) -> Stop {
    let own_euid = nix::unistd::geteuid().as_raw();
    let mut next_conn: u64 = 0;
    let mut idle_since = Instant::now();
    loop {
        let idle = conns.is_empty();
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of descriptors, most likely: back off instead of spinning.
                        tracing::warn!(%error, "control accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let uid = match stream.peer_cred() {
                    Ok(cred) => cred.uid(),
                    Err(error) => {
                        tracing::warn!(%error, "cannot read control peer credentials");
                        continue;
                    }
                };
                // Any local user reaching the socket could rewrite a jail's DNS policy (open a
                // name to exfiltrate through), so only root and our own user may talk.
                if !control::peer_allowed(uid, own_euid) {
                    tracing::warn!(uid, "control connection refused");
                    tokio::spawn(control::refuse_connection(stream, format!("not allowed: uid {uid}")));
                    continue;
                }
                next_conn += 1;
                tracing::debug!(conn = next_conn, uid, "control connection");
                conns.spawn(control::serve_connection(stream, Arc::clone(leases), next_conn, dns_port));
            }
            Some(_) = conns.join_next(), if !idle => {
                if conns.is_empty() {
                    idle_since = Instant::now();
                }
            }
            () = tokio::time::sleep_until(idle_since + idle_exit), if idle => return Stop::Idle,
            Some(()) = sigterm.recv() => return Stop::Sigterm,
        }
    }
}
