//! File operations on cgroupfs shared by both backends. Each helper maps its `io::Error` to the
//! `CgroupError` variant of its action, with the path it acted on.
//!
//! Writes open with `O_CREAT | O_TRUNC`, exactly as a shell's `echo 1 > file` does: cgroupfs
//! refuses to create files (a missing control file still fails), and a temp-dir fake tree
//! accepts them, so the same code runs in unit tests.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::error::CgroupError;

/// Pause between two polls of a control file.
pub(crate) const POLL: Duration = Duration::from_millis(10);

/// Writes `value` to a control file in one `write(2)`.
pub(crate) fn write_file(path: &Path, value: &str) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?
        .write_all(value.as_bytes())
}

/// Reads a control file, without its trailing newline.
pub(crate) fn read_file(path: &Path) -> io::Result<String> {
    Ok(fs::read_to_string(path)?.trim_end().to_owned())
}

/// Whether an optional control file (e.g. `memory.memsw.limit_in_bytes`) exists.
pub(crate) fn has_file(path: &Path) -> Result<bool, CgroupError> {
    path.try_exists().map_err(|source| CgroupError::ReadBack {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a limit, reads it back and fails unless the kernel holds exactly `value`.
pub(crate) fn write_verified(path: &Path, value: &str) -> Result<(), CgroupError> {
    write_file(path, value).map_err(|source| CgroupError::WriteLimit {
        path: path.to_path_buf(),
        value: value.to_owned(),
        source,
    })?;
    let found = read_file(path).map_err(|source| CgroupError::ReadBack {
        path: path.to_path_buf(),
        source,
    })?;
    check_read_back(path, value, &found)
}

/// Compares a value read back with the value written (STYLE rule 8).
pub(crate) fn check_read_back(path: &Path, expected: &str, found: &str) -> Result<(), CgroupError> {
    if found.trim() == expected {
        Ok(())
    } else {
        Err(CgroupError::LimitMismatch {
            path: path.to_path_buf(),
            expected: expected.to_owned(),
            found: found.trim().to_owned(),
        })
    }
}

/// Creates a shared parent (`paddock/`); it may already exist.
pub(crate) fn mkdir_shared(path: &Path) -> Result<(), CgroupError> {
    match fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(source) => Err(CgroupError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Creates a jail's own group, which must not exist yet: reusing a leftover group could put the
/// new jail beside an old jail's processes.
pub(crate) fn mkdir_new(path: &Path) -> Result<(), CgroupError> {
    fs::create_dir(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            CgroupError::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            CgroupError::Create {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Moves `pid` into the group at `dir`.
pub(crate) fn add_pid(dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let path = dir.join("cgroup.procs");
    // 0 would move the caller: the supervisor must never share a jail's limits or its fate.
    if pid <= 0 || pid == own_pid() {
        return Err(CgroupError::AddPid {
            path,
            pid,
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "only another process (pid > 0, not the supervisor) can join a jail",
            ),
        });
    }
    write_file(&path, &pid.to_string()).map_err(|source| CgroupError::AddPid { path, pid, source })
}

/// Reads the pids listed in `procs` (a `cgroup.procs` file). A group that is gone lists none.
pub(crate) fn read_procs(procs: &Path) -> Result<Vec<i32>, CgroupError> {
    let text = match fs::read_to_string(procs) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(CgroupError::ListPids {
                path: procs.to_path_buf(),
                source,
            })
        }
    };
    parse_procs(procs, &text)
}

/// Parses `cgroup.procs` text. Anything but positive pids is an error: a 0 or -1 passed on to
/// `kill(2)` would signal our process group or every process on the host.
pub(crate) fn parse_procs(procs: &Path, text: &str) -> Result<Vec<i32>, CgroupError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.parse::<i32>() {
            Ok(pid) if pid > 0 => Ok(pid),
            _ => Err(CgroupError::Parse {
                path: procs.to_path_buf(),
                content: l.to_owned(),
            }),
        })
        .collect()
}

/// Union of the pids listed in several `cgroup.procs` files, sorted.
pub(crate) fn read_all_procs(files: &[PathBuf]) -> Result<Vec<i32>, CgroupError> {
    let mut all = BTreeSet::new();
    for f in files {
        all.extend(read_procs(f)?);
    }
    Ok(all.into_iter().collect())
}

/// Sends SIGKILL once to every process listed in `files`.
pub(crate) fn kill_listed(files: &[PathBuf]) -> Result<(), CgroupError> {
    let me = own_pid();
    for f in files {
        for pid in read_procs(f)? {
            if pid == me {
                return Err(CgroupError::KillSelf {
                    path: f.clone(),
                    pid,
                });
            }
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                // Already gone between listing and killing.
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => {
                    return Err(CgroupError::Kill {
                        path: f.clone(),
                        pid,
                        source: e.into(),
                    })
                }
            }
        }
    }
    Ok(())
}

/// SIGKILLs whatever `files` list until they list nothing, or fails at `deadline` with the pids
/// that remain. Killed tasks take a moment to leave `cgroup.procs`; new forks are killed on the
/// next pass.
pub(crate) fn kill_until_empty(files: &[PathBuf], deadline: Instant) -> Result<(), CgroupError> {
    let started = Instant::now();
    // Killed tasks usually leave within a millisecond: poll fast first, then back off.
    let mut pause = Duration::from_millis(1);
    loop {
        let Some((path, remaining)) = first_populated(files)? else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            return Err(CgroupError::KillTimeout {
                path,
                remaining,
                waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        kill_listed(files)?;
        sleep(pause);
        pause = (pause * 2).min(POLL);
    }
}

/// The first of `files` that lists a process, with the pids it lists.
fn first_populated(files: &[PathBuf]) -> Result<Option<(PathBuf, Vec<i32>)>, CgroupError> {
    for f in files {
        let pids = read_procs(f)?;
        if !pids.is_empty() {
            return Ok(Some((f.clone(), pids)));
        }
    }
    Ok(None)
}

/// Fails if `files` list this very process: signalling it would kill the supervisor.
pub(crate) fn refuse_self(files: &[PathBuf]) -> Result<(), CgroupError> {
    let me = own_pid();
    for f in files {
        if read_procs(f)?.contains(&me) {
            return Err(CgroupError::KillSelf {
                path: f.clone(),
                pid: me,
            });
        }
    }
    Ok(())
}

fn own_pid() -> i32 {
    i32::try_from(std::process::id()).unwrap_or(i32::MAX)
}

/// Removes a group directory, retrying on `EBUSY` with a doubling pause until `deadline`:
/// killed tasks linger in the group for a few milliseconds after `SIGKILL`. A directory that
/// is already gone counts as removed.
pub(crate) fn rmdir_retry(path: &Path, deadline: Instant) -> Result<(), CgroupError> {
    let mut pause = Duration::from_millis(1);
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Err(source) => {
                return Err(CgroupError::Remove {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// Reads a counter file holding one unsigned integer.
pub(crate) fn read_u64(path: &Path) -> Result<u64, CgroupError> {
    let text = read_file(path).map_err(|source| CgroupError::Usage {
        path: path.to_path_buf(),
        source,
    })?;
    text.trim().parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        content: text,
    })
}

/// Reads `key value` lines (e.g. `cpu.stat`) and returns the value of `key`.
pub(crate) fn read_keyed_u64(path: &Path, key: &str) -> Result<u64, CgroupError> {
    let text = read_file(path).map_err(|source| CgroupError::Usage {
        path: path.to_path_buf(),
        source,
    })?;
    text.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.trim().parse().ok())
        .ok_or(CgroupError::Parse {
            path: path.to_path_buf(),
            content: text,
        })
}
