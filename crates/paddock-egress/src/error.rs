//! The crate's one error type: each variant names the action that failed and carries its object.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

/// What went wrong while setting up or running the egress services.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The audit file could not be opened for appending.
    #[error("cannot open audit file {path}: {source}; check that the directory exists and is writable by the egress user")]
    OpenAudit {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// An audit event could not be written.
    #[error(
        "cannot write audit event: {source}; check free space and the audit file's permissions"
    )]
    WriteAudit {
        /// The cause.
        source: io::Error,
    },
    /// An audit event could not be encoded as JSON.
    #[error("cannot encode audit event as JSON: {source}")]
    EncodeAudit {
        /// The cause.
        source: serde_json::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid DNS filter setting {field}: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The filter was started with effective uid 0.
    #[error("refusing to run the DNS filter as root: it parses untrusted traffic from jails; start it as the unprivileged egress user")]
    RunningAsRoot,
    /// The address of a socket handed to the filter could not be read.
    #[error("cannot read the local address of the DNS filter's {transport} socket: {source}")]
    LocalAddr {
        /// `udp` or `tcp`.
        transport: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// A listener task of the DNS server ended with an error.
    #[error("DNS filter stopped with an error: {source}")]
    Serve {
        /// The cause.
        source: hickory_net::NetError,
    },
    /// No port was free for both UDP and TCP on the listen address.
    #[error("cannot bind the DNS filter's UDP and TCP sockets on one port of {ip}: {source} (after {attempts} attempts); check that {ip} is an address of this host")]
    BindDns {
        /// The listen address.
        ip: IpAddr,
        /// Attempts made.
        attempts: u32,
        /// The last cause.
        source: io::Error,
    },
    /// Another service already answers on the control socket.
    #[error("an egress service already answers on {path}; use it (send hello), or stop it before starting another")]
    AlreadyRunning {
        /// The socket path.
        path: PathBuf,
    },
    /// Something that is not a socket sits at the control socket's path.
    #[error("{path} exists and is not a socket; remove it or choose another control socket path")]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// A stale control socket (nothing answering) could not be removed.
    #[error("cannot remove the stale control socket {path}: {source}; remove it by hand")]
    RemoveStaleSocket {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The control socket could not be bound or restricted to its owner.
    #[error("cannot {action} the control socket {path}: {source}; check that the directory exists and is writable by the egress user")]
    BindControl {
        /// `bind`, `chmod` or `stat`.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The service's async runtime or its signal handlers could not be set up.
    #[error("cannot start the egress service's {what}: {source}")]
    Runtime {
        /// `runtime`, `SIGTERM handler`, …
        what: &'static str,
        /// The cause.
        source: io::Error,
    },
    /// A client could not connect to the control socket.
    #[error("cannot connect to the egress control socket {path}: {source}; start the egress service (paddock egress dns) or check the path")]
    ControlConnect {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// Sending a request or reading its reply failed (timeout included).
    #[error("egress control request {op} on {path} failed: {source}")]
    ControlExchange {
        /// The request (`hello`, `set`, `remove`).
        op: &'static str,
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The service closed the connection before replying (it is exiting).
    #[error("the egress service on {path} closed the connection during {op}; it was exiting: start a new one and reconnect")]
    ControlClosed {
        /// The request.
        op: &'static str,
        /// The socket path.
        path: PathBuf,
    },
    /// The service answered with something that is not a valid reply to the request.
    #[error("the egress service on {path} sent an invalid reply to {op}: {reason}")]
    ControlProtocol {
        /// The request.
        op: &'static str,
        /// The socket path.
        path: PathBuf,
        /// What is wrong with the reply.
        reason: String,
    },
    /// The service refused the request.
    #[error("the egress service on {path} refused {op}: {message}")]
    ControlRefused {
        /// The request.
        op: &'static str,
        /// The socket path.
        path: PathBuf,
        /// The service's explanation.
        message: String,
    },
    /// An earlier request on this connection failed mid-exchange, so replies may be out of step.
    #[error("the control connection to {path} is unusable after an earlier failure; drop it and reconnect")]
    ControlBroken {
        /// The socket path.
        path: PathBuf,
    },
}
