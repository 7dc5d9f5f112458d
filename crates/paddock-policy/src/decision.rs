//! Decisions as types: what an egress rule says about one HTTP request, with a reason that has a
//! stable code for audit events and for agents to act on. Deny entries always beat allow
//! entries. The full egress engine (SNI, CONNECT, ports) lives in paddock-egress; this is the
//! policy's own answer for a request that already reached an `inspect` rule.

use std::fmt;

use crate::net::{EgressRule, Method, TlsMode};
use crate::resolved::NetworkPolicy;

/// The answer for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The request may go out.
    Allow {
        /// The egress rule that allowed it.
        rule: String,
    },
    /// The request is refused.
    Deny {
        /// The egress rule involved, if any matched the host.
        rule: Option<String>,
        /// Why.
        reason: DenyReason,
    },
}

/// Why a request was refused. `code()` is stable: audit events and tests rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// Network mode `none`: nothing leaves the jail.
    NetworkNone,
    /// No egress rule names this host and port.
    NoRule,
    /// A `deny` entry matched (`index` into the rule's `deny` list).
    DeniedByRule {
        /// Position of the matching entry in `deny`.
        index: usize,
    },
    /// The rule has `allow` entries and none matched.
    NotAllowed,
}

impl DenyReason {
    /// A stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NetworkNone => "network_none",
            DenyReason::NoRule => "no_egress_rule",
            DenyReason::DeniedByRule { .. } => "denied_by_rule",
            DenyReason::NotAllowed => "not_in_allow_list",
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::NetworkNone => f.write_str("the session's network mode is none"),
            DenyReason::NoRule => f.write_str("no egress rule allows this host and port"),
            DenyReason::DeniedByRule { index } => write!(f, "deny entry {index} matches"),
            DenyReason::NotAllowed => f.write_str("no allow entry matches this method and path"),
        }
    }
}

impl EgressRule {
    /// Decides a request that reached this rule: deny entries first, then allow entries (none
    /// means every request not denied). A `passthrough` rule sees no requests and allows.
    pub fn decide_request(&self, method: Method, path: &str) -> Decision {
        let deny = |reason| Decision::Deny {
            rule: Some(self.name.clone()),
            reason,
        };
        if self.tls == TlsMode::Passthrough {
            return Decision::Allow {
                rule: self.name.clone(),
            };
        }
        if let Some(index) = self.deny.iter().position(|d| d.matches(method, path)) {
            return deny(DenyReason::DeniedByRule { index });
        }
        if self.allow.is_empty() || self.allow.iter().any(|a| a.matches(method, path)) {
            Decision::Allow {
                rule: self.name.clone(),
            }
        } else {
            deny(DenyReason::NotAllowed)
        }
    }
}

impl NetworkPolicy {
    /// Decides an HTTP request to `host:port` against every egress rule for that host and port:
    /// any denial wins over any allowance.
    pub fn decide_http(&self, host: &str, port: u16, method: Method, path: &str) -> Decision {
        if self.mode == crate::resolved::NetworkMode::None {
            return Decision::Deny {
                rule: None,
                reason: DenyReason::NetworkNone,
            };
        }
        let mut allowed = None;
        let mut refused = None;
        for rule in self
            .egress
            .iter()
            .filter(|r| r.host.matches(host) && r.ports.contains(&port))
        {
            match rule.decide_request(method, path) {
                d @ Decision::Deny { .. } => {
                    refused.get_or_insert(d);
                }
                a @ Decision::Allow { .. } => {
                    allowed.get_or_insert(a);
                }
            }
        }
        refused.or(allowed).unwrap_or(Decision::Deny {
            rule: None,
            reason: DenyReason::NoRule,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::HttpRule;
    use crate::resolved::system_default;

    fn rule(allow: &[Method], deny: &[Method]) -> EgressRule {
        EgressRule {
            name: "gh".into(),
            host: "api.github.com".parse().unwrap(),
            ports: [443].into(),
            tls: TlsMode::Inspect,
            allow: vec![HttpRule {
                methods: allow.iter().copied().collect(),
                path: "/**".parse().unwrap(),
            }],
            deny: vec![HttpRule {
                methods: deny.iter().copied().collect(),
                path: "/**".parse().unwrap(),
            }],
        }
    }

    #[test]
    fn deny_beats_allow_for_the_same_request() {
        let r = rule(&[Method::Get, Method::Post], &[Method::Post]);
        assert_eq!(
            r.decide_request(Method::Get, "/repos"),
            Decision::Allow { rule: "gh".into() }
        );
        assert_eq!(
            r.decide_request(Method::Post, "/repos"),
            Decision::Deny {
                rule: Some("gh".into()),
                reason: DenyReason::DeniedByRule { index: 0 }
            }
        );
    }

    #[test]
    fn blocks_post_when_only_get_is_allowed() {
        let r = rule(&[Method::Get], &[]);
        let d = r.decide_request(Method::Post, "/repos");
        assert_eq!(
            d,
            Decision::Deny {
                rule: Some("gh".into()),
                reason: DenyReason::NotAllowed
            }
        );
        assert_eq!(DenyReason::NotAllowed.code(), "not_in_allow_list");
    }

    #[test]
    fn blocks_hosts_without_a_rule_and_everything_in_mode_none() {
        let mut net = system_default().network;
        net.egress.push(rule(&[Method::Get], &[]));
        assert!(matches!(
            net.decide_http("api.github.com", 443, Method::Get, "/"),
            Decision::Allow { .. }
        ));
        let other = net.decide_http("evil.example", 443, Method::Get, "/");
        assert_eq!(
            other,
            Decision::Deny {
                rule: None,
                reason: DenyReason::NoRule
            }
        );
        let port = net.decide_http("api.github.com", 80, Method::Get, "/");
        assert_eq!(
            port,
            Decision::Deny {
                rule: None,
                reason: DenyReason::NoRule
            }
        );
        net.mode = crate::resolved::NetworkMode::None;
        let none = net.decide_http("api.github.com", 443, Method::Get, "/");
        assert_eq!(
            none,
            Decision::Deny {
                rule: None,
                reason: DenyReason::NetworkNone
            }
        );
    }

    #[test]
    fn a_denying_rule_wins_over_an_allowing_rule_for_the_same_host() {
        let mut net = system_default().network;
        let mut open = rule(&[Method::Post], &[]);
        open.name = "open".into();
        net.egress.push(open);
        net.egress.push(rule(&[Method::Get], &[Method::Post]));
        let d = net.decide_http("api.github.com", 443, Method::Post, "/x");
        assert!(matches!(
            d,
            Decision::Deny {
                reason: DenyReason::DeniedByRule { .. },
                ..
            }
        ));
    }
}
