//! Leases: which jail holds which /31 of the pool, recorded as one small file per jail, so that
//! a `paddock jail` (or supervisor) that was killed can be recognised by the next one and its
//! leftovers removed.
//!
//! # Layout
//!
//! `<root>/<netns inode>/` (root normally `/run/paddock/net`) holds, per network namespace the
//! jails were joined to (tests run Paddock inside namespaces of their own):
//! - `lock`: `flock`ed exclusively while leases are read or changed (allocation, recovery);
//! - `<jail id>.lease`: one JSON object: the id, the pair, the owner (pid and the kernel's start
//!   time of that pid, so a reused pid is not mistaken for the owner), an optional name;
//! - `uplinks`: the uplinks whose forwarding Paddock switched on, one per line, to switch it
//!   off again when the table is removed;
//! - `last`: the pair handed out last, so allocation goes round-robin;
//! - `table`: what the installed table was built from (pool, uplinks), so a jail installs only
//!   its own chains when the table is already right.
//!
//! # What it must never do
//!
//! - Treat a lease as dead while its owner runs: the owner is alive exactly when a process with
//!   its pid exists *and* started at the recorded time.
//! - Read a lease file it did not write as anything but data: a file that does not parse is a
//!   dead lease (it is removed with the rest of the leftovers).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{NetError, Result};
use crate::names::JailId;
use crate::pool::LinkPair;

/// Where lease directories live.
pub const LEASE_ROOT: &str = "/run/paddock/net";

/// A process, identified robustly against pid reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// Its pid.
    pub pid: u32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat`, field 22).
    pub start_ticks: u64,
}

impl Owner {
    /// The calling process.
    pub fn current() -> Result<Self> {
        let pid = std::process::id();
        let start_ticks =
            start_ticks(pid).map_err(|source| state_err("read", "/proc/self/stat", source))?;
        Ok(Self { pid, start_ticks })
    }

    /// Process `pid`, as it runs now.
    pub fn of_pid(pid: u32) -> Result<Self> {
        let start_ticks = start_ticks(pid)
            .map_err(|source| state_err("read", format!("/proc/{pid}/stat"), source))?;
        Ok(Self { pid, start_ticks })
    }

    /// Whether this process still runs.
    pub fn alive(&self) -> bool {
        start_ticks(self.pid).is_ok_and(|t| t == self.start_ticks)
    }
}

/// Field 22 of `/proc/<pid>/stat` (after the parenthesised command, which may hold spaces).
fn start_ticks(pid: u32) -> io::Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_ticks(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed stat"))
}

fn parse_start_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After ')' come fields 3.. ; start time is field 22, i.e. the 20th of these.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// One jail's lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The jail.
    pub id: JailId,
    /// Its addresses.
    pub pair: LinkPair,
    /// The process that set the jail up and removes it.
    pub owner: Owner,
    /// The name given with `--name`, if any.
    pub name: Option<String>,
}

impl Lease {
    fn to_json(&self) -> String {
        json!({
            "id": self.id.as_str(),
            "host": self.pair.host.to_string(),
            "jail": self.pair.jail.to_string(),
            "pid": self.owner.pid,
            "start_ticks": self.owner.start_ticks,
            "name": self.name,
        })
        .to_string()
    }

    fn parse(text: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let addr = |k: &str| v.get(k)?.as_str()?.parse::<Ipv4Addr>().ok();
        Some(Self {
            id: JailId::new(v.get("id")?.as_str()?).ok()?,
            pair: LinkPair {
                host: addr("host")?,
                jail: addr("jail")?,
            },
            owner: Owner {
                pid: u32::try_from(v.get("pid")?.as_u64()?).ok()?,
                start_ticks: v.get("start_ticks")?.as_u64()?,
            },
            name: v.get("name").and_then(|n| n.as_str()).map(str::to_string),
        })
    }
}

/// What a lease file held: a lease, or garbage under a file name that may still name a jail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseEntry {
    /// A well-formed lease.
    Valid(Lease),
    /// A file that does not parse; removed as a leftover.
    Corrupt {
        /// The jail id its file name gives, if it gives one.
        id: Option<JailId>,
        /// The file.
        path: PathBuf,
    },
}

/// The lease directory of one network namespace.
#[derive(Clone, Debug)]
pub struct LeaseDir {
    dir: PathBuf,
}

impl LeaseDir {
    /// The directory for the calling thread's network namespace under `root`.
    pub fn for_current_netns(root: &Path) -> Result<Self> {
        let ino = fs::metadata("/proc/thread-self/ns/net")
            .map_err(|source| state_err("stat", "/proc/thread-self/ns/net", source))?
            .ino();
        Ok(Self::at(root.join(format!("netns-{ino}"))))
    }

    /// A lease directory at `dir` (tests).
    pub fn at(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Takes the directory's lock (blocking until other Paddock processes release it),
    /// creating the directory (mode 0700) if needed.
    pub fn lock(&self) -> Result<LeaseLock<'_>> {
        let path = self.dir.join("lock");
        // The directory may be removed by [`LeaseLock::remove_dir`] while we wait for the lock:
        // then the lock we got is on a file that no longer exists, and we start over.
        for _ in 0..16 {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&self.dir)
                .map_err(|source| state_err("create", &self.dir, source))?;
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(|source| state_err("open", &path, source))?;
            let file = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
                .map_err(|(_, errno)| state_err("lock", &path, errno.into()))?;
            let held = file
                .metadata()
                .map_err(|source| state_err("stat", &path, source))?
                .ino();
            if fs::metadata(&path).is_ok_and(|m| m.ino() == held) {
                return Ok(LeaseLock {
                    dir: self,
                    _lock: file,
                });
            }
        }
        Err(state_err(
            "lock",
            &path,
            io::Error::other("the directory kept being removed while waiting for its lock"),
        ))
    }
}

use std::os::unix::fs::DirBuilderExt;

/// The lock on a lease directory; every read and change of leases goes through it.
pub struct LeaseLock<'a> {
    dir: &'a LeaseDir,
    _lock: nix::fcntl::Flock<File>,
}

impl LeaseLock<'_> {
    fn lease_path(&self, id: &JailId) -> PathBuf {
        self.dir.dir.join(format!("{id}.lease"))
    }

    /// Every lease file in the directory.
    pub fn entries(&self) -> Result<Vec<LeaseEntry>> {
        let rd = fs::read_dir(&self.dir.dir)
            .map_err(|source| state_err("list", &self.dir.dir, source))?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let path = entry.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".lease"))
            else {
                continue;
            };
            let id = JailId::new(stem).ok();
            match fs::read_to_string(&path)
                .ok()
                .and_then(|t| Lease::parse(&t))
            {
                // The file name is the key: a body naming another jail is not trusted.
                Some(lease) if Some(&lease.id) == id.as_ref() => out.push(LeaseEntry::Valid(lease)),
                _ => out.push(LeaseEntry::Corrupt { id, path }),
            }
        }
        Ok(out)
    }

    /// Records `lease` (replacing one with the same id).
    pub fn write(&self, lease: &Lease) -> Result<()> {
        let path = self.lease_path(&lease.id);
        let tmp = self.dir.dir.join(format!(".{}.tmp", lease.id));
        let mut f = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|source| state_err("create", &tmp, source))?;
        f.write_all(lease.to_json().as_bytes())
            .map_err(|source| state_err("write", &tmp, source))?;
        fs::rename(&tmp, &path).map_err(|source| state_err("rename", &path, source))
    }

    /// Removes jail `id`'s lease; a missing one is not an error.
    pub fn remove(&self, id: &JailId) -> Result<()> {
        remove_file(&self.lease_path(id))
    }

    /// Removes a file this directory holds (a corrupt lease).
    pub fn remove_path(&self, path: &Path) -> Result<()> {
        if path.parent() != Some(self.dir.dir.as_path()) {
            return Ok(());
        }
        remove_file(path)
    }

    /// The uplinks whose forwarding Paddock switched on.
    pub fn uplinks(&self) -> Vec<String> {
        fs::read_to_string(self.dir.dir.join("uplinks"))
            .unwrap_or_default()
            .lines()
            .filter(|l| crate::names::check_ifname(l).is_ok())
            .map(str::to_string)
            .collect()
    }

    /// Removes the whole directory (no lease may be left: the caller checked), so that
    /// directories of namespaces that are gone do not pile up. Waiters on the lock notice and
    /// start over (see [`LeaseDir::lock`]).
    pub fn remove_dir(self) -> Result<()> {
        let dir = self.dir.dir.clone();
        let rd = fs::read_dir(&dir).map_err(|source| state_err("list", &dir, source))?;
        for entry in rd.flatten() {
            let name = entry.file_name();
            // The lock file goes last, below, while we still hold it.
            if name != "lock" {
                remove_file(&entry.path())?;
            }
        }
        remove_file(&dir.join("lock"))?;
        match fs::remove_dir(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(state_err("remove", &dir, e)),
            _ => Ok(()),
        }
    }

    /// The pair handed out last (allocation continues after it).
    pub fn last_pair(&self) -> Option<LinkPair> {
        let text = fs::read_to_string(self.dir.dir.join("last")).ok()?;
        let (host, jail) = text.trim().split_once(' ')?;
        Some(LinkPair {
            host: host.parse().ok()?,
            jail: jail.parse().ok()?,
        })
    }

    /// Records the pair handed out last.
    pub fn set_last_pair(&self, pair: LinkPair) -> Result<()> {
        let path = self.dir.dir.join("last");
        fs::write(&path, format!("{} {}\n", pair.host, pair.jail))
            .map_err(|source| state_err("write", &path, source))
    }

    /// What the installed table was built from (`None`: not installed by this directory's
    /// jails, or removed).
    pub fn table_stamp(&self) -> Option<String> {
        fs::read_to_string(self.dir.dir.join("table")).ok()
    }

    /// Records (or, with `None`, forgets) what the installed table was built from.
    pub fn set_table_stamp(&self, stamp: Option<&str>) -> Result<()> {
        let path = self.dir.dir.join("table");
        match stamp {
            Some(s) => fs::write(&path, s).map_err(|source| state_err("write", &path, source)),
            None => remove_file(&path),
        }
    }

    /// Records the uplinks whose forwarding Paddock switched on (empty: removes the record).
    pub fn set_uplinks(&self, uplinks: &[String]) -> Result<()> {
        let path = self.dir.dir.join("uplinks");
        if uplinks.is_empty() {
            return remove_file(&path);
        }
        let mut text = uplinks.join("\n");
        text.push('\n');
        fs::write(&path, text).map_err(|source| state_err("write", &path, source))
    }
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(state_err("remove", path, e)),
        _ => Ok(()),
    }
}

fn state_err(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> NetError {
    NetError::State {
        action,
        path: path.as_ref().to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, n: u8, owner: Owner) -> Lease {
        Lease {
            id: JailId::new(id).unwrap(),
            pair: LinkPair {
                host: Ipv4Addr::new(10, 213, 0, 2 * n),
                jail: Ipv4Addr::new(10, 213, 0, 2 * n + 1),
            },
            owner,
            name: Some(format!("n{n}")),
        }
    }

    #[test]
    fn start_ticks_survive_spaces_and_parens_in_the_command() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_start_ticks(stat), Some(987_654));
        assert_eq!(parse_start_ticks("42 (x"), None);
        let me = Owner::current().unwrap();
        assert!(me.alive());
        assert!(
            !Owner {
                start_ticks: me.start_ticks + 1,
                ..me
            }
            .alive(),
            "a reused pid is not the owner"
        );
    }

    #[test]
    fn leases_round_trip_and_garbage_is_reported_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let ld = LeaseDir::at(dir.path().join("netns-1"));
        let lock = ld.lock().unwrap();
        let me = Owner::current().unwrap();
        let a = lease("a1", 0, me);
        let b = lease(
            "b2",
            1,
            Owner {
                pid: 1,
                start_ticks: 0,
            },
        );
        lock.write(&a).unwrap();
        lock.write(&b).unwrap();
        fs::write(ld.path().join("zz.lease"), "not json").unwrap();
        // A body that names another jail than its file name is not trusted either.
        fs::write(ld.path().join("c3.lease"), a.to_json()).unwrap();
        let mut entries = lock.entries().unwrap();
        entries.sort_by_key(|e| format!("{e:?}"));
        assert!(entries.contains(&LeaseEntry::Valid(a.clone())));
        assert!(entries.contains(&LeaseEntry::Valid(b.clone())));
        assert!(entries.contains(&LeaseEntry::Corrupt {
            id: Some(JailId::new("zz").unwrap()),
            path: ld.path().join("zz.lease")
        }));
        assert!(entries.contains(&LeaseEntry::Corrupt {
            id: Some(JailId::new("c3").unwrap()),
            path: ld.path().join("c3.lease")
        }));
        lock.remove(&a.id).unwrap();
        lock.remove(&a.id).unwrap();
        lock.remove_path(&ld.path().join("zz.lease")).unwrap();
        assert_eq!(lock.entries().unwrap().len(), 2);
    }

    #[test]
    fn uplinks_record_round_trips_and_ignores_bad_names() {
        let dir = tempfile::tempdir().unwrap();
        let ld = LeaseDir::at(dir.path().join("n"));
        let lock = ld.lock().unwrap();
        assert!(lock.uplinks().is_empty());
        lock.set_uplinks(&["eth9".into(), "te1".into()]).unwrap();
        assert_eq!(lock.uplinks(), ["eth9", "te1"]);
        fs::write(ld.path().join("uplinks"), "eth9\n../x\n").unwrap();
        assert_eq!(lock.uplinks(), ["eth9"]);
        lock.set_uplinks(&[]).unwrap();
        assert!(!ld.path().join("uplinks").exists());
        lock.set_table_stamp(Some("x")).unwrap();
        lock.remove_dir().unwrap();
        assert!(!ld.path().exists());
        // Locking again recreates it.
        let lock = ld.lock().unwrap();
        assert!(lock.entries().unwrap().is_empty());
    }
}
