//! Running the plan: `nft -j -f -` applies a batch as one transaction, `nft -j list table`
//! reads back what the kernel holds, and [`TableState::holds`] checks the one against the other
//! (STYLE rule 8: less than planned is an error naming what is missing).
//!
//! The binary is named by absolute path (default `/usr/sbin/nft`), never looked up in `PATH`:
//! this runs as root.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::error::{NetError, Result};
use crate::names::{JailId, TableName};
use crate::nft::{
    plan_jail, plan_remove_all, plan_remove_jail, Batch, JailRules, TableConfig, FAMILY,
};

/// Where Debian installs `nft`.
pub const DEFAULT_NFT: &str = "/usr/sbin/nft";

/// The `nft` binary Paddock runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nft {
    binary: PathBuf,
}

impl Default for Nft {
    fn default() -> Self {
        Self::new(Path::new(DEFAULT_NFT))
    }
}

impl Nft {
    /// Runs `binary` (an absolute path).
    pub fn new(binary: &Path) -> Self {
        Self {
            binary: binary.to_path_buf(),
        }
    }

    /// Applies `batch` atomically: either every command holds afterwards or none does.
    pub fn apply(&self, batch: &Batch) -> Result<()> {
        self.run("apply", &["-j", "-f", "-"], Some(batch.to_json()))
            .map(drop)
    }

    /// Applies `batch`, then reads the table back and checks that it holds what the batch
    /// installed. Returns the state read back.
    pub fn apply_verified(&self, table: &TableName, batch: &Batch) -> Result<TableState> {
        self.apply(batch)?;
        let state = self.read_back(table)?.unwrap_or_default();
        state
            .holds(table, batch)
            .map_err(|missing| NetError::ReadBackMismatch {
                table: table.to_string(),
                missing,
            })?;
        Ok(state)
    }

    /// Installs (or replaces) one jail's rules and checks the kernel holds them.
    pub fn install_jail(&self, cfg: &TableConfig, jail: &JailRules) -> Result<TableState> {
        self.apply_verified(&cfg.table, &plan_jail(cfg, jail))
    }

    /// Removes one jail's chains and map elements, and checks they are gone. Other jails' rules
    /// are untouched; removing a jail that is not there succeeds.
    pub fn remove_jail(&self, cfg: &TableConfig, id: &JailId) -> Result<TableState> {
        self.apply_verified(&cfg.table, &plan_remove_jail(cfg, id))
    }

    /// Deletes Paddock's table (and only it) and checks it is gone.
    pub fn remove_all(&self, table: &TableName) -> Result<()> {
        self.apply(&plan_remove_all(table))?;
        match self.read_back(table)? {
            None => Ok(()),
            Some(_) => Err(NetError::ReadBackMismatch {
                table: table.to_string(),
                missing: "the table should be gone but is still listed".into(),
            }),
        }
    }

    /// What the kernel holds in Paddock's table; `None` when the table does not exist.
    pub fn read_back(&self, table: &TableName) -> Result<Option<TableState>> {
        let args = ["-j", "list", "table", FAMILY, table.as_str()];
        match self.run("list", &args, None) {
            Ok(out) => TableState::parse(&out).map(Some),
            Err(NetError::Nft { stderr, .. }) if stderr.contains("No such file or directory") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn run(&self, action: &'static str, args: &[&str], stdin: Option<String>) -> Result<String> {
        self.spawn(action, args, stdin)?.wait()
    }

    /// Starts applying `batch` and returns at once; [`PendingApply::wait`] says whether the
    /// transaction held. Lets the caller overlap `nft`'s start-up (~2 ms of exec and dynamic
    /// linking) with its own work.
    pub fn spawn_apply(&self, batch: &Batch) -> Result<PendingApply> {
        self.spawn("apply", &["-j", "-f", "-"], Some(batch.to_json()))
    }

    fn spawn(
        &self,
        action: &'static str,
        args: &[&str],
        stdin: Option<String>,
    ) -> Result<PendingApply> {
        let spawn_err = |source| NetError::SpawnNft {
            binary: self.binary.clone(),
            source,
        };
        let mut child = Command::new(&self.binary)
            .args(args)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_err)?;
        // A batch is far below the pipe's capacity, so this write does not wait for nft.
        let written = match (child.stdin.take(), stdin) {
            (Some(mut pipe), Some(text)) => pipe.write_all(text.as_bytes()),
            _ => Ok(()),
        };
        let pending = PendingApply {
            child: Some(child),
            action,
            binary: self.binary.clone(),
        };
        written.map_err(spawn_err)?;
        Ok(pending)
    }
}

/// An `nft` run in progress ([`Nft::spawn_apply`]). Dropping it waits for the process.
#[derive(Debug)]
pub struct PendingApply {
    child: Option<std::process::Child>,
    action: &'static str,
    binary: PathBuf,
}

impl PendingApply {
    /// Waits for `nft`; its stdout on success.
    pub fn wait(mut self) -> Result<String> {
        let Some(child) = self.child.take() else {
            return Ok(String::new());
        };
        let out = child
            .wait_with_output()
            .map_err(|source| NetError::SpawnNft {
                binary: self.binary.clone(),
                source,
            })?;
        if !out.status.success() {
            return Err(NetError::Nft {
                action: self.action,
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for PendingApply {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The transaction is atomic either way; only the zombie matters.
            let _ = child.wait();
        }
    }
}

/// Paddock's table as `nft -j list table` reports it, reduced to what verification needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableState {
    /// Chains, with the number of rules each holds.
    pub chains: BTreeMap<String, usize>,
    /// Verdict maps: key → verdict (`goto j_42_forward`).
    pub maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Plain sets and their elements.
    pub sets: BTreeMap<String, BTreeSet<String>>,
}

impl TableState {
    /// Parses the output of `nft -j list table inet NAME`.
    pub fn parse(json: &str) -> Result<Self> {
        let bad = |reason: String| NetError::NftOutput {
            action: "list",
            reason,
        };
        let doc: Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let objects = doc
            .get("nftables")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"nftables\" array".into()))?;
        let mut state = TableState::default();
        for obj in objects {
            if let Some(c) = obj.get("chain") {
                state.chains.entry(str_of(c, "name")).or_insert(0);
            } else if let Some(r) = obj.get("rule") {
                *state.chains.entry(str_of(r, "chain")).or_insert(0) += 1;
            } else if let Some(m) = obj.get("map") {
                let elems = m.get("elem").and_then(Value::as_array).cloned();
                let entry = state.maps.entry(str_of(m, "name")).or_default();
                for e in elems.unwrap_or_default() {
                    if let (Some(k), Some(v)) = (e.get(0).and_then(Value::as_str), e.get(1)) {
                        entry.insert(k.to_string(), verdict_text(v));
                    }
                }
            } else if let Some(s) = obj.get("set") {
                let elems = s.get("elem").and_then(Value::as_array).cloned();
                let entry = state.sets.entry(str_of(s, "name")).or_default();
                for e in elems.unwrap_or_default() {
                    entry.insert(e.as_str().map_or_else(|| e.to_string(), str::to_string));
                }
            }
        }
        Ok(state)
    }

    /// Checks that this state holds what `batch` (applied to `table`) installed: every chain it
    /// filled has exactly the rules it added, every map element it added points where it said,
    /// every set element is present, and what it deleted is gone. `Err` names the first
    /// difference.
    pub fn holds(&self, table: &TableName, batch: &Batch) -> Result<(), String> {
        let mut rules: BTreeMap<String, usize> = BTreeMap::new();
        let mut filled: BTreeSet<String> = BTreeSet::new();
        let mut elems: BTreeMap<(String, String), Option<String>> = BTreeMap::new();
        let mut set_elems: Vec<(String, String)> = Vec::new();
        let mut deleted_chains: BTreeSet<String> = BTreeSet::new();
        let mut table_deleted = false;
        let ours = |o: &Value| o.get("table").and_then(Value::as_str) == Some(table.as_str());
        for cmd in batch.commands() {
            let (verb, kind, body) = match split_cmd(cmd) {
                Some(x) => x,
                None => continue,
            };
            if kind == "table" {
                table_deleted = verb == "delete"
                    && body.get("name").and_then(Value::as_str) == Some(table.as_str());
                continue;
            }
            if !ours(body) {
                continue;
            }
            match (verb, kind) {
                ("add", "chain") => {
                    deleted_chains.remove(&str_of(body, "name"));
                    rules.entry(str_of(body, "name")).or_insert(0);
                }
                ("flush", "chain") => {
                    filled.insert(str_of(body, "name"));
                    rules.insert(str_of(body, "name"), 0);
                }
                ("delete", "chain") => {
                    deleted_chains.insert(str_of(body, "name"));
                    rules.remove(&str_of(body, "name"));
                }
                ("add", "rule") => *rules.entry(str_of(body, "chain")).or_insert(0) += 1,
                ("add", "element") | ("delete", "element") => {
                    let name = str_of(body, "name");
                    for e in body
                        .get("elem")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                    {
                        match (e.get(0).and_then(Value::as_str), e.get(1)) {
                            (Some(k), Some(v)) => {
                                let want = (verb == "add").then(|| verdict_text(v));
                                elems.insert((name.clone(), k.to_string()), want);
                            }
                            _ => {
                                if let Some(k) = e.as_str() {
                                    set_elems.push((name.clone(), k.to_string()));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if table_deleted {
            return Ok(());
        }
        for (chain, n) in &rules {
            match self.chains.get(chain) {
                None => return Err(format!("chain {chain} is missing")),
                Some(have) if filled.contains(chain) && have != n => {
                    return Err(format!(
                        "chain {chain} holds {have} rules, {n} were installed"
                    ))
                }
                _ => {}
            }
        }
        for chain in &deleted_chains {
            if self.chains.contains_key(chain) {
                return Err(format!("chain {chain} should be gone but is still there"));
            }
        }
        for ((map, key), want) in &elems {
            let have = self.maps.get(map).and_then(|m| m.get(key));
            if have != want.as_ref() {
                return Err(format!(
                    "map {map}: element {key} is {have:?}, expected {want:?}"
                ));
            }
        }
        for (set, key) in &set_elems {
            if !self.sets.get(set).is_some_and(|s| s.contains(key)) {
                return Err(format!("set {set} lacks element {key}"));
            }
        }
        Ok(())
    }
}

fn split_cmd(cmd: &Value) -> Option<(&str, &str, &Value)> {
    let (verb, inner) = cmd.as_object()?.iter().next()?;
    let (kind, body) = inner.as_object()?.iter().next()?;
    Some((verb.as_str(), kind.as_str(), body))
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// `{"goto": {"target": "c"}}` → `goto c`; `{"drop": null}` → `drop`.
fn verdict_text(v: &Value) -> String {
    match v.as_object().and_then(|o| o.iter().next()) {
        Some((verb, arg)) => match arg.get("target").and_then(Value::as_str) {
            Some(t) => format!("{verb} {t}"),
            None => verb.clone(),
        },
        None => v.to_string(),
    }
}

#[cfg(test)]
#[path = "nft_apply_tests.rs"]
mod tests;
