//! Where each key of a policy sits in its source text. serde gives locations only for its own
//! errors; checks that run after parsing (validation, layering) need the line and column of a key
//! path such as `network.egress[0].host`. This module walks the YAML parser's events once and
//! records, for every mapping key and sequence item, its path and position.
//!
//! The walk is bounded: it runs on text that already passed the size cap, records nothing deeper
//! than the schema can be, truncates long keys and stops recording past a byte budget, so a
//! hostile document cannot make the index large. Aliases are not expanded: a key reached only
//! through an alias is found at the alias (lookups fall back to the nearest recorded ancestor).

use std::collections::BTreeMap;

use serde_saphyr::granit_parser::{Event, Parser};

use crate::error::Position;

/// Deeper than any key path of the schema; deeper frames are walked but not recorded.
const MAX_RECORDED_DEPTH: usize = 16;
/// Keys longer than this are cut (no schema key is).
const MAX_KEY_CHARS: usize = 64;
/// Total bytes of recorded paths.
const MAX_INDEX_BYTES: usize = 4 << 20;

/// Key paths of one document and their positions, in document order.
///
/// Positions never take part in equality: two documents with the same settings are equal
/// wherever their keys sit, so `PolicyDoc == PolicyDoc` compares what the policy says.
#[derive(Clone, Debug, Default)]
pub struct Positions {
    by_key: BTreeMap<String, Position>,
    in_order: Vec<(Position, String)>,
}

impl PartialEq for Positions {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Positions {}

impl Positions {
    /// The position of `key`, or of its nearest recorded ancestor (`a.b[2].c` → `a.b[2]` → `a.b`
    /// → `a`). `None` for documents built in code.
    pub fn get(&self, key: &str) -> Option<Position> {
        let mut k = key;
        loop {
            if let Some(p) = self.by_key.get(k) {
                return Some(*p);
            }
            let cut = k.rfind(['.', '['])?;
            k = &k[..cut];
        }
    }

    /// The deepest key path that starts at or before `pos`: the key a parser error points into.
    pub(crate) fn key_at(&self, pos: Position) -> Option<&str> {
        let i = self.in_order.partition_point(|(p, _)| *p <= pos);
        i.checked_sub(1).map(|i| self.in_order[i].1.as_str())
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.in_order.is_empty()
    }

    /// Walks `text` and records key positions up to `until` (inclusive), or all when `None`.
    /// Stops quietly at the first syntax error: positions are a help for messages, not a parser.
    pub(crate) fn index(text: &str, until: Option<Position>) -> Positions {
        let mut out = Positions::default();
        let mut bytes = 0usize;
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let pos = Position {
                line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
                column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
            };
            if until.is_some_and(|u| pos > u) {
                break;
            }
            let node = match &event {
                Event::Scalar(value, ..) => Node::Scalar(value),
                Event::Alias(_) | Event::UnresolvedAlias(_) => Node::Scalar(""),
                Event::MappingStart(..) => Node::Open(true),
                Event::SequenceStart(..) => Node::Open(false),
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    continue;
                }
                _ => continue,
            };
            let (path, record) = match stack.last_mut() {
                None => (Some(String::new()), true),
                Some(Frame::Ignored) => (None, false),
                Some(Frame::Seq { path, next }) => {
                    let p = format!("{path}[{next}]");
                    *next += 1;
                    (Some(p), true)
                }
                Some(Frame::Map { path, key }) => match key.take() {
                    Some(k) => (Some(join(path, &k)), k == "?"),
                    None => {
                        // This node is a key: scalar keys name the value that follows.
                        let k = match node {
                            Node::Scalar(s) => truncate(s),
                            Node::Open(_) => "?".to_owned(),
                        };
                        let p = join(path, &k);
                        *key = Some(k);
                        if matches!(node, Node::Scalar(_)) {
                            (Some(p), true)
                        } else {
                            (None, false)
                        }
                    }
                },
            };
            let recordable = stack.len() < MAX_RECORDED_DEPTH && bytes < MAX_INDEX_BYTES;
            if let (Some(p), true, true) = (&path, record, recordable) {
                bytes += p.len();
                out.by_key.entry(p.clone()).or_insert(pos);
                out.in_order.push((pos, p.clone()));
            }
            if let Node::Open(is_map) = node {
                stack.push(match (path, is_map) {
                    (Some(path), true) if stack.len() < MAX_RECORDED_DEPTH => {
                        Frame::Map { path, key: None }
                    }
                    (Some(path), false) if stack.len() < MAX_RECORDED_DEPTH => {
                        Frame::Seq { path, next: 0 }
                    }
                    _ => Frame::Ignored,
                });
            }
        }
        out
    }
}

enum Node<'a> {
    Scalar(&'a str),
    Open(bool),
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
    Ignored,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn truncate(key: &str) -> String {
    if key.chars().count() <= MAX_KEY_CHARS {
        key.to_owned()
    } else {
        let mut k: String = key.chars().take(MAX_KEY_CHARS).collect();
        k.push('…');
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, column: u32) -> Option<Position> {
        Some(Position { line, column })
    }

    #[test]
    fn records_keys_and_items_with_one_based_positions() {
        let text = "version: 1\nfilesystem:\n  read_write:\n    - /work\n    - /data\nnetwork: {mode: none}\n";
        let p = Positions::index(text, None);
        assert_eq!(p.get("version"), pos(1, 1));
        assert_eq!(p.get("filesystem.read_write"), pos(3, 3));
        assert_eq!(p.get("filesystem.read_write[1]"), pos(5, 7));
        assert_eq!(p.get("network.mode"), pos(6, 11));
        assert_eq!(
            p.get("filesystem.read_write[7]"),
            pos(3, 3),
            "falls back to the parent"
        );
        assert_eq!(
            p.key_at(Position { line: 5, column: 9 }),
            Some("filesystem.read_write[1]")
        );
    }

    #[test]
    fn complex_keys_and_aliases_do_not_confuse_paths() {
        let text = "a: &x {b: 1}\n? [k]\n: v\nc: *x\nd:\n  e: 2\n";
        let p = Positions::index(text, None);
        assert_eq!(p.get("a.b"), pos(1, 8));
        assert_eq!(p.get("c"), pos(4, 1));
        assert_eq!(p.get("d.e"), pos(6, 3));
    }

    #[test]
    fn deep_documents_are_walked_without_recording_beyond_the_schema() {
        let text = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let p = Positions::index(&text, None);
        assert!(p.in_order.len() <= MAX_RECORDED_DEPTH + 1);
    }
}
