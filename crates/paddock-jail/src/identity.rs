//! Who a jail runs as. The uid always comes from the caller (an account), never from a
//! policy; uid 0 and gid 0 are refused.
//!
//! Accounts are looked up in `/etc/passwd` and `/etc/group` first, and through NSS only when
//! the files do not have them: NSS loads shared libraries (systemd, LDAP modules) on every
//! call, which costs more than a whole jail start is allowed to.

use std::path::Path;

use nix::unistd::{Gid, Uid, User};

use crate::files;

use crate::error::JailError;

/// The identity a jail runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// User id (never 0).
    pub uid: u32,
    /// Primary group id (never 0).
    pub gid: u32,
    /// Supplementary groups (0 filtered out).
    pub groups: Vec<u32>,
    /// Account name when the uid has one.
    pub name: Option<String>,
}

impl Identity {
    /// Builds an identity from numbers, refusing root.
    pub fn new(
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
        name: Option<String>,
    ) -> Result<Self, JailError> {
        // Threat: a jail whose processes are root on the host's user namespace.
        if uid == 0 || gid == 0 {
            return Err(JailError::RootIdentity);
        }
        let groups = groups.into_iter().filter(|g| *g != 0).collect();
        Ok(Self {
            uid,
            gid,
            groups,
            name,
        })
    }

    /// The account named `name`, with its primary and supplementary groups.
    pub fn from_user_name(name: &str) -> Result<Self, JailError> {
        if let Some(id) = files::by_name(Path::new("/etc"), name) {
            return Self::new(id.uid, id.gid, id.groups, Some(id.name));
        }
        let user = User::from_name(name)
            .map_err(|errno| JailError::UserLookup {
                what: name.to_string(),
                errno,
            })?
            .ok_or_else(|| JailError::UnknownUser {
                name: name.to_string(),
            })?;
        Self::from_user(user)
    }

    /// The account with `uid`; an unknown uid runs with gid = uid and no groups.
    pub fn from_uid(uid: u32) -> Result<Self, JailError> {
        if let Some(id) = files::by_uid(Path::new("/etc"), uid) {
            return Self::new(id.uid, id.gid, id.groups, Some(id.name));
        }
        match User::from_uid(Uid::from_raw(uid)).map_err(|errno| JailError::UserLookup {
            what: format!("uid {uid}"),
            errno,
        })? {
            Some(user) => Self::from_user(user),
            None => Self::new(uid, uid, Vec::new(), None),
        }
    }

    /// The default unprivileged identity: `nobody` (65534 when the account is missing).
    pub fn nobody() -> Result<Self, JailError> {
        if let Some(id) = files::by_name(Path::new("/etc"), "nobody") {
            return Self::new(id.uid, id.gid, id.groups, Some(id.name));
        }
        match User::from_name("nobody") {
            Ok(Some(user)) => Self::from_user(user),
            _ => Self::new(65534, 65534, Vec::new(), Some("nobody".into())),
        }
    }

    fn from_user(user: User) -> Result<Self, JailError> {
        let groups = supplementary_groups(&user);
        Self::new(
            user.uid.as_raw(),
            user.gid.as_raw(),
            groups,
            Some(user.name),
        )
    }
}

fn supplementary_groups(user: &User) -> Vec<u32> {
    let Ok(cname) = std::ffi::CString::new(user.name.clone()) else {
        return vec![user.gid.as_raw()];
    };
    match nix::unistd::getgrouplist(&cname, user.gid) {
        Ok(gs) => gs.into_iter().map(Gid::as_raw).collect(),
        Err(_) => vec![user.gid.as_raw()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_root() {
        assert!(matches!(
            Identity::new(0, 100, vec![], None),
            Err(JailError::RootIdentity)
        ));
        assert!(matches!(
            Identity::new(100, 0, vec![], None),
            Err(JailError::RootIdentity)
        ));
        assert!(matches!(
            Identity::from_uid(0),
            Err(JailError::RootIdentity)
        ));
    }

    #[test]
    fn drops_group_zero() {
        let id = Identity::new(1000, 1000, vec![0, 27, 1000], None).unwrap();
        assert_eq!(id.groups, vec![27, 1000]);
    }
}
