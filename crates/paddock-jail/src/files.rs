//! Reads accounts from `passwd` and `group` files (the `files` NSS source) without NSS.
//! The directory is a parameter so tests use fixtures. Malformed lines are skipped, never
//! trusted: a line must have seven (passwd) or four (group) fields with numeric ids.

use std::path::Path;

/// An account as the files describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileAccount {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// Primary gid first, then every group that lists the user.
    pub groups: Vec<u32>,
}

fn passwd_entries(etc: &Path) -> Vec<(String, u32, u32)> {
    let text = std::fs::read_to_string(etc.join("passwd")).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() != 7 || f[0].is_empty() || line.starts_with(['+', '-', '#']) {
                return None;
            }
            Some((f[0].to_string(), f[2].parse().ok()?, f[3].parse().ok()?))
        })
        .collect()
}

fn groups_of(etc: &Path, name: &str, primary: u32) -> Vec<u32> {
    let text = std::fs::read_to_string(etc.join("group")).unwrap_or_default();
    let mut out = vec![primary];
    for line in text.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 4 {
            continue;
        }
        let Ok(gid) = f[2].parse::<u32>() else {
            continue;
        };
        if f[3].split(',').any(|m| m == name) && !out.contains(&gid) {
            out.push(gid);
        }
    }
    out
}

fn account(etc: &Path, found: Option<(String, u32, u32)>) -> Option<FileAccount> {
    let (name, uid, gid) = found?;
    let groups = groups_of(etc, &name, gid);
    Some(FileAccount {
        name,
        uid,
        gid,
        groups,
    })
}

/// The account called `name` in `etc/passwd`.
pub(crate) fn by_name(etc: &Path, name: &str) -> Option<FileAccount> {
    let found = passwd_entries(etc).into_iter().find(|(n, _, _)| n == name);
    account(etc, found)
}

/// The first account with `uid` in `etc/passwd`.
pub(crate) fn by_uid(etc: &Path, uid: u32) -> Option<FileAccount> {
    let found = passwd_entries(etc).into_iter().find(|(_, u, _)| *u == uid);
    account(etc, found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("passwd"),
            "root:x:0:0:root:/root:/bin/bash\n\
             broken line\n\
             alice:x:1000:1000:Alice:/home/alice:/bin/bash\n\
             bad:x:notanumber:1:b:/:/bin/sh\n\
             nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("group"),
            "root:x:0:\nalice:x:1000:\ndocker:x:999:alice,bob\nusers:x:100:bob\nbad:x:zz:alice\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn finds_accounts_and_their_groups() {
        let d = fixture();
        let a = by_name(d.path(), "alice").unwrap();
        assert_eq!((a.uid, a.gid), (1000, 1000));
        assert_eq!(a.groups, vec![1000, 999]);
        assert_eq!(by_uid(d.path(), 65534).unwrap().name, "nobody");
    }

    #[test]
    fn skips_malformed_lines_and_unknown_names() {
        let d = fixture();
        assert!(by_name(d.path(), "bad").is_none());
        assert!(by_name(d.path(), "broken line").is_none());
        assert!(by_name(d.path(), "carol").is_none());
        assert!(by_uid(d.path(), 4242).is_none());
    }
}
