//! The `dci` command line.

mod cmd;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "dci",
    version,
    about = "DCI (SPDCI) registry API: keys, signatures, envelopes and the reference registry server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Server(cmd::server_cmds::ServerCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Server(c) => cmd::server_cmds::run(c),
    }
}
