use crate::error::{PolicyError, Position, Problem};
use crate::parse::parse_layer;

/// The refusal for `text`: key path, position and problem (panics on parser errors).
fn refusal(text: &str) -> (String, Option<Position>, Problem) {
    match parse_layer("p.yaml", text) {
        Err(PolicyError::Validate { at, problem }) => (at.key, at.position, problem),
        other => panic!("expected a validation error for {text:?}, got {other:?}"),
    }
}

/// The key path a parser error (bad value) points at.
fn parse_refusal(text: &str) -> String {
    match parse_layer("p.yaml", text) {
        Err(PolicyError::Parse { at, .. }) => at.key,
        other => panic!("expected a parse error for {text:?}, got {other:?}"),
    }
}

fn pos(line: u32, column: u32) -> Option<Position> {
    Some(Position { line, column })
}

#[test]
fn blocks_a_path_both_read_only_and_writable() {
    let (key, at, problem) =
        refusal("filesystem:\n  read_only: [/srv]\n  read_write: [/work, /srv]\n");
    assert_eq!(key, "filesystem.read_write[1]");
    assert_eq!(at, pos(3, 23));
    assert_eq!(problem.code(), "read_only_and_read_write");
}

#[test]
fn blocks_binds_that_reexpose_hidden_paths() {
    let (key, _, problem) =
        refusal("filesystem:\n  read_only: [/etc/paddock/keys]\n  hidden: [/etc/paddock]\n");
    assert_eq!(key, "filesystem.hidden[0]");
    assert_eq!(problem.code(), "hidden_but_bound");
    // Hiding something below a bind is fine: that is how a bind masks a secret subdirectory.
    assert!(parse_layer(
        "p.yaml",
        "filesystem:\n  read_only: [/opt]\n  hidden: [/opt/secret]\n"
    )
    .is_ok());
}

#[test]
fn blocks_root_slash_and_traversal_paths() {
    assert_eq!(
        refusal("filesystem: {root: /}\n").2,
        Problem::RootIsHostSlash
    );
    for bad in ["relative", "/a/../b", "/a/./b", "/a//b", "/a/"] {
        assert_eq!(
            parse_refusal(&format!("filesystem:\n  read_only: [\"{bad}\"]\n")),
            "filesystem.read_only[0]"
        );
    }
}

#[test]
fn blocks_zero_limits() {
    for (text, key) in [
        ("resources: {memory: 0}", "resources.memory"),
        ("resources: {pids: 0}", "resources.pids"),
        ("resources: {cpus: 0}", "resources.cpus"),
        ("resources: {disk: 0K}", "resources.disk"),
        ("filesystem: {tmp_size: 0}", "filesystem.tmp_size"),
        (
            "inference: {max_concurrency: 0}",
            "inference.max_concurrency",
        ),
        ("inference: {tokens_per_day: 0}", "inference.tokens_per_day"),
        (
            "network: {egress: [{name: a, host: a.example, ports: [0]}]}",
            "network.egress[0].ports",
        ),
    ] {
        let (k, _, problem) = refusal(text);
        assert_eq!((k.as_str(), problem), (key, Problem::Zero), "{text}");
    }
}

#[test]
fn blocks_wildcard_and_public_suffix_egress_hosts() {
    for host in [
        "\"*\"",
        "\"*.\"",
        "com",
        "\"*.com\"",
        "co.uk",
        "\"*.co.uk\"",
        "\"*.github.io\"",
        "10.0.0.1",
    ] {
        let text = format!("network:\n  egress:\n    - name: r\n      host: {host}\n");
        assert_eq!(parse_refusal(&text), "network.egress[0].host", "{host}");
    }
}

#[test]
fn blocks_dns_patterns_other_than_names_and_suffixes() {
    for pat in [
        "\"*\"",
        "\"foo*.example\"",
        "\"*.*.example\"",
        "\"a.*.example\"",
        "\"*.org\"",
        "\"exa mple.org\"",
    ] {
        let text = format!("network:\n  dns:\n    allow: [ok.example, {pat}]\n");
        assert_eq!(parse_refusal(&text), "network.dns.allow[1]", "{pat}");
    }
}

#[test]
fn blocks_an_allow_entry_that_a_deny_entry_makes_unmatchable() {
    let text = "network:\n  egress:\n    - name: gh\n      host: api.github.com\n      tls: inspect\n      allow:\n        - {methods: [GET], path: \"/repos/**\"}\n        - {methods: [POST], path: /repos/x/issues}\n      deny:\n        - {methods: [POST, PUT], path: \"/repos/**\"}\n";
    let (key, at, problem) = refusal(text);
    assert_eq!(key, "network.egress[0].allow[1]");
    assert_eq!(at, pos(8, 11));
    assert_eq!(problem, Problem::UnmatchableAllow { deny: 0 });
    // A deny that only partly overlaps leaves the allow entry meaningful.
    let partial = text.replace("[POST, PUT]", "[PUT]");
    assert!(parse_layer("p.yaml", &partial).is_ok());
}

#[test]
fn blocks_method_rules_on_passthrough() {
    let text = "network:\n  egress:\n    - name: gh\n      host: api.github.com\n      allow: [{methods: [GET]}]\n";
    assert_eq!(refusal(text).2, Problem::RulesNeedInspect);
    let empty = "network:\n  egress:\n    - {name: gh, host: api.github.com, tls: inspect, deny: [{methods: []}]}\n";
    assert_eq!(
        refusal(empty),
        (
            "network.egress[0].deny[0].methods".into(),
            pos(3, 62),
            Problem::Empty
        )
    );
}

#[test]
fn blocks_duplicate_names() {
    let text =
        "network:\n  egress:\n    - {name: a, host: a.example}\n    - {name: a, host: b.example}\n";
    assert_eq!(refusal(text).0, "network.egress[1]");
    let text = "inference:\n  models: [m, m]\n";
    assert_eq!(refusal(text).2, Problem::Duplicate("m".into()));
}

#[test]
fn blocks_private_ranges_over_loopback_and_metadata() {
    for r in [
        "127.0.0.0/8",
        "169.254.169.254/32",
        "0.0.0.0/0",
        "::ffff:0:0/96",
        "::/0",
        "fe80::/64",
    ] {
        let (key, _, problem) = refusal(&format!(
            "network:\n  private_ranges: [10.0.0.0/8, \"{r}\"]\n"
        ));
        assert_eq!(
            (key.as_str(), problem.code()),
            ("network.private_ranges[1]", "reserved_range"),
            "{r}"
        );
    }
    assert!(parse_layer(
        "p.yaml",
        "network: {private_ranges: [100.64.0.0/10, \"fd00::/8\"], dns: {allow: [a.corp]}}\n"
    )
    .is_ok());
}

#[test]
fn blocks_credentials_in_loader_and_jail_variables() {
    for env in ["LD_PRELOAD", "PATH", "PADDOCK_TOKEN", "1TOKEN", "A-B"] {
        let text = format!(
            "network:\n  credentials:\n    - {{env: {env}, secret: s, hosts: [api.github.com]}}\n"
        );
        assert_eq!(refusal(&text).2, Problem::BadEnv(env.into()), "{env}");
    }
    let text = "network:\n  credentials:\n    - {env: TOKEN, secret: s, hosts: []}\n";
    assert_eq!(refusal(text).2, Problem::Empty);
}

#[test]
fn mode_none_with_rules_warns() {
    let parsed = parse_layer(
        "p.yaml",
        "network:\n  mode: none\n  egress: [{name: a, host: a.example}]\n",
    )
    .unwrap();
    assert_eq!(parsed.warnings[0].kind.code(), "network_none_ignores_rules");
}

#[test]
fn blocks_overlapping_egress_rules() {
    let text = "network:\n  egress:\n    - {name: all, host: \"*.github.com\"}\n    - {name: api, host: api.github.com, ports: [443, 80]}\n";
    assert_eq!(
        refusal(text),
        (
            "network.egress[1].host".into(),
            pos(4, 19),
            Problem::OverlappingRules { other: 0 }
        )
    );
    let split = text.replace("[443, 80]", "[80]");
    assert!(parse_layer("p.yaml", &split).is_ok());
}
