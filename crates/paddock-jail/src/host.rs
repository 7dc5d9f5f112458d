//! Gathers the few host facts the mount plan needs (what the root source contains, what kind
//! each bind source is). Read-only inspection: this module never changes the host.

use std::fs;
use std::path::Path;

use paddock_policy::{AbsPath, FilesystemPolicy, RootFs};

use crate::error::JailError;
use crate::plan::{root_source, HostFacts, HostKind};

/// Names checked at the top of the host's root for `root: host`.
const HOST_TOP: &[&str] = &[
    "usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc",
];

fn kind(path: &Path) -> Result<HostKind, JailError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            let target = fs::read_link(path).map_err(|source| JailError::Inspect {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(HostKind::Symlink(target.to_string_lossy().into_owned()))
        }
        Ok(m) if m.is_dir() => Ok(HostKind::Dir),
        Ok(_) => Ok(HostKind::File),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HostKind::Missing),
        Err(source) => Err(JailError::Inspect {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Inspects the host for `fs`.
pub(crate) fn gather(fs_policy: &FilesystemPolicy) -> Result<HostFacts, JailError> {
    let src = root_source(fs_policy);
    let mut root_entries = Vec::new();
    match &fs_policy.root {
        RootFs::Host => {
            for name in HOST_TOP {
                let k = kind(&src.join(name))?;
                if k != HostKind::Missing {
                    root_entries.push(((*name).to_string(), k));
                }
            }
        }
        RootFs::Dir(_) => {
            let entries = fs::read_dir(&src).map_err(|source| JailError::Inspect {
                path: src.clone(),
                source,
            })?;
            for e in entries {
                let e = e.map_err(|source| JailError::Inspect {
                    path: src.clone(),
                    source,
                })?;
                let name = e.file_name().to_string_lossy().into_owned();
                root_entries.push((name.clone(), kind(&src.join(&name))?));
            }
            root_entries.sort();
        }
    }
    let mut paths: Vec<(AbsPath, HostKind)> = Vec::new();
    for p in fs_policy
        .read_only
        .iter()
        .chain(&fs_policy.read_write)
        .chain(&fs_policy.hidden)
    {
        paths.push((p.clone(), kind(p.as_path())?));
    }
    Ok(HostFacts {
        root_entries,
        paths,
    })
}
