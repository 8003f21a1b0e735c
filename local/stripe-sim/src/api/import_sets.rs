//! v1 import sets (a private beta): `POST {import_sets_path}` turns an uploaded File into a
//! catalog import, `GET {import_sets_path}/{id}` polls it. Both need the beta flag in
//! `Stripe-Version` (`2025-09-30.clover;udap_beta=v1`).

use super::{ApiResult, Ctx};
use crate::catalog;
use crate::errors::ApiError;
use crate::state::imports::{Content, Feed, Generation, Import, Mode};
use crate::webhooks;
use std::time::Duration;

fn require_beta(ctx: &Ctx) -> Result<(), ApiError> {
    let beta = ctx.sim.config.import_sets_beta.as_str();
    let sent = ctx.stripe_version.as_deref().unwrap_or("");
    if sent.split(';').any(|part| part.trim() == beta) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "The import sets API is in private beta: send the beta flag in the Stripe-Version header, e.g. `Stripe-Version: 2025-09-30.clover;{beta}` (received {}).",
        if sent.is_empty() {
            "no Stripe-Version".to_string()
        } else {
            format!("`{sent}`")
        }
    ))
    .not_replayable())
}

pub fn create(ctx: &Ctx) -> ApiResult {
    require_beta(ctx)?;
    ctx.params
        .allow(&["file", "standard_data_format", "expand"])?;
    let config = &ctx.sim.config;
    let file_id = ctx
        .params
        .non_empty_str("file")?
        .ok_or_else(|| ApiError::missing_param("file"))?;
    let format = ctx
        .params
        .non_empty_str("standard_data_format")?
        .ok_or_else(|| ApiError::missing_param("standard_data_format"))?;
    let feed = Feed::parse_v1(format).ok_or_else(|| {
        ApiError::invalid_param(
            "standard_data_format",
            format!(
                "Invalid standard_data_format: {format}. Must be one of product_catalog_feed or inventory_feed."
            ),
        )
    })?;
    let mut store = ctx.sim.lock();
    let file = store
        .catalog
        .files
        .get(file_id)
        .filter(|f| f.scope == ctx.scope)
        .ok_or_else(|| ApiError::no_such("file", file_id, "file"))?;
    if !config.file_purposes.contains(&file.purpose) {
        return Err(ApiError::invalid(format!(
            "The file {file_id} has purpose `{}`; import sets read files uploaded with purpose {}.",
            file.purpose,
            config.file_purposes.join(" or ")
        ))
        .param("file"));
    }
    let content = Content::new(file.bytes.clone(), Some(&file.content_type));
    let mut import = Import::new(ctx.scope.clone(), Generation::V1, feed, Mode::Upsert);
    store.catalog.claim_interval(
        &ctx.scope,
        feed,
        Duration::from_millis(config.min_import_interval_ms),
        &import.id,
    )?;
    catalog::start_processing(
        &mut import,
        content,
        Duration::from_millis(config.processing_delay_ms),
    );
    let value = catalog::v1_json(&import);
    let id = import.id.clone();
    store.catalog.insert_import(import);
    drop(store);
    catalog::schedule(&ctx.sim, id);
    Ok(value)
}

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    require_beta(ctx)?;
    ctx.params.allow(&["expand"])?;
    let mut store = ctx.sim.lock();
    let visible = store
        .catalog
        .imports
        .get(id)
        .is_some_and(|i| i.scope == ctx.scope && i.generation == Generation::V1);
    if !visible {
        return Err(ApiError::no_such("data_management.import_set", id, "id"));
    }
    let events = catalog::settle(&mut store, &ctx.sim.config, id);
    let value = store.catalog.imports.get(id).map(catalog::v1_json);
    drop(store);
    webhooks::spawn(&ctx.sim, events, ctx.sim.config.delivery.clone());
    value.ok_or_else(|| ApiError::no_such("data_management.import_set", id, "id"))
}
