//! `acb`: the operators' command-line tool for the agentic-commerce bundle.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod events;

#[derive(Parser)]
#[command(
    name = "acb",
    version,
    about = "Operate the agentic-commerce bundle: fixtures and events (merchants, catalog, orders and agreements follow)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-sign and send the signed request fixtures in events/.
    #[command(subcommand)]
    Events(events::EventsCommand),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Events(command) => events::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
