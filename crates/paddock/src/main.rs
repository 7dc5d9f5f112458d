//! The `paddock` binary: parses the command line and calls one library entry per command.
//! No syscalls and no policy logic live here (see `crates/paddock-jail`, `crates/paddock-policy`).

mod cli;
mod cmd_doctor;
mod cmd_egress;
mod cmd_jail;
mod cmd_net;
mod cmd_policy;
mod dns_service;
mod jail_control;
mod jail_net;
mod net_env;

use clap::Parser;

fn main() {
    // Threat: descriptors inherited from whoever started us reaching a jail. Close them
    // before anything else opens a file.
    paddock_jail::close_inherited_fds();
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Jail(args) => cmd_jail::run(*args),
        cli::Command::Doctor(args) => cmd_doctor::run(&args),
        cli::Command::Policy(cli::PolicyCommand::Set(args)) => cmd_policy::set(&args),
        cli::Command::Net(cmd) => cmd_net::run(&cmd),
        cli::Command::Egress(cli::EgressCommand::Dns(args)) => cmd_egress::dns(&args),
    };
    std::process::exit(code);
}
