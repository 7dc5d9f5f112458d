//! Audit events: one structured record per decision, and where they go.
//!
//! An event carries the client, its jail, the query name and type, the decision and (when
//! allowed) the upstream's response code: never the packet, its other sections, or the answer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::EgressError;

/// The transport a query arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP.
    Tcp,
}

/// The decision column of an audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditDecision {
    /// Forwarded upstream.
    Allow,
    /// Answered NXDOMAIN here.
    Deny,
    /// Refused because the client is over its rate limit.
    Ratelimited,
    /// Refused as malformed or unsupported (never forwarded).
    Refused,
}

/// One decision of the DNS filter, serialised as one JSON line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEvent {
    /// When, RFC 3339 in UTC.
    pub time: String,
    /// Always `dns`, so DNS events can share a stream with others.
    pub event: &'static str,
    /// The client's source address.
    pub client: IpAddr,
    /// The jail label from the client's table entry, if it has one.
    pub jail: Option<String>,
    /// `udp` or `tcp`.
    pub transport: Transport,
    /// The normalised query name, or the escaped wire name when it has no normalised form;
    /// `None` when the message had no single question.
    pub name: Option<String>,
    /// The query type (`A`, `TXT`, …).
    #[serde(rename = "type")]
    pub qtype: Option<String>,
    /// What the filter did.
    pub decision: AuditDecision,
    /// Stable code saying why (`not_allowed`, `unknown_client`, `question_count`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The allowlist pattern that matched, for allowed names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The upstream's response code (`NOERROR`, `NXDOMAIN`, …), for allowed names it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_rcode: Option<String>,
    /// Why the upstream gave no answer (`timeout`, `network`), for allowed names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_error: Option<&'static str>,
    /// For rate-limit events: over-limit queries not reported since the previous event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<u64>,
    /// For allowed names: answered from the filter's cache (`upstream_rcode` is then the cached
    /// response code); the field appears only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

impl AuditEvent {
    /// An event stamped now, with the optional columns empty.
    pub fn new(client: IpAddr, transport: Transport, decision: AuditDecision) -> Self {
        let time = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"));
        Self {
            time,
            event: "dns",
            client,
            jail: None,
            transport,
            name: None,
            qtype: None,
            decision,
            reason: None,
            rule: None,
            upstream_rcode: None,
            upstream_error: None,
            suppressed: None,
            cached: false,
        }
    }
}

/// Where audit events go: a JSON-lines file with no daemon, the database with one.
pub trait AuditSink: Send + Sync + 'static {
    /// Records one event. The filter answers the query whatever this returns and counts
    /// failures ([`crate::DnsFilter::audit_failures`]).
    fn record(&self, event: &AuditEvent) -> Result<(), EgressError>;
}

/// Appends each event as one JSON line to a writer (a file opened for append).
#[derive(Debug)]
pub struct JsonLinesSink<W> {
    out: Mutex<W>,
}

impl<W: Write + Send + 'static> JsonLinesSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }
}

impl JsonLinesSink<File> {
    /// Opens `path` for appending (creating it, mode 0600): the file `PADDOCK_AUDIT` names.
    pub fn append(path: &Path) -> Result<Self, EgressError> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| EgressError::OpenAudit {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self::new(file))
    }
}

impl<W: Write + Send + 'static> AuditSink for JsonLinesSink<W> {
    fn record(&self, event: &AuditEvent) -> Result<(), EgressError> {
        let mut line =
            serde_json::to_vec(event).map_err(|source| EgressError::EncodeAudit { source })?;
        line.push(b'\n');
        // One write_all per line under the lock: lines from concurrent queries never interleave.
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(&line)
            .and_then(|()| out.flush())
            .map_err(|source| EgressError::WriteAudit { source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_one_json_line_with_the_documented_fields() {
        let sink = JsonLinesSink::new(Vec::new());
        let mut e = AuditEvent::new(
            "10.213.0.2".parse().unwrap(),
            Transport::Udp,
            AuditDecision::Deny,
        );
        e.jail = Some("build-1".into());
        e.name = Some("evil.test".into());
        e.qtype = Some("TXT".into());
        e.reason = Some("not_allowed");
        sink.record(&e).unwrap();
        let out = sink.out.into_inner().unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(v["event"], "dns");
        assert_eq!(v["client"], "10.213.0.2");
        assert_eq!(v["jail"], "build-1");
        assert_eq!(v["name"], "evil.test");
        assert_eq!(v["type"], "TXT");
        assert_eq!(v["decision"], "deny");
        assert_eq!(v["reason"], "not_allowed");
        assert!(v.get("upstream_rcode").is_none());
        assert!(OffsetDateTime::parse(v["time"].as_str().unwrap(), &Rfc3339).is_ok());
    }
}
