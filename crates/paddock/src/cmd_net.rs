//! `paddock net down` and `paddock net release`: the root-side network state that outlives
//! one jail (see `paddock_net::segment`).

use anyhow::{Context, Result};
use paddock_net::{JailId, NetConfig};

use crate::cli::NetCommand;
use crate::net_env::NetEnv;

/// Runs the command; returns the process exit code.
pub fn run(cmd: &NetCommand) -> i32 {
    let result = match cmd {
        NetCommand::Down => down(),
        NetCommand::Release { jail_id } => release(jail_id),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("paddock: error: {e:#}");
            1
        }
    }
}

fn config() -> Result<NetConfig> {
    let (pool, uplinks) = NetEnv::pool_and_uplinks()?;
    Ok(NetConfig::new(pool, uplinks)?)
}

fn down() -> Result<()> {
    if paddock_net::teardown_if_idle(&config()?)? {
        eprintln!("paddock: network state removed (table inet paddock, uplink forwarding)");
    } else {
        eprintln!("paddock: networked jails are running here; nothing removed");
    }
    Ok(())
}

fn release(id: &str) -> Result<()> {
    let id = JailId::new(id)?;
    paddock_net::release_jail(&config()?, &id).with_context(|| {
        format!("cannot remove jail {id}'s network segment; the next networked jail will")
    })
}
