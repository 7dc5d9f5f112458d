//! The crate's one error type: each variant names the action that failed and carries its object.

use std::io;
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
}
