//! Audit events: one structured record per decision, and where they go.
//!
//! An event carries the client, its jail, the query name and type, the decision and (when
//! allowed) the upstream's response code: never the packet, its other sections, or the answer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

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

    /// Events the sink accepted but failed to write later (a sink that writes in the background,
    /// like [`BufferedJsonLinesSink`]); added to [`crate::DnsFilter::audit_failures`].
    fn failures(&self) -> u64 {
        0
    }
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

/// How long the background writer of a [`BufferedJsonLinesSink`] waits, once an event is
/// pending, before it writes everything pending in one `write(2)`: the most an event waits in
/// memory while the writer keeps up.
pub const AUDIT_BATCH_WINDOW: Duration = Duration::from_millis(5);

/// Bytes of encoded events a [`BufferedJsonLinesSink`] holds at most; a query that would add to
/// a fuller buffer waits until the writer has taken it.
const MAX_PENDING_BYTES: usize = 4 << 20;

/// Like [`JsonLinesSink`] (the same lines, in the order recorded), but off the answering path:
/// `record` encodes the event into a shared buffer and returns; a dedicated thread writes
/// whatever is pending in one `write(2)` at most [`AUDIT_BATCH_WINDOW`] after the first pending
/// event, and everything still pending when the sink is [closed](Self::close) or dropped.
///
/// No event is ever dropped: when the writer falls behind by [`MAX_PENDING_BYTES`], `record`
/// blocks until it has caught up (the filter then answers at the writer's pace, as with a
/// synchronous sink). A failed write is counted per event ([`AuditSink::failures`]) and logged.
/// The crash window: events recorded in the last [`AUDIT_BATCH_WINDOW`] (plus one write) before
/// the process is killed are lost, and their queries may already have been answered.
pub struct BufferedJsonLinesSink {
    shared: Arc<Shared>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    pending: Mutex<Pending>,
    /// The writer waits on this for a first pending event or for `closing`.
    wake: Condvar,
    /// Recorders wait on this for room in the buffer.
    room: Condvar,
    failures: AtomicU64,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    events: u64,
    closing: bool,
    /// The writer thread has ended: nothing recorded from now on would be written.
    gone: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for BufferedJsonLinesSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BufferedJsonLinesSink")
            .field("failures", &self.shared.failures.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl BufferedJsonLinesSink {
    /// A sink writing to `out` from its own thread.
    pub fn new(out: impl Write + Send + 'static) -> Result<Self, EgressError> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            room: Condvar::new(),
            failures: AtomicU64::new(0),
        });
        let for_writer = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("paddock-audit".into())
            .spawn(move || write_batches(&for_writer, out))
            .map_err(|source| EgressError::WriteAudit { source })?;
        Ok(Self {
            shared,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Writes everything recorded so far and stops the writer thread; events recorded after
    /// this fail (and are counted as failures by the filter).
    pub fn close(&self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::warn!("audit writer thread panicked");
            }
        }
    }
}

impl Drop for BufferedJsonLinesSink {
    fn drop(&mut self) {
        self.close();
    }
}

impl AuditSink for BufferedJsonLinesSink {
    fn record(&self, event: &AuditEvent) -> Result<(), EgressError> {
        let mut pending = self.shared.lock();
        while pending.buf.len() >= MAX_PENDING_BYTES && !pending.gone {
            pending = self
                .shared
                .room
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if pending.gone || pending.closing {
            return Err(EgressError::WriteAudit {
                source: std::io::Error::other("audit writer stopped"),
            });
        }
        let was_empty = pending.buf.is_empty();
        let start = pending.buf.len();
        // Encoded in place: no allocation per event once the buffer has grown.
        if let Err(source) = serde_json::to_writer(&mut pending.buf, event) {
            pending.buf.truncate(start);
            return Err(EgressError::EncodeAudit { source });
        }
        pending.buf.push(b'\n');
        pending.events += 1;
        drop(pending);
        // Only the first pending event wakes the writer: one wake-up per batch, not per event.
        if was_empty {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    fn failures(&self) -> u64 {
        self.shared.failures.load(Ordering::Relaxed)
    }
}

/// The writer thread: waits for a pending event, lets the batch fill for
/// [`AUDIT_BATCH_WINDOW`], writes it in one go; drains everything once `closing` is set.
fn write_batches(shared: &Shared, mut out: impl Write) {
    /// Marks the writer gone however the thread ends (a panicking writer included), so that
    /// recorders waiting for room return an error instead of waiting forever.
    struct Gone<'a>(&'a Shared);
    impl Drop for Gone<'_> {
        fn drop(&mut self) {
            self.0.lock().gone = true;
            self.0.room.notify_all();
        }
    }
    let _gone = Gone(shared);
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let mut pending = shared.lock();
        while pending.buf.is_empty() && !pending.closing {
            pending = shared
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if pending.buf.is_empty() {
            // Closing, and everything is written.
            return;
        }
        if !pending.closing {
            drop(pending);
            std::thread::sleep(AUDIT_BATCH_WINDOW);
            pending = shared.lock();
        }
        std::mem::swap(&mut pending.buf, &mut batch);
        let events = std::mem::take(&mut pending.events);
        drop(pending);
        shared.room.notify_all();
        if let Err(error) = out.write_all(&batch).and_then(|()| out.flush()) {
            shared.failures.fetch_add(events, Ordering::Relaxed);
            tracing::warn!(%error, events, "DNS filter audit events lost");
        }
        batch.clear();
        if batch.capacity() > MAX_PENDING_BYTES {
            batch.shrink_to(MAX_PENDING_BYTES / 4);
        }
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

#[cfg(test)]
mod buffered_tests {
    use super::*;

    /// A writer the test can read back, that can be made to fail.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<(Vec<u8>, bool, usize)>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap();
            if s.1 {
                return Err(std::io::Error::other("disk full"));
            }
            s.0.extend_from_slice(buf);
            s.2 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn event(n: usize) -> AuditEvent {
        let mut e = AuditEvent::new(
            "10.213.0.2".parse().unwrap(),
            Transport::Udp,
            AuditDecision::Deny,
        );
        e.name = Some(format!("n{n}.evil.test"));
        e.reason = Some("not_allowed");
        e
    }

    #[test]
    fn writes_the_same_lines_in_order_and_everything_at_close() {
        let out = Shared::default();
        let sink = BufferedJsonLinesSink::new(out.clone()).unwrap();
        let sync = JsonLinesSink::new(Vec::new());
        for n in 0..1000 {
            let e = event(n);
            sink.record(&e).unwrap();
            sync.record(&e).unwrap();
        }
        sink.close();
        let (written, _, writes) = out.0.lock().unwrap().clone();
        assert_eq!(written, sync.out.into_inner().unwrap());
        assert!(writes < 1000, "{writes} writes for 1000 events");
        assert!(sink.record(&event(0)).is_err());
    }

    #[test]
    fn flushes_within_the_window_without_closing() {
        let out = Shared::default();
        let sink = BufferedJsonLinesSink::new(out.clone()).unwrap();
        sink.record(&event(1)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while out.0.lock().unwrap().0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::sleep(Duration::from_millis(1));
        }
        let text = String::from_utf8(out.0.lock().unwrap().0.clone()).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert!(text.contains("n1.evil.test"));
    }

    #[test]
    fn counts_failed_writes_per_event() {
        let out = Shared::default();
        out.0.lock().unwrap().1 = true;
        let sink = BufferedJsonLinesSink::new(out.clone()).unwrap();
        for n in 0..3 {
            sink.record(&event(n)).unwrap();
        }
        sink.close();
        assert_eq!(sink.failures(), 3);
    }
}
