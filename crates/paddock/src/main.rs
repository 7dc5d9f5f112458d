//! The `paddock` binary: parses the command line and calls one library entry per command.
//! No syscalls and no policy logic live here (see `crates/paddock-jail`, `crates/paddock-policy`).

mod cli;
mod cmd_doctor;
mod cmd_jail;

use clap::Parser;

fn main() {
    // Threat: descriptors inherited from whoever started us reaching a jail. Close them
    // before anything else opens a file.
    paddock_jail::close_inherited_fds();
    let cli = cli::Cli::parse();
    let code = match cli.command {
        cli::Command::Jail(args) => cmd_jail::run(*args),
        cli::Command::Doctor(args) => cmd_doctor::run(&args),
    };
    std::process::exit(code);
}
