//! `acb`: the operators' command-line tool for the agentic-commerce bundle.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agreements;
mod catalog;
mod events;
mod imports;
mod merchants;
mod orders;
mod simulate;

#[derive(Parser)]
#[command(
    name = "acb",
    version,
    about = "Operate the agentic-commerce bundle: merchants, catalog feeds and imports, orders, agreements, signed test events"
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
    /// Agreements with AI agents: stored, and as Stripe shows them.
    Agreements {
        #[command(subcommand)]
        command: agreements::AgreementsCommand,
        #[command(flatten)]
        table: agreements::AgreementArgs,
    },
    /// Orders: list and show from the Orders table; capture and refund through Stripe.
    Orders {
        #[command(subcommand)]
        command: orders::OrdersCommand,
        #[command(flatten)]
        table: orders::OrdersArgs,
    },
    /// Play an agent's purchase with stripe-sim (local stack).
    #[command(subcommand)]
    Simulate(simulate::SimulateCommand),
    /// Merchant settings in the Merchants table.
    Merchants {
        #[command(subcommand)]
        command: merchants::MerchantsCommand,
        #[command(flatten)]
        table: merchants::TableArgs,
    },
    /// Work with catalog feed files (product, inventory, pricing, promotion).
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Events(command) => events::run(command).await,
        Command::Merchants { command, table } => merchants::run(command, table).await,
        Command::Agreements { command, table } => agreements::run(command, table).await,
        Command::Orders { command, table } => orders::run(command, table).await,
        Command::Simulate(command) => simulate::run(command).await,
        // Validation has its own exit statuses (0 valid, 1 row errors, 2 rejected).
        Command::Catalog(command) => return catalog::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
