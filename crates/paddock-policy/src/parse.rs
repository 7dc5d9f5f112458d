//! Text to `PolicyDoc`, bounded. Policies come from users, so parsing is an attack surface: the
//! text is capped at [`MAX_POLICY_BYTES`] before the parser sees it, and serde-saphyr's budget
//! refuses deep nesting, alias bombs ("billion laughs"), many documents and huge scalars while
//! streaming, before memory grows. Duplicate keys, unknown keys, YAML 1.1 booleans (`yes`) and
//! unknown tags are errors. Then `validate.rs` checks the rules that span fields.

use std::borrow::Cow;

use serde_saphyr::options::{AliasLimits, DuplicateKeyPolicy};
use serde_saphyr::{Budget, MessageFormatter, Options, UserMessageFormatter};

use crate::error::{Origin, PolicyError, Position, Warning};
use crate::positions::Positions;
use crate::schema::PolicyDoc;

/// Largest policy text accepted, in bytes.
pub const MAX_POLICY_BYTES: usize = 1 << 20;

/// Deepest nesting accepted; the schema itself is 5 levels deep.
const MAX_DEPTH: usize = 24;

/// A parsed, validated layer and what looked suspicious in it.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The layer.
    pub doc: PolicyDoc,
    /// Valid but probably unintended settings.
    pub warnings: Vec<Warning>,
}

/// Parses and validates one layer. `source` names the text in errors (a file name or a label);
/// no file is read here.
pub fn parse_layer(source: &str, text: &str) -> Result<Parsed, PolicyError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::ParseTooLarge {
            file: source.to_owned(),
            bytes: text.len(),
            limit: MAX_POLICY_BYTES,
        });
    }
    let mut doc: PolicyDoc = if is_blank(text) {
        PolicyDoc::default()
    } else {
        serde_saphyr::from_str_with_options(text, options())
            .map_err(|e| parse_error(source, text, &e))?
    };
    doc.positions = Positions::index(text, None);
    let warnings = crate::validate::validate_doc(source, &doc)?;
    Ok(Parsed { doc, warnings })
}

/// A document with nothing but comments and blank lines is an empty layer: it inherits all.
fn is_blank(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

/// The parser's limits: generous for any real policy, small enough that a hostile one fails
/// in milliseconds.
fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_reader_input_bytes = Some(MAX_POLICY_BYTES);
    budget.max_depth = MAX_DEPTH;
    budget.flow_nesting_limit = MAX_DEPTH;
    budget.max_documents = 1;
    budget.max_events = 200_000;
    budget.max_nodes = 100_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_recorded_anchor_bytes = MAX_POLICY_BYTES;
    budget.max_total_scalar_bytes = 2 * MAX_POLICY_BYTES;
    budget.max_merge_keys = 100;
    budget.max_inclusion_depth = 0;

    let mut alias_limits = AliasLimits::default();
    alias_limits.max_total_replayed_events = 10_000;
    alias_limits.max_replay_stack_depth = 16;
    alias_limits.max_alias_expansions_per_anchor = 1_000;

    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits = alias_limits;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.reject_unsupported_tags = true;
    options.emit_comments = false;
    options
}

fn parse_error(source: &str, text: &str, err: &serde_saphyr::Error) -> PolicyError {
    let mut inner = err;
    while let serde_saphyr::Error::WithSnippet { error, .. }
    | serde_saphyr::Error::AliasError { error, .. } = inner
    {
        inner = error;
    }
    let position = err
        .location()
        .or_else(|| inner.location())
        .filter(|l| l.line() > 0)
        .map(|l| Position {
            line: u32::try_from(l.line()).unwrap_or(u32::MAX),
            column: u32::try_from(l.column()).unwrap_or(u32::MAX),
        });
    // Index only up to the error: the rest may be what the budget refused.
    let key = position
        .and_then(|p| Positions::index(text, Some(p)).key_at(p).map(str::to_owned))
        .unwrap_or_default();
    let message = sanitize(UserMessageFormatter.format_message(inner));
    PolicyError::Parse {
        at: Origin {
            source: source.to_owned(),
            position,
            key,
        },
        message,
    }
}

/// Messages may quote the user's text; keep control characters out of terminals and logs.
fn sanitize(msg: Cow<'_, str>) -> String {
    msg.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
