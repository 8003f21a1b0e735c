//! v2 product catalog imports (`/v2/commerce/product_catalog/imports`) and the thin
//! events they emit (`GET /v2/core/events/{id}`).
//!
//! Every import request needs a `Stripe-Version` at or after the API's own (see
//! [`API_VERSION`]); `mode` and the `promotion` feed need [`MODE_VERSION`] (docs/stripe.md
//! §1.1.4: the changelog entries CL-0422 and CL-0624).

use super::{ApiResult, Ctx};
use crate::catalog;
use crate::errors::ApiError;
use crate::state::imports::{Feed, Generation, Import, Mode, UploadUrl};
use crate::{ids, webhooks};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};

/// The version that introduced the Product Catalog Import API v2.
pub const API_VERSION: &str = "2026-04-22.dahlia";
/// The version that added `mode` and the `promotion` feed type.
pub const MODE_VERSION: &str = "2026-06-24.dahlia";

fn require_api(ctx: &Ctx) -> Result<(), ApiError> {
    ctx.require_version(API_VERSION, "the Product Catalog Import API", None)
}

pub fn create(ctx: &Ctx) -> ApiResult {
    require_api(ctx)?;
    ctx.params.allow(&["feed_type", "mode", "metadata"])?;
    let config = &ctx.sim.config;
    let feed_type = ctx
        .params
        .non_empty_str("feed_type")?
        .ok_or_else(|| ApiError::missing_param("feed_type"))?;
    let feed = Feed::parse_v2(feed_type).ok_or_else(|| {
        ApiError::invalid_param(
            "feed_type",
            format!(
                "Invalid feed_type: {feed_type}. Must be one of product, inventory, pricing or promotion."
            ),
        )
    })?;
    if feed == Feed::Promotion {
        ctx.require_version(MODE_VERSION, "feed_type `promotion`", Some("feed_type"))?;
    }
    let sent_mode = ctx.params.non_empty_str("mode")?;
    if sent_mode.is_some() {
        ctx.require_version(MODE_VERSION, "`mode`", Some("mode"))?;
    }
    // From MODE_VERSION on the parameter is required. On an older version the emulator
    // makes the import an upsert: its choice, Stripe does not say what those imports did.
    let has_mode = ctx.version()?.at_least(MODE_VERSION);
    let mode = match sent_mode {
        None if !has_mode => Mode::Upsert,
        None => return Err(ApiError::missing_param("mode")),
        Some("upsert") => Mode::Upsert,
        Some("replace") => Mode::Replace,
        Some(other) => {
            return Err(ApiError::invalid_param(
                "mode",
                format!("Invalid mode: {other}. Must be one of upsert or replace."),
            ));
        }
    };
    if mode == Mode::Replace && feed != Feed::Product {
        return Err(ApiError::invalid_param(
            "mode",
            format!("mode `replace` is only available for feed_type `product`, not `{feed_type}`."),
        ));
    }
    let metadata = match ctx.params.0.get("metadata") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(_) => ctx.params.metadata("metadata")?,
    };

    let mut import = Import::new(ctx.scope.clone(), Generation::V2, feed, mode);
    import.metadata = metadata;
    import.upload = Some(UploadUrl {
        token: ids::url_token(),
        expires: Instant::now()
            .checked_add(config.upload_url_ttl)
            .unwrap_or_else(Instant::now),
        expires_at: SystemTime::now() + config.upload_url_ttl.min(Duration::from_secs(1 << 32)),
    });
    let id = import.id.clone();
    let mut store = ctx.sim.lock();
    store.catalog.claim_interval(
        &ctx.scope,
        feed,
        Duration::from_millis(config.min_import_interval_ms),
        &id,
    )?;
    store.catalog.insert_import(import);
    catalog::v2_json(&mut store.catalog, &id, &ctx.sim.base_url)
        .ok_or_else(|| ApiError::no_such(catalog::V2_OBJECT, &id, "id"))
}

pub fn retrieve(ctx: &Ctx, id: &str) -> ApiResult {
    require_api(ctx)?;
    ctx.params.allow(&[])?;
    let mut store = ctx.sim.lock();
    let visible = store
        .catalog
        .imports
        .get(id)
        .is_some_and(|i| i.scope == ctx.scope && i.generation == Generation::V2);
    if !visible {
        return Err(ApiError::no_such(catalog::V2_OBJECT, id, "id"));
    }
    let events = catalog::settle(&mut store, &ctx.sim.config, id);
    let value = catalog::v2_json(&mut store.catalog, id, &ctx.sim.base_url);
    drop(store);
    webhooks::spawn(&ctx.sim, events, ctx.sim.config.delivery.clone());
    value.ok_or_else(|| ApiError::no_such(catalog::V2_OBJECT, id, "id"))
}

/// A thin event in full. Events belong to their context: fetch with `Stripe-Context`.
pub fn retrieve_event(ctx: &Ctx, id: &str) -> ApiResult {
    ctx.params.allow(&[])?;
    let store = ctx.sim.lock();
    store
        .event(id)
        .filter(|record| record.thin)
        .filter(|record| record.event["context"] == serde_json::json!(ctx.scope))
        .map(|record| record.event.clone())
        .ok_or_else(|| ApiError::no_such("v2.core.event", id, "id"))
}
