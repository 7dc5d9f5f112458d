use std::time::{Duration, Instant};

use super::*;
use crate::error::{Problem, WarningKind};
use crate::resolved::{ByteSize, NetworkMode};

fn err(text: &str) -> PolicyError {
    parse_layer("policy.yaml", text).unwrap_err()
}

fn at(e: &PolicyError) -> &Origin {
    match e {
        PolicyError::Parse { at, .. } | PolicyError::Validate { at, .. } => at,
        other => panic!("no origin in {other:?}"),
    }
}

fn pos(line: u32, column: u32) -> Option<Position> {
    Some(Position { line, column })
}

/// Asserts that parsing is refused quickly; the bound is generous for slow CI machines.
fn refused_fast(text: &str) -> PolicyError {
    let start = Instant::now();
    let e = parse_layer("bomb.yaml", text).unwrap_err();
    let took = start.elapsed();
    assert!(took < Duration::from_millis(500), "took {took:?}");
    e
}

#[test]
fn empty_and_comment_only_documents_inherit_everything() {
    for text in ["", "\n", "# nothing here\n", "---\n"] {
        let parsed = parse_layer("empty.yaml", text).unwrap();
        assert_eq!(parsed.doc, PolicyDoc::default());
    }
    let parsed = parse_layer("x.yaml", "filesystem:\nnetwork:\n").unwrap();
    assert_eq!(parsed.doc.network, Default::default());
}

#[test]
fn sections_parse_into_typed_values() {
    let text = "version: 1\nresources:\n  memory: 512M\n  pids: 64\n  cpus: 1.5\n  disk: 1073741824\nnetwork:\n  mode: none\n";
    let doc = parse_layer("p.yaml", text).unwrap().doc;
    assert_eq!(doc.resources.memory, Some(ByteSize(512 << 20)));
    assert_eq!(doc.resources.cpus.map(|c| c.millis()), Some(1500));
    assert_eq!(doc.resources.disk, Some(ByteSize(1 << 30)));
    assert_eq!(doc.network.mode, Some(NetworkMode::None));
}

#[test]
fn blocks_billion_laughs() {
    let mut text = String::from("a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        let items = [prev.as_str(); 10].join(",");
        text.push_str(&format!("a{i}: &a{i} [{items}]\n"));
    }
    let e = refused_fast(&text);
    assert!(matches!(e, PolicyError::Parse { .. }), "{e}");
}

#[test]
fn blocks_alias_amplification_through_valid_fields() {
    // Every alias lands where the schema accepts it, so only the replay budget stops it:
    // 2,000 rules × 1,000 allow entries would be two million entries.
    let entries = ["{path: /a}"; 1000].join(", ");
    let mut text = format!(
        "network:\n  egress:\n    - &r {{name: a, host: a.example, tls: inspect, allow: [{entries}]}}\n"
    );
    for _ in 0..2000 {
        text.push_str("    - *r\n");
    }
    let e = refused_fast(&text);
    assert!(e.to_string().contains("too complex"), "{e}");
}

#[test]
fn blocks_deep_nesting_flow() {
    let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    refused_fast(&text);
}

#[test]
fn blocks_deep_nesting_block() {
    let mut text = String::new();
    for depth in 0..10_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("a:\n");
    }
    refused_fast(&text);
}

#[test]
fn blocks_deep_nesting_of_maps_in_flow() {
    let text = format!("{}1{}", "{a: ".repeat(10_000), "}".repeat(10_000));
    refused_fast(&text);
}

#[test]
fn blocks_oversized_input_before_parsing() {
    let text = format!("# {}\n", "x".repeat(MAX_POLICY_BYTES));
    let e = refused_fast(&text);
    assert!(matches!(
        e,
        PolicyError::ParseTooLarge {
            limit: MAX_POLICY_BYTES,
            ..
        }
    ));
}

#[test]
fn blocks_many_documents() {
    let e = err("network: {mode: none}\n---\nnetwork: {mode: internet}\n");
    assert!(matches!(e, PolicyError::Parse { .. }));
}

#[test]
fn duplicate_keys_are_errors() {
    let e = err("resources:\n  memory: 1G\n  memory: 8G\n");
    assert!(matches!(e, PolicyError::Parse { .. }), "{e}");
    assert_eq!(at(&e).position.map(|p| p.line), Some(3), "{e}");
    assert!(at(&e).key.starts_with("resources.memory"), "{e}");
}

#[test]
fn unknown_keys_name_their_path_and_position() {
    let e = err("filesystem:\n  read_only: []\n  readwrite: [/srv]\n");
    let o = at(&e);
    assert_eq!(o.position, pos(3, 3), "{e}");
    assert_eq!(o.key, "filesystem.readwrite", "{e}");
    assert!(
        e.to_string()
            .starts_with("policy.yaml:3:3: filesystem.readwrite: "),
        "{e}"
    );
}

#[test]
fn bad_values_name_their_path_and_position() {
    let e = err("version: 1\nfilesystem:\n  read_write:\n    - ../etc\n");
    assert_eq!(at(&e).key, "filesystem.read_write[0]", "{e}");
    assert_eq!(at(&e).position.map(|p| p.line), Some(4), "{e}");
    assert!(e.to_string().contains("absolute"), "{e}");

    let e = err("network:\n  mode: everything\n");
    assert_eq!(at(&e).key, "network.mode", "{e}");
    let e = err("resources:\n  memory: 1.5G\n");
    assert_eq!(at(&e).key, "resources.memory", "{e}");
    let e = err("network:\n  egress:\n    - name: x\n      host: \"*\"\n");
    assert_eq!(at(&e).key, "network.egress[0].host", "{e}");
    assert!(e.to_string().contains("bare *"), "{e}");
}

#[test]
fn yaml_1_1_booleans_and_custom_tags_are_refused() {
    assert!(matches!(
        err("version: !evil 1\n"),
        PolicyError::Parse { .. }
    ));
}

#[test]
fn blocks_writable_root_with_line_and_column() {
    let text = "version: 1\nfilesystem:\n  read_only: [/opt]\n\n\n\n  read_write:\n    - /\n";
    let e = err(text);
    assert_eq!(
        e,
        PolicyError::Validate {
            at: Origin {
                source: "policy.yaml".into(),
                position: pos(8, 7),
                key: "filesystem.read_write[0]".into()
            },
            problem: Problem::RootWritable,
        }
    );
    assert!(
        e.to_string()
            .starts_with("policy.yaml:8:7: filesystem.read_write[0]: \"/\" may not be writable"),
        "{e}"
    );
}

#[test]
fn unknown_version_is_refused() {
    let e = err("version: 2\n");
    assert!(
        matches!(
            e,
            PolicyError::Validate {
                problem: Problem::UnsupportedVersion(2),
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn network_without_dns_allow_warns() {
    let parsed = parse_layer("p.yaml", "network:\n  mode: internet\n").unwrap();
    assert_eq!(parsed.warnings.len(), 1);
    let w = &parsed.warnings[0];
    assert_eq!(w.kind, WarningKind::NoDnsAllow);
    assert_eq!(w.at.position, pos(2, 3));
    assert!(
        w.to_string()
            .starts_with("p.yaml:2:3: network.mode: warning: "),
        "{w}"
    );
    let quiet = parse_layer(
        "p.yaml",
        "network:\n  mode: intranet\n  dns: {allow: [git.corp.example]}\n",
    )
    .unwrap();
    assert!(quiet.warnings.is_empty());
}

#[test]
fn control_characters_in_messages_are_escaped() {
    let e = err("network:\n  mode: \"a\\u001b[31mred\"\n");
    assert!(!e.to_string().contains('\u{1b}'), "{e:?}");
}
