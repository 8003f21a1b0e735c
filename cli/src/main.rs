//! `acb`: the operators' command-line tool for the agentic-commerce bundle.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod agreements;
mod catalog;
mod common;
mod dead_letters;
mod events;
mod imports;
mod merchants;
mod orders;
mod paging;
mod progress;
mod simulate;

/// Where the settings come from, shown under `acb --help`.
const SETTINGS_HELP: &str = "\
Settings (flags win over environment variables):
  Tables    --table, or MERCHANTS_TABLE, ORDERS_TABLE, CATALOG_TABLE, AGREEMENTS_TABLE: the stack
            outputs MerchantsTableName, OrdersTableName, CatalogTableName, AgreementsTableName.
            The catalog bucket: --bucket or CATALOG_BUCKET (the stack output CatalogBucketName).
  AWS       DYNAMODB_ENDPOINT and S3_ENDPOINT (or --dynamodb-endpoint, --s3-endpoint) point at
            the local emulators; unset, acb uses AWS with your credentials (AWS_PROFILE, or
            AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION or the profile's region.
  Stripe    STRIPE_SECRET_KEY (sk_… or rk_…; STRIPE_LIVEMODE=true for a live key) for
            orders capture, orders refund and agreements show; STRIPE_API_BASE points them at
            stripe-sim locally. Secrets are never printed.
  Local     `source .local/run/stack/stack.env` (written by `make run`) sets all of these for
            the local stack, plus ACB_API_URL (events send) and STRIPE_SIM_URL (simulate
            purchase), and puts acb on your PATH.

Output: human-readable text; --json prints JSON instead. Money is in the currency's units
(12.50 USD); amounts you pass (--amount, --unit-amount) are integer minor units (1250).
Lists come a page at a time (--limit): a page ends with the command for the next one
(--cursor; next_cursor in JSON), and --all prints every page.";

#[derive(Parser)]
#[command(
    name = "acb",
    version,
    about = "Operate the agentic-commerce bundle: merchants, catalog feeds and imports, orders, agreements, signed test events",
    after_help = SETTINGS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Re-sign the request fixtures in events/ with the current time; print or send them.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Agreements with AI agents: as stored from thin events, and as Stripe shows them now.
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
    /// Stripe events the webhooks function could not process and kept for an operator.
    DeadLetters {
        #[command(subcommand)]
        command: dead_letters::DeadLettersCommand,
        #[command(flatten)]
        table: dead_letters::DeadLetterArgs,
    },
    /// Play an agent's purchase with stripe-sim (local stack only).
    #[command(subcommand)]
    Simulate(simulate::SimulateCommand),
    /// Merchant settings in the Merchants table: put, get, list, pause, resume.
    Merchants {
        #[command(subcommand)]
        command: merchants::MerchantsCommand,
        #[command(flatten)]
        table: merchants::TableArgs,
    },
    /// Catalog feed files (product, inventory, pricing, promotion): validate, upload, and
    /// the imports the uploader recorded.
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
        Command::DeadLetters { command, table } => dead_letters::run(command, table).await,
        Command::Simulate(command) => simulate::run(command).await,
        // Validation has its own exit statuses (0 valid, 1 row errors, 2 rejected).
        Command::Catalog(command) => return catalog::run(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            common::print_error(&message);
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every command, subcommand, positional argument and option says what it is for.
    #[test]
    fn every_command_and_argument_has_help() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in command.get_subcommands() {
                let sub_path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(sub_path.clone());
                }
                walk(sub, &sub_path, missing);
            }
        }
        let command = Cli::command();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        walk(&command, "acb", &mut missing);
        assert!(missing.is_empty(), "no help for: {missing:#?}");
    }
}
