//! Catalog imports, the model: from a file dropped in S3 to a finished Stripe import.
//! `keys` is the S3 layout, `model` the stored records, `identity` the keys that make
//! repeats safe, `cadence` the upload rules, `merge` how queued files become one upload,
//! `sku_rows` how accepted rows become SKU records, `snapshot` what Stripe already has and
//! `delta` what of an upload it lacks (so an upload sends only what changed). The process is
//! `crate::uploader`.

pub mod cadence;
pub mod delta;
pub mod identity;
pub mod keys;
pub mod merge;
pub mod model;
pub mod sku_rows;
pub mod snapshot;

pub use keys::{Feed, FileFormat, IncomingKey};
pub use model::{
    ActiveSlot, FeedSlot, ImportCounts, ImportMode, ImportRecord, ImportStatus, IncrementalUpload,
    QueuedFile,
};
