//! `dci`: the libdci command line. This file only parses arguments and dispatches; each group
//! of subcommands lives in its own module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(
    name = "dci",
    version,
    about = "Digital Convergence Initiative (SPDCI) registry tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a signing key (PKCS#8 PEM, mode 0600) and its public key; print the JWK.
    Keygen(cmd::crypto::KeygenArgs),
    /// Sign the envelope read from stdin; write the signed envelope to stdout.
    Sign(cmd::crypto::SignArgs),
    /// Verify the envelope read from stdin (exit 0 valid, 1 invalid with the reason on stderr).
    Verify(cmd::crypto::VerifyArgs),
    /// Generate an encryption key (PKCS#8 PEM, mode 0600); print its JWK (use enc).
    EncKeygen(cmd::encrypt::EncKeygenArgs),
    /// Encrypt the message of the envelope read from stdin to a JWK (sign the output after).
    Encrypt(cmd::encrypt::EncryptArgs),
    /// Decrypt the message of the envelope read from stdin (verify its signature first).
    Decrypt(cmd::encrypt::DecryptArgs),
    /// Build ready-to-send request envelopes.
    #[command(subcommand)]
    Envelope(cmd::envelope::EnvelopeCommand),
    /// Check a DCI registry against the spec over HTTP (exit 1 when a check fails).
    Conformance(Box<cmd::conformance::ConformanceArgs>),
    #[command(flatten)]
    Server(cmd::server_cmds::ServerCommand),
}

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server commands report their own errors (the server turns handler panics into
    // error responses).
    let command = match cli.command {
        Command::Server(c) => return cmd::server_cmds::run(c),
        other => other,
    };
    // A bug must end as a message and an exit code, never a stack trace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("dci: internal error: {info}");
    }));
    let result = std::panic::catch_unwind(|| match command {
        Command::Keygen(args) => cmd::crypto::keygen(args),
        Command::Sign(args) => cmd::crypto::sign(args),
        Command::Verify(args) => cmd::crypto::verify(args),
        Command::EncKeygen(args) => cmd::encrypt::keygen(args),
        Command::Encrypt(args) => cmd::encrypt::encrypt(args),
        Command::Decrypt(args) => cmd::encrypt::decrypt(args),
        Command::Envelope(c) => cmd::envelope::run(c),
        Command::Conformance(args) => cmd::conformance::run(*args),
        Command::Server(_) => unreachable!("handled above"),
    });
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => {
            eprintln!("dci: {}", failure.message);
            ExitCode::from(failure.code)
        }
        Err(_) => ExitCode::from(70),
    }
}
