//! The answer cache: upstream answers to allowed questions, kept for their TTL.
//!
//! # Where it sits
//!
//! The server consults the cache only *after* [`crate::decide`] has allowed the name for the
//! asking client, and fills it only with the upstream's answer to a question it forwarded. So an
//! entry only ever answers a client whose own policy allows that name: a jail denied a name gets
//! NXDOMAIN whether or not another jail's lookup put the name in the cache, and a denied name
//! never reaches the cache at all.
//!
//! # What is kept
//!
//! One entry per forwarded question ([`CacheKey`]: the normalised name as sent upstream, type,
//! class, and the DO bit, since a DNSSEC-aware client needs the signatures a plain one did not
//! ask for). An entry holds the whole answer (response code and records of the answer,
//! authority and additional sections); its records are never used to answer any other question,
//! so extra records an upstream puts in a reply cannot poison other names.
//!
//! - `NOERROR` with answers: kept for the smallest TTL among its records.
//! - `NXDOMAIN`, and `NOERROR` without answers (NODATA): kept for the negative TTL of RFC 2308
//!   (the smaller of the SOA record's TTL and its `minimum`), or [`DEFAULT_NEGATIVE_TTL`] when
//!   the reply carries no SOA.
//! - Every lifetime is capped at [`MAX_TTL`]; a lifetime of 0 is not cached. Any other response
//!   code (`SERVFAIL`, `REFUSED`, …), a truncated reply, and upstream errors are never cached.
//!
//! # Bounds
//!
//! At most `capacity` entries ([`DEFAULT_ENTRIES`] in the filter). When full, expired entries
//! are purged (at most once per [`PURGE_INTERVAL`], so a full cache of live entries does not
//! scan on every insert), then the oldest insertions are evicted. One mutex guards it; lookups
//! hold it for a hash-map probe and an `Arc` clone, records are copied outside it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, RData, Record, RecordType};

/// Entries the filter's cache holds at most.
pub(crate) const DEFAULT_ENTRIES: usize = 10_000;

/// No answer is kept longer than this, whatever its TTL: an upstream change is seen within it.
pub(crate) const MAX_TTL: u32 = 300;

/// How long a negative answer without an SOA record is kept.
pub(crate) const DEFAULT_NEGATIVE_TTL: u32 = 30;

/// Expired entries are purged at most this often (and only when the cache is full).
const PURGE_INTERVAL: Duration = Duration::from_secs(1);

/// One forwarded question.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    /// The normalised name exactly as forwarded (lowercase, A-labels, no trailing dot).
    pub(crate) name: String,
    /// The query type.
    pub(crate) qtype: RecordType,
    /// The query class (always IN today: the server refuses others).
    pub(crate) class: DNSClass,
    /// The DO bit sent upstream.
    pub(crate) dnssec_ok: bool,
}

/// An answer as the client gets it from the cache: TTLs already decreased by its age.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CachedAnswer {
    /// The upstream's response code.
    pub(crate) rcode: ResponseCode,
    /// Answer section.
    pub(crate) answers: Vec<Record>,
    /// Authority section.
    pub(crate) authorities: Vec<Record>,
    /// Additional section (never the OPT record, which hickory keeps apart).
    pub(crate) additionals: Vec<Record>,
}

#[derive(Debug)]
struct Entry {
    /// Insertion number, matched against the eviction queue.
    seq: u64,
    stored: Instant,
    expires: Instant,
    answer: CachedAnswer,
}

#[derive(Debug)]
struct State {
    entries: HashMap<CacheKey, Arc<Entry>>,
    /// Keys in insertion order with their insertion number; an item whose number no longer
    /// matches its entry (replaced or removed since) is stale and skipped.
    order: VecDeque<(CacheKey, u64)>,
    next_seq: u64,
    last_purge: Option<Instant>,
}

/// A bounded, shared answer cache. See the module documentation.
#[derive(Debug)]
pub(crate) struct AnswerCache {
    capacity: usize,
    state: Mutex<State>,
}

impl AnswerCache {
    /// An empty cache holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_seq: 0,
                last_purge: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock means a task panicked mid-update; the worst left behind is a stale
        // eviction-queue item, which is skipped. Keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of entries, expired ones not yet purged included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The answer for `key` at time `now`, TTLs decreased by the whole seconds since it was
    /// stored; `None` when absent or expired (an expired entry is removed).
    pub(crate) fn get(&self, key: &CacheKey, now: Instant) -> Option<CachedAnswer> {
        let entry = {
            let mut state = self.lock();
            let entry = Arc::clone(state.entries.get(key)?);
            if now >= entry.expires {
                state.entries.remove(key);
                return None;
            }
            entry
        };
        let age = u32::try_from(now.saturating_duration_since(entry.stored).as_secs())
            .unwrap_or(u32::MAX);
        let aged = |records: &[Record]| -> Vec<Record> {
            records
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.ttl = r.ttl.saturating_sub(age);
                    r
                })
                .collect()
        };
        Some(CachedAnswer {
            rcode: entry.answer.rcode,
            answers: aged(&entry.answer.answers),
            authorities: aged(&entry.answer.authorities),
            additionals: aged(&entry.answer.additionals),
        })
    }

    /// Stores the upstream's `reply` to `key` received at `now`, if it may be cached at all
    /// ([`lifetime`]). A reply that may not be cached removes any entry `key` still has, so the
    /// cache never serves an answer older than the upstream's latest.
    pub(crate) fn insert(&self, key: CacheKey, reply: &Message, now: Instant) {
        let Some(ttl) = lifetime(reply) else {
            self.lock().entries.remove(&key);
            return;
        };
        let answer = CachedAnswer {
            rcode: reply.metadata.response_code,
            answers: reply.answers.clone(),
            authorities: reply.authorities.clone(),
            additionals: reply.additionals.clone(),
        };
        let mut state = self.lock();
        if !state.entries.contains_key(&key) && state.entries.len() >= self.capacity {
            self.make_room(&mut state, now);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let entry = Entry {
            seq,
            stored: now,
            expires: now + Duration::from_secs(u64::from(ttl)),
            answer,
        };
        state.entries.insert(key.clone(), Arc::new(entry));
        state.order.push_back((key, seq));
        // Replaced and purged entries leave stale queue items behind; drop them before the
        // queue outgrows the map by much.
        if state.order.len() > self.capacity.saturating_mul(2) {
            let State { entries, order, .. } = &mut *state;
            order.retain(|(k, s)| entries.get(k).is_some_and(|e| e.seq == *s));
        }
    }

    /// Frees at least one slot: purges expired entries if the last purge is old enough, then
    /// evicts the oldest insertions until there is room.
    fn make_room(&self, state: &mut State, now: Instant) {
        let purge_due = state
            .last_purge
            .is_none_or(|t| now.saturating_duration_since(t) >= PURGE_INTERVAL);
        if purge_due {
            state.last_purge = Some(now);
            state.entries.retain(|_, e| now < e.expires);
        }
        while state.entries.len() >= self.capacity {
            let Some((key, seq)) = state.order.pop_front() else {
                break;
            };
            if state.entries.get(&key).is_some_and(|e| e.seq == seq) {
                state.entries.remove(&key);
            }
        }
    }
}

/// How many seconds `reply` may be cached, or `None` when it must not be (see the module
/// documentation).
pub(crate) fn lifetime(reply: &Message) -> Option<u32> {
    if reply.metadata.truncation {
        return None;
    }
    let records = || {
        reply
            .answers
            .iter()
            .chain(&reply.authorities)
            .chain(&reply.additionals)
    };
    let ttl = match reply.metadata.response_code {
        ResponseCode::NoError if !reply.answers.is_empty() => records().map(|r| r.ttl).min()?,
        ResponseCode::NoError | ResponseCode::NXDomain => reply
            .authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(DEFAULT_NEGATIVE_TTL),
        _ => return None,
    };
    let ttl = ttl.min(MAX_TTL);
    (ttl > 0).then_some(ttl)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::str::FromStr;

    use hickory_proto::rr::rdata::{A, SOA};
    use hickory_proto::rr::Name;

    use super::*;

    fn key(name: &str) -> CacheKey {
        CacheKey {
            name: name.to_owned(),
            qtype: RecordType::A,
            class: DNSClass::IN,
            dnssec_ok: false,
        }
    }

    fn a(name: &str, ttl: u32) -> Record {
        let name = Name::from_str(name).unwrap();
        Record::from_rdata(name, ttl, RData::A(A(Ipv4Addr::new(10, 0, 0, 1))))
    }

    fn soa(ttl: u32, minimum: u32) -> Record {
        let zone = Name::from_str("corp.test.").unwrap();
        let data = SOA::new(
            Name::from_str("ns.corp.test.").unwrap(),
            Name::from_str("admin.corp.test.").unwrap(),
            1,
            3600,
            600,
            86400,
            minimum,
        );
        Record::from_rdata(zone, ttl, RData::SOA(data))
    }

    fn reply(rcode: ResponseCode, answers: Vec<Record>, authorities: Vec<Record>) -> Message {
        let mut m = Message::response(7, hickory_proto::op::OpCode::Query);
        m.metadata.response_code = rcode;
        m.answers = answers;
        m.authorities = authorities;
        m
    }

    #[test]
    fn positive_answers_live_for_their_smallest_ttl_capped() {
        let two = vec![a("a.corp.test.", 60), a("a.corp.test.", 40)];
        assert_eq!(
            lifetime(&reply(ResponseCode::NoError, two, vec![])),
            Some(40)
        );
        let long = vec![a("a.corp.test.", 86_400)];
        assert_eq!(
            lifetime(&reply(ResponseCode::NoError, long, vec![])),
            Some(MAX_TTL)
        );
        let zero = vec![a("a.corp.test.", 0), a("a.corp.test.", 60)];
        assert_eq!(lifetime(&reply(ResponseCode::NoError, zero, vec![])), None);
    }

    #[test]
    fn negative_answers_live_for_the_soa_negative_ttl_or_thirty_seconds() {
        let nx = |auth| lifetime(&reply(ResponseCode::NXDomain, vec![], auth));
        assert_eq!(nx(vec![soa(60, 20)]), Some(20));
        assert_eq!(nx(vec![soa(15, 600)]), Some(15));
        assert_eq!(nx(vec![soa(3600, 3600)]), Some(MAX_TTL));
        assert_eq!(nx(vec![soa(60, 0)]), None);
        assert_eq!(nx(vec![]), Some(DEFAULT_NEGATIVE_TTL));
        let nodata = reply(ResponseCode::NoError, vec![], vec![soa(60, 45)]);
        assert_eq!(lifetime(&nodata), Some(45));
    }

    #[test]
    fn failures_and_truncated_replies_are_never_cached() {
        for rcode in [
            ResponseCode::ServFail,
            ResponseCode::Refused,
            ResponseCode::FormErr,
            ResponseCode::NotImp,
        ] {
            let m = reply(rcode, vec![a("a.corp.test.", 60)], vec![soa(60, 60)]);
            assert_eq!(lifetime(&m), None, "{rcode:?}");
        }
        let mut m = reply(ResponseCode::NoError, vec![a("a.corp.test.", 60)], vec![]);
        m.metadata.truncation = true;
        assert_eq!(lifetime(&m), None);
    }

    #[test]
    fn hits_age_their_ttls_and_expire() {
        let cache = AnswerCache::new(10);
        let t = Instant::now();
        let m = reply(ResponseCode::NoError, vec![a("a.corp.test.", 60)], vec![]);
        cache.insert(key("a.corp.test"), &m, t);
        let hit = cache.get(&key("a.corp.test"), t).unwrap();
        assert_eq!(hit.answers[0].ttl, 60);
        let hit = cache
            .get(&key("a.corp.test"), t + Duration::from_millis(10_900))
            .unwrap();
        assert_eq!(hit.answers[0].ttl, 50);
        assert_eq!(hit.rcode, ResponseCode::NoError);
        assert!(cache
            .get(&key("a.corp.test"), t + Duration::from_secs(60))
            .is_none());
        assert_eq!(cache.len(), 0, "an expired entry is removed on lookup");
        // Another type or DO bit is another entry.
        cache.insert(key("a.corp.test"), &m, t);
        let mut aaaa = key("a.corp.test");
        aaaa.qtype = RecordType::AAAA;
        assert!(cache.get(&aaaa, t).is_none());
        let mut signed = key("a.corp.test");
        signed.dnssec_ok = true;
        assert!(cache.get(&signed, t).is_none());
    }

    #[test]
    fn an_uncacheable_reply_drops_the_old_entry() {
        let cache = AnswerCache::new(10);
        let t = Instant::now();
        let ok = reply(ResponseCode::NoError, vec![a("a.corp.test.", 60)], vec![]);
        cache.insert(key("a.corp.test"), &ok, t);
        let fail = reply(ResponseCode::ServFail, vec![], vec![]);
        cache.insert(key("a.corp.test"), &fail, t);
        assert!(cache.get(&key("a.corp.test"), t).is_none());
    }

    #[test]
    fn a_full_cache_purges_expired_entries_then_evicts_the_oldest() {
        let cache = AnswerCache::new(3);
        let t = Instant::now();
        let short = reply(ResponseCode::NoError, vec![a("x.corp.test.", 5)], vec![]);
        let long = reply(ResponseCode::NoError, vec![a("x.corp.test.", 300)], vec![]);
        cache.insert(key("old.corp.test"), &long, t);
        cache.insert(key("short.corp.test"), &short, t);
        cache.insert(key("mid.corp.test"), &long, t);
        // Full; `short` has expired by then: it goes, the older live entry stays.
        let later = t + Duration::from_secs(10);
        cache.insert(key("new.corp.test"), &long, later);
        assert!(cache.get(&key("old.corp.test"), later).is_some());
        assert!(cache.get(&key("short.corp.test"), later).is_none());
        // Full of live entries: the oldest insertion goes.
        cache.insert(key("newer.corp.test"), &long, later);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key("old.corp.test"), later).is_none());
        for name in ["mid.corp.test", "new.corp.test", "newer.corp.test"] {
            assert!(cache.get(&key(name), later).is_some(), "{name}");
        }
    }

    #[test]
    fn stays_bounded_under_a_stream_of_unique_names() {
        let cache = AnswerCache::new(100);
        let t = Instant::now();
        let m = reply(ResponseCode::NoError, vec![a("x.corp.test.", 300)], vec![]);
        for i in 0..10_000 {
            cache.insert(key(&format!("n{i}.corp.test")), &m, t);
            // Re-inserting a live key replaces it without growing the map.
            cache.insert(key("hot.corp.test"), &m, t);
        }
        assert!(cache.len() <= 100);
        assert!(cache.lock().order.len() <= 200);
        assert!(cache.get(&key("n9999.corp.test"), t).is_some());
    }
}
