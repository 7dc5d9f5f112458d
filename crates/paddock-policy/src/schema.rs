//! The YAML schema of one policy layer (DESIGN.md, "Policy"). Every key is optional: a layer
//! leaves out what it inherits. Unknown keys are errors. Values are typed at parse time (paths,
//! sizes, hosts, modes), so a `PolicyDoc` never holds a malformed value; rules that span fields
//! are checked by `validate.rs`. The key names are a contract: extend, never rename.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::net::{Cidr, Credential, EgressRule, HostPattern};
use crate::positions::Positions;
use crate::resolved::{
    AbsPath, ByteSize, Cpus, LandlockMode, NetworkMode, RlimitKind, RootFs, SeccompProfile,
};

/// One policy layer as written. Fields are public so the CLI can set a few from flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// Schema version; only 1 exists. Left out means 1.
    pub version: Option<u32>,
    /// Static: the filesystem view.
    #[serde(default, deserialize_with = "null_as_default")]
    pub filesystem: FilesystemDoc,
    /// Static: rlimits and seccomp.
    #[serde(default, deserialize_with = "null_as_default")]
    pub process: ProcessDoc,
    /// Static: cgroup limits.
    #[serde(default, deserialize_with = "null_as_default")]
    pub resources: ResourcesDoc,
    /// Dynamic: network mode, DNS, egress, credentials.
    #[serde(default, deserialize_with = "null_as_default")]
    pub network: NetworkDoc,
    /// Dynamic: models and limits.
    #[serde(default, deserialize_with = "null_as_default")]
    pub inference: InferenceDoc,
    /// Where each key sits in the source text; empty for documents built in code.
    #[serde(skip)]
    pub positions: Positions,
}

/// `filesystem:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesystemDoc {
    /// `host` or an absolute rootfs directory.
    pub root: Option<RootFs>,
    /// Extra read-only binds.
    pub read_only: Option<Vec<AbsPath>>,
    /// Extra writable binds.
    pub read_write: Option<Vec<AbsPath>>,
    /// Paths never visible; added to those of the layers above.
    pub hidden: Option<Vec<AbsPath>>,
    /// Size of the private `/tmp`.
    pub tmp_size: Option<ByteSize>,
    /// `required` or `best_effort`.
    pub landlock: Option<LandlockMode>,
}

/// `process:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDoc {
    /// Soft = hard limits, merged per key with the layers above.
    pub rlimits: Option<BTreeMap<RlimitKind, u64>>,
    /// Seccomp profile; only `default` exists.
    pub seccomp: Option<SeccompProfile>,
}

/// `resources:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcesDoc {
    /// Memory limit (`1G`).
    pub memory: Option<ByteSize>,
    /// Maximum number of tasks.
    pub pids: Option<u64>,
    /// CPU bandwidth in CPUs (`1.5`).
    pub cpus: Option<Cpus>,
    /// Workspace disk quota (`5G`).
    pub disk: Option<ByteSize>,
}

/// `network:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkDoc {
    /// `none`, `intranet` or `internet`.
    pub mode: Option<NetworkMode>,
    /// Ranges reachable directly in `intranet` mode.
    pub private_ranges: Option<Vec<Cidr>>,
    /// `dns:`
    #[serde(default, deserialize_with = "null_as_default")]
    pub dns: DnsDoc,
    /// Egress rules; a layer that lists them replaces the list above.
    pub egress: Option<Vec<EgressRule>>,
    /// Credential bindings; a layer that lists them replaces the list above.
    pub credentials: Option<Vec<Credential>>,
}

/// `network.dns:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsDoc {
    /// Names the DNS filter answers: exact names or `*.suffix`.
    pub allow: Option<Vec<HostPattern>>,
}

/// `inference:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferenceDoc {
    /// Models the session may call.
    pub models: Option<Vec<String>>,
    /// Requests in flight at once.
    pub max_concurrency: Option<u32>,
    /// Daily token budget.
    pub tokens_per_day: Option<u64>,
}

/// Lets `filesystem:` with nothing under it mean "inherit everything", like leaving it out.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
