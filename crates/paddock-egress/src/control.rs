//! The control protocol of the egress service: how `paddock jail` (root) pushes a jail's DNS
//! policy into the shared, unprivileged filter process.
//!
//! JSON lines over a Unix stream socket: one [`Request`] line, one [`Reply`] line, in order.
//! A line is at most [`MAX_LINE`] bytes; a longer line or one that is not a request gets an
//! error reply and the connection is closed.
//!
//! Every client address set through a connection is *leased* to it: when the connection closes
//! (EOF, error, or its owner killed with SIGKILL) the service removes those entries, so a jail
//! whose runner died resolves nothing. A `set` for an address leased by another live connection
//! replaces the policy and moves the lease.
//!
//! The service side is async and lives in the service process ([`crate::service`]); the client
//! side ([`ControlClient`]) is blocking and std-only, for the root side.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use paddock_policy::HostPattern;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

use crate::error::EgressError;
use crate::table::{ClientPolicy, FilterTable};

/// The longest request or reply line, newline excluded.
pub const MAX_LINE: usize = 64 * 1024;

/// How long the service waits to hand a reply to a client that does not read.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One request line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Asks for the DNS port; replied `Ok { port: Some(_) }`.
    Hello,
    /// Sets the policy of one client address and leases it to this connection.
    Set {
        /// The jail's source address.
        client: IpAddr,
        /// The jail label for audit events (empty: none).
        jail: String,
        /// Host patterns as written in a policy (`exact.name`, `*.suffix`).
        allow: Vec<String>,
    },
    /// Removes one client address (whoever leased it); it then resolves nothing.
    Remove {
        /// The jail's source address.
        client: IpAddr,
    },
}

impl Request {
    fn op(&self) -> &'static str {
        match self {
            Request::Hello => "hello",
            Request::Set { .. } => "set",
            Request::Remove { .. } => "remove",
        }
    }
}

/// One reply line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Reply {
    /// Done. `set` and `remove` reply only once the table has changed.
    Ok {
        /// The DNS port (UDP and TCP), for `hello`; `None` otherwise.
        port: Option<u16>,
    },
    /// Refused; the message says why.
    Error {
        /// What went wrong.
        message: String,
    },
}

/// True when a peer with this uid may use the control socket: root (the jail runner) or the
/// service's own user.
pub(crate) fn peer_allowed(peer_uid: u32, own_euid: u32) -> bool {
    peer_uid == 0 || peer_uid == own_euid
}

/// The table plus who leased each address: shared by all control connections of one service.
#[derive(Debug)]
pub(crate) struct Leases {
    table: FilterTable,
    owners: Mutex<HashMap<IpAddr, u64>>,
}

impl Leases {
    pub(crate) fn new(table: FilterTable) -> Self {
        Self {
            table,
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// Updates the table and the owner under one lock, so a concurrent release by the previous
    /// owner cannot remove the new policy.
    fn set(&self, conn: u64, client: IpAddr, policy: ClientPolicy) {
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        self.table.update(client, policy);
        owners.insert(client, conn);
    }

    fn remove(&self, client: IpAddr) {
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        self.table.remove(client);
        owners.remove(&client);
    }

    /// Removes the entries `conn` still owns among `clients`.
    fn release(&self, conn: u64, clients: &HashSet<IpAddr>) -> usize {
        let mut owners = self.owners.lock().unwrap_or_else(PoisonError::into_inner);
        let mut released = 0;
        for client in clients {
            if owners.get(client) == Some(&conn) {
                owners.remove(client);
                self.table.remove(*client);
                released += 1;
            }
        }
        released
    }
}

/// One connection's leases, released when the connection's task ends (returns or is aborted).
struct ConnLeases {
    leases: Arc<Leases>,
    conn: u64,
    clients: HashSet<IpAddr>,
}

impl Drop for ConnLeases {
    fn drop(&mut self) {
        let released = self.leases.release(self.conn, &self.clients);
        if released > 0 {
            tracing::info!(
                conn = self.conn,
                released,
                "control connection closed; its clients removed"
            );
        }
    }
}

/// What one request line turned out to be.
enum Line {
    Request(Request),
    /// Reply with this error, then close.
    Fatal(String),
    Eof,
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Line> {
    let mut buf = Vec::new();
    let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut buf)
        .await?;
    if buf.last() != Some(&b'\n') {
        // Either the peer closed (possibly mid-line: nothing to answer) or the line is too long.
        return Ok(if n > MAX_LINE {
            Line::Fatal(format!("request line longer than {MAX_LINE} bytes"))
        } else {
            Line::Eof
        });
    }
    buf.pop();
    Ok(match serde_json::from_slice::<Request>(&buf) {
        Ok(request) => Line::Request(request),
        Err(error) => Line::Fatal(format!("invalid request: {error}")),
    })
}

async fn write_reply<W: tokio::io::AsyncWrite + Unpin>(
    out: &mut W,
    reply: &Reply,
) -> io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(io::Error::other)?;
    line.push(b'\n');
    tokio::time::timeout(REPLY_TIMEOUT, out.write_all(&line))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client does not read replies"))?
}

/// Sends an error reply to a peer that may not use the socket, then drops the connection.
pub(crate) async fn refuse_connection(mut stream: tokio::net::UnixStream, message: String) {
    let _ = write_reply(&mut stream, &Reply::Error { message }).await;
}

/// Serves one authorised control connection until it closes; its leases are released then.
pub(crate) async fn serve_connection(
    stream: tokio::net::UnixStream,
    leases: Arc<Leases>,
    conn: u64,
    dns_port: u16,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    let mut held = ConnLeases {
        leases,
        conn,
        clients: HashSet::new(),
    };
    loop {
        let line = match read_request(&mut reader).await {
            Ok(line) => line,
            Err(error) => {
                tracing::debug!(conn, %error, "control connection read failed");
                break;
            }
        };
        let (reply, close) = match line {
            Line::Eof => break,
            Line::Fatal(message) => (Reply::Error { message }, true),
            Line::Request(request) => (apply(&mut held, request, dns_port), false),
        };
        if let Err(error) = write_reply(&mut write, &reply).await {
            tracing::debug!(conn, %error, "control reply not sent");
            break;
        }
        if close {
            tracing::warn!(conn, "control connection closed after a malformed request");
            break;
        }
    }
}

/// Applies one request to the table; the reply is sent only after this returns.
fn apply(held: &mut ConnLeases, request: Request, dns_port: u16) -> Reply {
    let op = request.op();
    match request {
        Request::Hello => Reply::Ok {
            port: Some(dns_port),
        },
        Request::Set {
            client,
            jail,
            allow,
        } => {
            let patterns = match allow
                .iter()
                .map(|p| p.parse::<HostPattern>())
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(patterns) => patterns,
                Err(error) => {
                    return Reply::Error {
                        message: format!("{op} {client}: {error}"),
                    }
                }
            };
            let client = client.to_canonical();
            tracing::debug!(conn = held.conn, %client, jail, patterns = patterns.len(), "set");
            let jail = (!jail.is_empty()).then_some(jail);
            held.leases
                .set(held.conn, client, ClientPolicy::new(jail, patterns));
            held.clients.insert(client);
            Reply::Ok { port: None }
        }
        Request::Remove { client } => {
            let client = client.to_canonical();
            tracing::debug!(conn = held.conn, %client, "remove");
            held.leases.remove(client);
            held.clients.remove(&client);
            Reply::Ok { port: None }
        }
    }
}

/// A blocking client of the control socket, for the root side.
///
/// Every address set through a client is removed from the filter when the client is dropped
/// (its connection closes): keep it for as long as the jail runs, and do not let the jail
/// inherit its descriptor (std opens it close-on-exec).
///
/// After any error other than [`EgressError::ControlRefused`] the connection is unusable
/// (replies could be out of step) and every further call fails with
/// [`EgressError::ControlBroken`]: drop it and reconnect. A failed `hello` usually means the
/// service was exiting: start a new one.
#[derive(Debug)]
pub struct ControlClient {
    path: PathBuf,
    stream: BufReader<UnixStream>,
    broken: bool,
}

impl ControlClient {
    /// Connects to the service's control socket; `timeout` bounds every later send and receive.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, EgressError> {
        let err = |source| EgressError::ControlConnect {
            path: path.to_owned(),
            source,
        };
        let stream = UnixStream::connect(path).map_err(err)?;
        stream.set_read_timeout(Some(timeout)).map_err(err)?;
        stream.set_write_timeout(Some(timeout)).map_err(err)?;
        Ok(Self {
            path: path.to_owned(),
            stream: BufReader::new(stream),
            broken: false,
        })
    }

    /// The socket path this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks that the service answers; returns its DNS port (UDP and TCP).
    pub fn hello(&mut self) -> Result<u16, EgressError> {
        match self.exchange(&Request::Hello)? {
            Some(port) => Ok(port),
            None => Err(self.protocol("hello", "no port in the reply".to_owned())),
        }
    }

    /// Sets `client`'s allowlist; the very next query from `client` is decided by it.
    pub fn set(
        &mut self,
        client: IpAddr,
        jail: &str,
        allow: &[HostPattern],
    ) -> Result<(), EgressError> {
        let request = Request::Set {
            client,
            jail: jail.to_owned(),
            allow: allow.iter().map(ToString::to_string).collect(),
        };
        self.exchange(&request).map(drop)
    }

    /// Removes `client`'s entry; it then resolves nothing.
    pub fn remove(&mut self, client: IpAddr) -> Result<(), EgressError> {
        self.exchange(&Request::Remove { client }).map(drop)
    }

    fn protocol(&mut self, op: &'static str, reason: String) -> EgressError {
        self.broken = true;
        EgressError::ControlProtocol {
            op,
            path: self.path.clone(),
            reason,
        }
    }

    /// Sends one request and reads its reply; `Ok` carries the reply's port.
    fn exchange(&mut self, request: &Request) -> Result<Option<u16>, EgressError> {
        let op = request.op();
        if self.broken {
            return Err(EgressError::ControlBroken {
                path: self.path.clone(),
            });
        }
        let mut line = serde_json::to_vec(request).map_err(|e| self.protocol(op, e.to_string()))?;
        if line.len() > MAX_LINE {
            // Refused here rather than by the service, which would close the connection.
            return Err(EgressError::ControlRefused {
                op,
                path: self.path.clone(),
                message: format!("request longer than {MAX_LINE} bytes"),
            });
        }
        line.push(b'\n');
        // Marked broken until the reply has been read in full.
        self.broken = true;
        let io_err = |source| EgressError::ControlExchange {
            op,
            path: self.path.clone(),
            source,
        };
        let mut reply = Vec::new();
        let limit = u64::try_from(MAX_LINE + 1).unwrap_or(u64::MAX);
        if let Err(source) = self.stream.get_mut().write_all(&line) {
            // The service may have closed after saying why (a refused peer): report that.
            let closed = matches!(
                source.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            );
            if closed
                && (&mut self.stream)
                    .take(limit)
                    .read_until(b'\n', &mut reply)
                    .is_ok()
            {
                if let Ok(Reply::Error { message }) = serde_json::from_slice(&reply) {
                    return Err(EgressError::ControlRefused {
                        op,
                        path: self.path.clone(),
                        message,
                    });
                }
            }
            return Err(io_err(source));
        }
        (&mut self.stream)
            .take(limit)
            .read_until(b'\n', &mut reply)
            .map_err(io_err)?;
        if reply.is_empty() {
            return Err(EgressError::ControlClosed {
                op,
                path: self.path.clone(),
            });
        }
        if reply.pop() != Some(b'\n') {
            return Err(self.protocol(op, "unterminated or over-long reply line".to_owned()));
        }
        let reply: Reply =
            serde_json::from_slice(&reply).map_err(|e| self.protocol(op, e.to_string()))?;
        self.broken = false;
        match reply {
            Reply::Ok { port } => Ok(port),
            Reply::Error { message } => Err(EgressError::ControlRefused {
                op,
                path: self.path.clone(),
                message,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_and_the_service_user_may_talk() {
        assert!(peer_allowed(0, 990));
        assert!(peer_allowed(990, 990));
        assert!(!peer_allowed(1000, 990));
        assert!(!peer_allowed(65534, 990));
        // A root service (tests only) still refuses everyone else.
        assert!(peer_allowed(0, 0));
        assert!(!peer_allowed(1000, 0));
    }

    #[test]
    fn the_wire_format_is_tagged_json() {
        let set = Request::Set {
            client: "10.213.0.2".parse().unwrap(),
            jail: "j".into(),
            allow: vec!["*.corp.test".into()],
        };
        assert_eq!(
            serde_json::to_string(&set).unwrap(),
            r#"{"op":"set","client":"10.213.0.2","jail":"j","allow":["*.corp.test"]}"#
        );
        assert_eq!(
            serde_json::to_string(&Request::Hello).unwrap(),
            r#"{"op":"hello"}"#
        );
        assert_eq!(
            serde_json::to_string(&Reply::Ok { port: Some(5353) }).unwrap(),
            r#"{"status":"ok","port":5353}"#
        );
        assert_eq!(
            serde_json::from_str::<Reply>(r#"{"status":"error","message":"x"}"#).unwrap(),
            Reply::Error {
                message: "x".into()
            }
        );
    }

    fn policy(pattern: &str) -> ClientPolicy {
        ClientPolicy::new(None, vec![pattern.parse().unwrap()])
    }

    #[test]
    fn a_moved_lease_survives_its_old_owner_closing() {
        let table = FilterTable::new();
        let leases = Leases::new(table.clone());
        let ip: IpAddr = "10.213.0.2".parse().unwrap();
        let clients: HashSet<IpAddr> = [ip].into();
        leases.set(1, ip, policy("a.corp.test"));
        leases.set(2, ip, policy("b.corp.test"));
        assert_eq!(leases.release(1, &clients), 0);
        assert!(table
            .get(ip)
            .is_some_and(|p| p.matching_rule("b.corp.test").is_some()));
        assert_eq!(leases.release(2, &clients), 1);
        assert!(table.is_empty());
    }
}
