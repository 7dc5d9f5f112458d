//! A named jail's control socket, `/run/paddock/jails/<name>.sock`, through which
//! `paddock policy set --jail NAME FILE` changes the jail's dynamic policy while it runs.
//!
//! One request per connection, JSON on one line: `{"source": "...", "policy": "<yaml>",
//! "wait": true}`; one reply line: `{"ok": true}` or `{"error": "..."}`. With `wait` the reply
//! comes once the change is in force (rules installed and read back, DNS filter acknowledged);
//! without it, once the policy has been accepted.
//!
//! # What it must never do
//!
//! - Take a request from anyone but root: the socket is mode 0600 in a root-only directory, and
//!   the peer's uid is checked as well (a policy change widens what a jail may reach).
//! - Change a static section (filesystem, process, resources) of a running jail: such a file is
//!   refused as a whole.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use paddock_policy::{Authority, Layer, LayerKind, PolicyDoc, MAX_POLICY_BYTES};
use serde_json::{json, Value};

use crate::jail_net::{lock, SharedNet};

/// Where named jails' sockets live.
pub const JAILS_DIR: &str = "/run/paddock/jails";
/// The longest request line accepted (a policy is at most [`MAX_POLICY_BYTES`]).
const MAX_REQUEST: u64 = 2 * MAX_POLICY_BYTES as u64 + 4096;

/// A jail name: 1–32 of `a-z A-Z 0-9 _ -`, not starting with `-`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = (1..=32).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !ok {
        bail!("invalid jail name {name:?}: use 1-32 letters, digits, '_' or '-'");
    }
    Ok(())
}

fn socket_path(name: &str) -> PathBuf {
    Path::new(JAILS_DIR).join(format!("{name}.sock"))
}

/// The listening side, removed on drop.
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds jail `name`'s socket. A socket file left by a dead jail of the same name is replaced;
/// a live one is an error.
pub fn bind(name: &str) -> Result<(UnixListener, ControlSocket)> {
    check_name(name)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(JAILS_DIR)
        .with_context(|| format!("cannot create {JAILS_DIR}"))?;
    let path = socket_path(name);
    if UnixStream::connect(&path).is_ok() {
        bail!("a running jail is already named {name:?}");
    }
    let _ = std::fs::remove_file(&path);
    let listener =
        UnixListener::bind(&path).with_context(|| format!("cannot bind {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    Ok((listener, ControlSocket { path }))
}

/// Serves `listener` on a thread for the rest of the process's life.
pub fn serve(listener: UnixListener, net: SharedNet, base: Layer) -> Result<()> {
    std::thread::Builder::new()
        .name("jail-control".into())
        .spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = handle(conn, &net, &base);
            }
        })
        .context("cannot start the control thread")?;
    Ok(())
}

fn handle(mut conn: UnixStream, net: &SharedNet, base: &Layer) -> Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    // Threat: a local non-root process widening a jail's network through its socket.
    let peer = nix::sys::socket::getsockopt(&conn, nix::sys::socket::sockopt::PeerCredentials)?;
    if peer.uid() != 0 {
        return reply(
            &mut conn,
            Err(format!("not allowed: uid {} is not root", peer.uid())),
        );
    }
    let mut line = String::new();
    BufReader::new(Read::by_ref(&mut conn).take(MAX_REQUEST)).read_line(&mut line)?;
    let request: Value = match serde_json::from_str(&line) {
        Ok(v) => v,
        Err(e) => return reply(&mut conn, Err(format!("malformed request: {e}"))),
    };
    let text = request
        .get("policy")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let source = request
        .get("source")
        .and_then(Value::as_str)
        .unwrap_or("request");
    let wait = request
        .get("wait")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let doc = match parse_dynamic(source, text) {
        Ok(doc) => doc,
        Err(e) => return reply(&mut conn, Err(format!("{e:#}"))),
    };
    if !wait {
        reply(&mut conn, Ok(()))?;
    }
    let applied = apply(net, base, source, doc);
    if wait {
        reply(&mut conn, applied.map_err(|e| format!("{e:#}")))?;
    }
    Ok(())
}

/// Parses a policy file meant for a running jail: only its dynamic sections may be set.
pub fn parse_dynamic(source: &str, text: &str) -> Result<PolicyDoc> {
    let parsed = paddock_policy::parse_layer(source, text)?;
    let d = &parsed.doc;
    let statics = [
        ("filesystem", d.filesystem != Default::default()),
        ("process", d.process != Default::default()),
        ("resources", d.resources != Default::default()),
    ];
    let set: Vec<&str> = statics
        .iter()
        .filter(|(_, s)| *s)
        .map(|(n, _)| *n)
        .collect();
    if !set.is_empty() {
        bail!(
            "{source}: {} cannot change while the jail runs (static); only `network` may be set",
            set.join(", ")
        );
    }
    Ok(parsed.doc)
}

fn apply(net: &SharedNet, base: &Layer, source: &str, doc: PolicyDoc) -> Result<()> {
    let mut guard = lock(net);
    let Some(jail) = guard.as_mut() else {
        bail!("this jail was started with --net none: it has no network to change; restart it");
    };
    let change = Layer {
        kind: LayerKind::Session,
        authority: Authority::Admin,
        source: source.to_string(),
        doc,
    };
    let resolved = paddock_policy::resolve(&[base.clone(), change])?;
    jail.apply(resolved.network)
}

fn reply(conn: &mut UnixStream, result: Result<(), String>) -> Result<()> {
    let v = match result {
        Ok(()) => json!({"ok": true}),
        Err(e) => json!({"error": e}),
    };
    writeln!(conn, "{v}")?;
    Ok(())
}

/// The client: sends `text` to jail `name`, returns once it replied.
pub fn send(name: &str, source: &str, text: &str, wait: bool) -> Result<()> {
    check_name(name)?;
    let path = socket_path(name);
    let mut conn = UnixStream::connect(&path).with_context(|| {
        format!(
            "no running jail named {name:?} (cannot connect to {})",
            path.display()
        )
    })?;
    conn.set_read_timeout(Some(Duration::from_secs(15)))?;
    let request = json!({"source": source, "policy": text, "wait": wait});
    writeln!(conn, "{request}").with_context(|| format!("cannot write to {}", path.display()))?;
    let mut line = String::new();
    BufReader::new(conn.take(64 * 1024))
        .read_line(&mut line)
        .with_context(|| format!("no reply from jail {name:?}"))?;
    let v: Value =
        serde_json::from_str(&line).with_context(|| format!("jail {name:?} replied {line:?}"))?;
    match v.get("error").and_then(Value::as_str) {
        Some(e) => bail!("jail {name:?} refused the change: {e}"),
        None if v.get("ok").and_then(Value::as_bool) == Some(true) => Ok(()),
        None => bail!("jail {name:?} replied {line:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in ["a", "web-1", "A_b"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "-x", "a/b", "..", "a b", &"x".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_dynamic_sections_may_change_on_a_running_jail() {
        let doc = parse_dynamic(
            "t.yaml",
            "network:\n  mode: internet\n  dns:\n    allow: ['*.corp.test']\n",
        )
        .unwrap();
        assert_eq!(
            doc.network.mode,
            Some(paddock_policy::NetworkMode::Internet)
        );
        let e = parse_dynamic(
            "t.yaml",
            "resources:\n  memory: 1G\nnetwork:\n  mode: internet\n",
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("resources cannot change"),
            "{e:#}"
        );
        let e = parse_dynamic("t.yaml", "network:\n  mode: everything\n").unwrap_err();
        assert!(format!("{e:#}").contains("t.yaml"), "{e:#}");
    }
}
