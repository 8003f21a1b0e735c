//! `acb merchants put|get|list|pause|resume`: the settings the functions read from the
//! Merchants table.

use clap::{Args, Subcommand};
use shared::merchants::{
    AgreementRequirement, ApiGeneration, Merchant, ValidationMode, is_account_id,
};
use shared::store::dynamo::{self, DynamoMerchants};
use shared::store::{MerchantAdmin, MerchantDirectory, MerchantPages};

use crate::common::{MERCHANTS_TABLE, Table, print_json};
use crate::paging::{Listing, PageArgs, page_size, resume_command};

#[derive(Args)]
pub struct TableArgs {
    /// The Merchants table (the stack output MerchantsTableName).
    #[arg(long, env = "MERCHANTS_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Print JSON instead of the human-readable text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum MerchantsCommand {
    /// Create or update a merchant; unset flags keep their current value.
    ///
    /// A new merchant starts enabled, with --api v1, --validation lenient and
    /// --incremental true.
    Put {
        /// The merchant's connected account, acct_…
        account: String,
        /// Display name, shown in listings.
        #[arg(long)]
        name: Option<String>,
        /// Accept files and checkouts for this merchant (true or false).
        #[arg(long)]
        enabled: Option<bool>,
        /// Catalog upload API: v1 (Files + ImportSet) or v2 (Product Catalog Import).
        #[arg(long)]
        api: Option<ApiGeneration>,
        /// strict: any row error rejects the file; lenient: report and upload the rest.
        #[arg(long)]
        validation: Option<ValidationMode>,
        /// Incremental catalog uploads (true or false; on for a new merchant): send Stripe
        /// only the rows that changed since its last accepted upload of the feed (for a
        /// v2 `.replace.` product file also deletion rows for products it lacks). false
        /// sends every file whole.
        #[arg(long)]
        incremental: Option<bool>,
        /// A JSON file with the checkout settings: shipping_rules, tax_rates, fee_plan,
        /// approval, when_unavailable, paused (see the README for the shape). Replaces
        /// the stored checkout settings as a whole.
        #[arg(long, value_name = "FILE")]
        checkout_settings: Option<std::path::PathBuf>,
    },
    /// Decline every agent checkout for this merchant until resumed.
    Pause {
        /// The merchant's connected account, acct_…
        account: String,
    },
    /// Accept agent checkouts again.
    Resume {
        /// The merchant's connected account, acct_…
        account: String,
    },
    /// Show one merchant and a summary of its checkout settings (--json: every field).
    Get {
        /// The merchant's connected account, acct_…
        account: String,
    },
    /// List merchants, one a line, a page at a time (--cursor, --all).
    List {
        /// Merchants per page (1 to 1000).
        #[arg(long, default_value_t = LIST_LIMIT, value_parser = page_size)]
        limit: usize,
        #[command(flatten)]
        pages: PageArgs,
    },
}

const LIST_LIMIT: usize = 100;

async fn store(args: &TableArgs) -> Result<(DynamoMerchants, Table), String> {
    let table = MERCHANTS_TABLE.resolve(args.table.clone(), args.dynamodb_endpoint.clone())?;
    let client = dynamo::client(&table.dynamo_settings()?).await;
    Ok((DynamoMerchants::new(client, table.name.clone()), table))
}

fn line(merchant: &Merchant) -> String {
    format!(
        "{}  {}{}  api={}  validation={}{}{}",
        merchant.account_id,
        if merchant.enabled {
            "enabled "
        } else {
            "DISABLED"
        },
        if merchant.checkout.paused {
            "  PAUSED"
        } else {
            ""
        },
        merchant.api_generation,
        merchant.validation,
        if merchant.incremental_uploads {
            ""
        } else {
            "  full-uploads"
        },
        merchant
            .display_name
            .as_deref()
            .map(|n| format!("  \"{n}\""))
            .unwrap_or_default()
    )
}

/// The checkout settings in one line: what the hooks will do for this merchant.
fn checkout_summary(merchant: &Merchant) -> String {
    let checkout = &merchant.checkout;
    let fee = checkout
        .fee_plan
        .as_ref()
        .map_or("no fee plan".into(), |f| {
            format!(
                "fee {}.{:02}% + {} minor units",
                f.basis_points / 100,
                (f.basis_points % 100).abs(),
                f.fixed
            )
        });
    let countries = if checkout.approval.allowed_countries.is_empty() {
        "any destination".to_string()
    } else {
        format!("ships to {}", checkout.approval.allowed_countries.join(","))
    };
    let when_unavailable = serde_json::to_value(checkout.when_unavailable)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    format!(
        "checkout: {} shipping rule(s), {} tax rate(s), {fee}, {countries}, when unavailable: {when_unavailable}{}",
        checkout.shipping_rules.len(),
        checkout.tax_rates.len(),
        match checkout.require_agreement {
            AgreementRequirement::Off => "",
            AgreementRequirement::WhenKnown => ", named agents need a confirmed agreement",
            AgreementRequirement::Always => ", only agents with a confirmed agreement",
        }
    )
}

fn check_account(account: &str) -> Result<(), String> {
    if is_account_id(account) {
        Ok(())
    } else {
        Err(format!(
            "{account:?} is not a connected account id (acct_…)"
        ))
    }
}

async fn set_paused(
    merchants: &DynamoMerchants,
    table: &Table,
    account: &str,
    paused: bool,
    json: bool,
) -> Result<(), String> {
    check_account(account)?;
    let mut merchant = merchants
        .merchant(account)
        .await
        .map_err(|e| table.error(e))?
        .ok_or_else(|| no_merchant(account, table))?;
    merchant.checkout.paused = paused;
    merchants
        .put_merchant(&merchant)
        .await
        .map_err(|e| table.error(e))?;
    if json {
        return print_json(&merchant);
    }
    println!("{}", line(&merchant));
    if paused {
        println!(
            "agent checkouts for {account} are now declined, until `acb merchants resume {account}`"
        );
    } else {
        println!("agent checkouts for {account} are accepted again");
    }
    Ok(())
}

fn no_merchant(account: &str, table: &Table) -> String {
    format!(
        "no merchant {account} in the table {}; add it with `acb merchants put {account}`",
        table.name
    )
}

pub async fn run(command: MerchantsCommand, args: TableArgs) -> Result<(), String> {
    let (merchants, table) = store(&args).await?;
    match command {
        MerchantsCommand::Pause { account } => {
            set_paused(&merchants, &table, &account, true, args.json).await?
        }
        MerchantsCommand::Resume { account } => {
            set_paused(&merchants, &table, &account, false, args.json).await?
        }
        MerchantsCommand::Put {
            account,
            name,
            enabled,
            api,
            validation,
            incremental,
            checkout_settings,
        } => {
            check_account(&account)?;
            // Read the file first: a bad file changes nothing.
            let checkout = match checkout_settings {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("reading {}: {e}", path.display()))?;
                    Some(serde_json::from_str(&text).map_err(|e| {
                        format!("{} is not valid checkout settings: {e}", path.display())
                    })?)
                }
                None => None,
            };
            let existing = merchants
                .merchant(&account)
                .await
                .map_err(|e| table.error(e))?;
            let created = existing.is_none();
            let mut merchant = existing.unwrap_or_else(|| Merchant::new(&account));
            if let Some(name) = name {
                merchant.display_name = Some(name);
            }
            if let Some(enabled) = enabled {
                merchant.enabled = enabled;
            }
            if let Some(api) = api {
                merchant.api_generation = api;
            }
            if let Some(validation) = validation {
                merchant.validation = validation;
            }
            if let Some(incremental) = incremental {
                merchant.incremental_uploads = incremental;
            }
            if let Some(checkout) = checkout {
                merchant.checkout = checkout;
            }
            merchants
                .put_merchant(&merchant)
                .await
                .map_err(|e| table.error(e))?;
            if args.json {
                return print_json(&merchant);
            }
            println!("{} {account}", if created { "created" } else { "updated" });
            println!("{}", line(&merchant));
            println!("{}", checkout_summary(&merchant));
        }
        MerchantsCommand::Get { account } => {
            check_account(&account)?;
            let merchant = merchants
                .merchant(&account)
                .await
                .map_err(|e| table.error(e))?
                .ok_or_else(|| no_merchant(&account, &table))?;
            if args.json {
                return print_json(&merchant);
            }
            println!("{}", line(&merchant));
            println!("{}", checkout_summary(&merchant));
        }
        MerchantsCommand::List { limit, pages } => {
            let listing = Listing {
                json: args.json,
                size: limit,
                pages,
                line,
                empty: format!("no merchants in the table {}", table.name),
                command: resume_command(&["merchants", "list"], limit, LIST_LIMIT),
            };
            let (merchants, table) = (&merchants, &table);
            listing
                .print(|request| async move {
                    merchants
                        .merchant_page(&request)
                        .await
                        .map_err(|e| table.error(e))
                })
                .await?;
        }
    }
    Ok(())
}
