//! Decisions are values: what the filter does with one question, and why, with stable codes
//! for audit events. [`decide`] is pure; the server only acts on its result.

use paddock_policy::HostPattern;

use crate::name::InvalidName;
use crate::table::ClientPolicy;

/// What the filter does with a well-formed question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Resolve through the upstream resolver; `rule` is the pattern that matched.
    Allow {
        /// The matching pattern.
        rule: HostPattern,
    },
    /// Answer NXDOMAIN here; nothing goes upstream.
    Deny {
        /// Why.
        reason: DenyReason,
    },
}

/// Why a name is denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The client address has no entry in the table.
    UnknownClient,
    /// No allowed pattern matches the name.
    NotAllowed,
    /// The name has no normalised form, so no pattern can match it.
    InvalidName(InvalidName),
}

impl DenyReason {
    /// A stable code for audit events.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::UnknownClient => "unknown_client",
            DenyReason::NotAllowed => "not_allowed",
            DenyReason::InvalidName(_) => "invalid_name",
        }
    }
}

/// Why a message is refused before any name is looked at (REFUSED or FORMERR, never forwarded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefuseReason {
    /// Not a standard query (UPDATE, NOTIFY, …).
    NotAQuery,
    /// Zero questions, or more than one.
    QuestionCount,
    /// A class other than IN.
    NotInClass,
    /// AXFR or IXFR: a forwarder has no zone to transfer.
    ZoneTransfer,
    /// The client is over its rate limit.
    RateLimited,
}

impl RefuseReason {
    /// A stable code for audit events.
    pub fn code(self) -> &'static str {
        match self {
            RefuseReason::NotAQuery => "not_a_query",
            RefuseReason::QuestionCount => "question_count",
            RefuseReason::NotInClass => "not_in_class",
            RefuseReason::ZoneTransfer => "zone_transfer",
            RefuseReason::RateLimited => "rate_limited",
        }
    }
}

/// Decides one question: `policy` is the client's table entry, `name` its normalised query name.
/// Deny is the default: an unknown client or a name no pattern matches is denied.
pub fn decide(policy: Option<&ClientPolicy>, name: Result<&str, InvalidName>) -> Decision {
    let Some(policy) = policy else {
        return Decision::Deny {
            reason: DenyReason::UnknownClient,
        };
    };
    let name = match name {
        Ok(name) => name,
        Err(e) => {
            return Decision::Deny {
                reason: DenyReason::InvalidName(e),
            }
        }
    };
    match policy.matching_rule(name) {
        Some(rule) => Decision::Allow { rule: rule.clone() },
        None => Decision::Deny {
            reason: DenyReason::NotAllowed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::normalize_name;

    fn policy(list: &[&str]) -> ClientPolicy {
        ClientPolicy::new(None, list.iter().map(|p| p.parse().unwrap()).collect())
    }

    fn decide_text(p: Option<&ClientPolicy>, name: &str) -> Decision {
        let n = normalize_name(name);
        decide(p, n.as_deref().map_err(|e| *e))
    }

    fn allowed(p: &ClientPolicy, name: &str) -> bool {
        matches!(decide_text(Some(p), name), Decision::Allow { .. })
    }

    #[test]
    fn exact_names_match_in_any_case_with_or_without_trailing_dot() {
        let p = policy(&["api.corp.test"]);
        assert!(allowed(&p, "api.corp.test"));
        assert!(allowed(&p, "API.Corp.TEST."));
        assert!(!allowed(&p, "x.api.corp.test"));
        assert!(!allowed(&p, "corp.test"));
    }

    #[test]
    fn wildcards_match_any_depth_below_but_not_the_apex() {
        let p = policy(&["*.svc.corp.test"]);
        assert!(allowed(&p, "a.svc.corp.test"));
        assert!(allowed(&p, "a.b.c.svc.corp.test"));
        assert!(!allowed(&p, "svc.corp.test"));
    }

    #[test]
    fn blocks_suffix_confusion() {
        let p = policy(&["*.svc.corp.test", "api.corp.test"]);
        assert!(!allowed(&p, "evilsvc.corp.test"));
        assert!(!allowed(&p, "svc.corp.test.evil.test"));
        assert!(!allowed(&p, "evilapi.corp.test"));
        assert!(!allowed(&p, "api.corp.test.evil.test"));
    }

    #[test]
    fn idna_names_match_their_a_label_pattern() {
        let p = policy(&["xn--bcher-kva.corp.test"]);
        assert!(allowed(&p, "bücher.corp.test"));
        assert!(allowed(&p, "BÜCHER.corp.test."));
    }

    #[test]
    fn unknown_clients_and_invalid_names_are_denied() {
        assert_eq!(
            decide_text(None, "api.corp.test"),
            Decision::Deny {
                reason: DenyReason::UnknownClient
            }
        );
        let p = policy(&["*.corp.test"]);
        assert_eq!(
            decide_text(Some(&p), "a b.corp.test"),
            Decision::Deny {
                reason: DenyReason::InvalidName(InvalidName::Character)
            }
        );
        assert_eq!(DenyReason::NotAllowed.code(), "not_allowed");
    }

    #[test]
    fn an_empty_allowlist_resolves_nothing() {
        let p = policy(&[]);
        assert_eq!(
            decide_text(Some(&p), "api.corp.test"),
            Decision::Deny {
                reason: DenyReason::NotAllowed
            }
        );
    }
}
