//! The cold-start baseline for `link-ref auth status`: a clap binary with the same
//! command shape that prints a fixed answer and does nothing else.

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Login state.
    Auth {
        #[command(subcommand)]
        command: Auth,
    },
}

#[derive(Subcommand)]
enum Auth {
    /// Whether a user is logged in.
    Status,
}

fn main() {
    match Cli::parse().command {
        Command::Auth {
            command: Auth::Status,
        } => println!("{{\"authenticated\": false}}"),
    }
}
