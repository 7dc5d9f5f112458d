//! Query name normalisation: the one form policy patterns are compared against.
//!
//! A name is lowercased, loses its trailing dot, and every non-ASCII label becomes its IDNA
//! (UTS #46) A-label, so `Bücher.Corp.Test.` and `xn--bcher-kva.corp.test` are the same name.
//! Anything that is not then a plain host name (letters, digits, `-`, `_`; labels of 1 to 63
//! bytes; at most 253 bytes) is refused: such a name can never match a pattern, and refusing it
//! here means no odd byte sequence reaches the matcher or the upstream resolver.

use std::fmt;

use idna::AsciiDenyList;

/// Why a query name has no normalised form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidName {
    /// The root name, or an empty label (`a..b`).
    Empty,
    /// A wire label holds a `.` byte or bytes that are not UTF-8.
    RawBytes,
    /// IDNA processing refused a label (bad punycode, disallowed code point).
    Idna,
    /// A character other than a letter, digit, `-` or `_`.
    Character,
    /// A label longer than 63 bytes or a name longer than 253 bytes.
    Length,
}

impl InvalidName {
    /// A stable code for audit events.
    pub fn code(self) -> &'static str {
        match self {
            InvalidName::Empty => "empty",
            InvalidName::RawBytes => "raw_bytes",
            InvalidName::Idna => "idna",
            InvalidName::Character => "character",
            InvalidName::Length => "length",
        }
    }
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidName::Empty => "the name is empty or has an empty label",
            InvalidName::RawBytes => "a label holds a dot or bytes that are not UTF-8",
            InvalidName::Idna => "IDNA processing refused the name",
            InvalidName::Character => "the name holds a character other than a-z, 0-9, - and _",
            InvalidName::Length => "a label exceeds 63 bytes or the name exceeds 253 bytes",
        })
    }
}

impl std::error::Error for InvalidName {}

/// Normalises a name written as text (`Bücher.corp.test.`): lowercase, no trailing dot,
/// A-labels. Used for policy entries and tests; queries go through the same rules label by label.
pub fn normalize_name(name: &str) -> Result<String, InvalidName> {
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(InvalidName::Empty);
    }
    normalize_labels(trimmed.split('.').map(str::as_bytes))
}

/// Normalises a name given as wire labels (without the root label).
pub(crate) fn normalize_labels<'a>(
    labels: impl Iterator<Item = &'a [u8]>,
) -> Result<String, InvalidName> {
    let mut joined = String::new();
    for (i, label) in labels.enumerate() {
        if label.is_empty() {
            return Err(InvalidName::Empty);
        }
        // A dot inside one wire label would silently change the label structure when joined.
        if label.contains(&b'.') {
            return Err(InvalidName::RawBytes);
        }
        let text = std::str::from_utf8(label).map_err(|_| InvalidName::RawBytes)?;
        if i > 0 {
            joined.push('.');
        }
        joined.push_str(text);
    }
    if joined.is_empty() {
        return Err(InvalidName::Empty);
    }
    // The ASCII deny list is empty so `_` (SRV, ACME names) survives; our own character check
    // below is the strict one.
    let ascii = idna::domain_to_ascii_cow(joined.as_bytes(), AsciiDenyList::EMPTY)
        .map_err(|_| InvalidName::Idna)?
        .to_ascii_lowercase();
    check_host_name(&ascii)?;
    Ok(ascii)
}

fn check_host_name(name: &str) -> Result<(), InvalidName> {
    if name.len() > 253 {
        return Err(InvalidName::Length);
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(InvalidName::Empty);
        }
        if label.len() > 63 {
            return Err(InvalidName::Length);
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(InvalidName::Character);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_drops_the_trailing_dot() {
        assert_eq!(
            normalize_name("API.Corp.Test.").as_deref(),
            Ok("api.corp.test")
        );
        assert_eq!(
            normalize_name("api.corp.test").as_deref(),
            Ok("api.corp.test")
        );
    }

    #[test]
    fn u_labels_become_a_labels() {
        assert_eq!(
            normalize_name("Bücher.corp.test").as_deref(),
            Ok("xn--bcher-kva.corp.test")
        );
        assert_eq!(
            normalize_name("XN--BCHER-KVA.corp.test").as_deref(),
            Ok("xn--bcher-kva.corp.test")
        );
    }

    #[test]
    fn keeps_underscores_for_service_names() {
        assert_eq!(
            normalize_name("_http._tcp.corp.test").as_deref(),
            Ok("_http._tcp.corp.test")
        );
    }

    #[test]
    fn refuses_what_no_pattern_can_match() {
        assert_eq!(normalize_name("."), Err(InvalidName::Empty));
        assert_eq!(normalize_name(""), Err(InvalidName::Empty));
        assert_eq!(normalize_name("a..corp.test"), Err(InvalidName::Empty));
        assert_eq!(normalize_name("*.corp.test"), Err(InvalidName::Character));
        assert_eq!(normalize_name("a b.corp.test"), Err(InvalidName::Character));
        assert_eq!(normalize_name("xn--zz.corp.test"), Err(InvalidName::Idna));
        let long = format!("{}.test", "a".repeat(64));
        assert_eq!(normalize_name(&long), Err(InvalidName::Length));
    }

    #[test]
    fn blocks_a_dot_smuggled_inside_one_wire_label() {
        let labels: [&[u8]; 2] = [b"evil.corp", b"test"];
        assert_eq!(
            normalize_labels(labels.into_iter()),
            Err(InvalidName::RawBytes)
        );
        let labels: [&[u8]; 2] = [b"\xff\xfe", b"test"];
        assert_eq!(
            normalize_labels(labels.into_iter()),
            Err(InvalidName::RawBytes)
        );
    }
}
