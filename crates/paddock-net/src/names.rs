//! Names of the kernel objects Paddock owns. Every one carries a `pdk`/`paddock` prefix so that
//! reconciliation finds them and never mistakes a host object for one of its own (STYLE rule 14).

use std::fmt;

use crate::error::{NetError, Result};

/// The prefix of every veth Paddock creates: `pdk<id>h` on the host, `pdk<id>j` in the jail.
pub const VETH_PREFIX: &str = "pdk";

/// The default nftables table (family `inet`).
pub const DEFAULT_TABLE: &str = "paddock";

/// A jail's id as it appears in kernel object names: 1 to 11 characters of `a-z0-9`, so that
/// `pdk<id>h` fits the kernel's 15-byte interface names and needs no quoting anywhere.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JailId(String);

impl JailId {
    /// Validates `id`.
    pub fn new(id: &str) -> Result<Self> {
        let ok = (1..=11).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(NetError::InvalidJailId { id: id.to_string() });
        }
        Ok(Self(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host side of the jail's veth: `pdk<id>h`.
    pub fn host_veth(&self) -> String {
        format!("{VETH_PREFIX}{}h", self.0)
    }

    /// The jail side of the jail's veth: `pdk<id>j` (named so inside the jail's namespace).
    pub fn jail_veth(&self) -> String {
        format!("{VETH_PREFIX}{}j", self.0)
    }

    /// The jail's id from a host-side veth name, for reconciliation: `pdk42h` → `42`.
    pub fn from_host_veth(name: &str) -> Option<Self> {
        let id = name.strip_prefix(VETH_PREFIX)?.strip_suffix('h')?;
        Self::new(id).ok()
    }
}

impl fmt::Display for JailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of an nftables table Paddock owns: starts with `paddock`, then `a-z0-9_`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TableName(String);

impl TableName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self> {
        let ok = name.starts_with(DEFAULT_TABLE)
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(NetError::InvalidTableName {
                name: name.to_string(),
            });
        }
        Ok(Self(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TableName {
    fn default() -> Self {
        Self(DEFAULT_TABLE.to_string())
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a Linux interface name (for uplinks named by the operator).
pub fn check_ifname(name: &str) -> Result<()> {
    let ok = (1..=15).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/:*\"'\\".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidIfName {
            name: name.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jail_ids_name_veths_that_fit_ifnamsiz() {
        let id = JailId::new("abcdefghij1").unwrap();
        assert_eq!(id.host_veth(), "pdkabcdefghij1h");
        assert_eq!(id.host_veth().len(), 15);
        assert_eq!(id.jail_veth(), "pdkabcdefghij1j");
        assert_eq!(JailId::from_host_veth("pdkabcdefghij1h"), Some(id));
    }

    #[test]
    fn rejects_ids_that_could_escape_a_name() {
        for bad in ["", "abcdefghijkl", "A", "a-b", "a*", "a b", "../x", "a\"b"] {
            assert!(JailId::new(bad).is_err(), "{bad:?}");
        }
        assert_eq!(JailId::from_host_veth("eth0"), None);
        assert_eq!(JailId::from_host_veth("pdk1j"), None);
    }

    #[test]
    fn table_names_carry_the_paddock_prefix() {
        assert!(TableName::new("paddock").is_ok());
        assert!(TableName::new("paddock_test_42").is_ok());
        for bad in [
            "filter",
            "nat",
            "paddoc",
            "paddock-x",
            "Paddock",
            "paddock x",
        ] {
            assert!(TableName::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ifnames_are_checked() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("enp0s31f6.100").is_ok());
        for bad in ["", "sixteen_chars_xx", "a/b", "a*", "a b", "a\"b"] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
    }
}
