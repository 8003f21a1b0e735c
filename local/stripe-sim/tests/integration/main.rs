//! Integration tests: a real `stripe_sim::start(…, 0)` server driven over HTTP with reqwest,
//! plus a small axum webhook receiver. One binary so the 2-core CI links it once.

mod common;

mod api;
mod binary;
mod control;
mod faults;
mod hooks;
mod idempotency;
mod webhooks;

mod agreements;
mod catalog_imports;
mod files_api;
mod import_sets;
mod rate_limits;
mod refusals;
mod sdk_conformance;
