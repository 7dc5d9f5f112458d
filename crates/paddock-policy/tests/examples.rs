//! Every policy under `examples/policies/` parses, validates and resolves, both as an admin
//! layer and as an owner layer below the admin one (restating it must be allowed).
// Helpers outside #[test] functions: a missing example should fail loudly.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use paddock_policy::{
    parse_layer, resolve, Authority, ByteSize, Layer, LayerKind, Method, NetworkMode, WarningKind,
};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(examples_dir().join(name)).unwrap()
}

#[test]
fn every_example_parses_validates_and_resolves() {
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse_layer(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        for w in &parsed.warnings {
            assert_ne!(w.kind, WarningKind::NetworkNoneIgnoresRules, "{w}");
        }
        let admin = Layer {
            kind: LayerKind::Role,
            authority: Authority::Admin,
            source: name.clone(),
            doc: parsed.doc.clone(),
        };
        let owner = Layer {
            kind: LayerKind::Session,
            authority: Authority::Owner,
            source: name.clone(),
            doc: parsed.doc,
        };
        let above = resolve(std::slice::from_ref(&admin)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            resolve(&[admin, owner]).unwrap_or_else(|e| panic!("{e}")),
            above,
            "{name}"
        );
        seen.push(name);
    }
    seen.sort();
    for required in [
        "ci-runner.yaml",
        "default.yaml",
        "github-read.yaml",
        "minimal.yaml",
        "offline.yaml",
    ] {
        assert!(
            seen.iter().any(|s| s == required),
            "missing example {required}"
        );
    }
}

#[test]
fn default_example_is_the_canonical_design_policy() {
    let doc = parse_layer("default.yaml", &read("default.yaml"))
        .unwrap()
        .doc;
    let layer = Layer {
        kind: LayerKind::System,
        authority: Authority::Admin,
        source: "default.yaml".into(),
        doc,
    };
    let p = resolve(&[layer]).unwrap();
    assert_eq!(p.resources.disk, Some(ByteSize(5 << 30)));
    assert_eq!(p.resources.cpus.map(|c| c.millis()), Some(1500));
    assert_eq!(p.network.mode, NetworkMode::Intranet);
    assert!(p.network.dns_allows("x.svc.corp.example"));
    let gh = &p.network.egress[0];
    assert!(matches!(
        gh.decide_request(Method::Get, "/repos/a/b"),
        paddock_policy::Decision::Allow { .. }
    ));
    assert!(matches!(
        gh.decide_request(Method::Post, "/repos/a/b"),
        paddock_policy::Decision::Deny { .. }
    ));
    assert_eq!(p.inference.tokens_per_day, Some(2_000_000));
}

#[test]
fn offline_example_blocks_all_egress() {
    let doc = parse_layer("offline.yaml", &read("offline.yaml"))
        .unwrap()
        .doc;
    let layer = Layer {
        kind: LayerKind::Session,
        authority: Authority::Owner,
        source: "offline.yaml".into(),
        doc,
    };
    let p = resolve(&[layer]).unwrap();
    assert_eq!(p.network.mode, NetworkMode::None);
    assert!(!p.network.dns_allows("api.github.com"));
}

#[test]
fn an_owner_may_not_turn_the_github_read_role_into_a_writer() {
    let role = parse_layer("github-read.yaml", &read("github-read.yaml"))
        .unwrap()
        .doc;
    let role = Layer {
        kind: LayerKind::Role,
        authority: Authority::Admin,
        source: "github-read.yaml".into(),
        doc: role,
    };
    let writer = "network:\n  egress:\n    - name: github-api-read\n      host: api.github.com\n      tls: inspect\n      allow: [{methods: [GET, POST], path: \"/repos/**\"}]\n      deny: [{methods: [PUT, PATCH, DELETE], path: \"/**\"}]\n";
    let doc = parse_layer("session request", writer).unwrap().doc;
    let session = Layer {
        kind: LayerKind::Session,
        authority: Authority::Owner,
        source: "session request".into(),
        doc,
    };
    let err = resolve(&[role, session]).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "session request:6:15: network.egress[0].allow[0]: GET,POST /repos/** is wider than"
        ),
        "{err}"
    );
}
