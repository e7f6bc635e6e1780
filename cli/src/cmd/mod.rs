//! Subcommand implementations.

pub mod server_cmds;
