//! Catalog imports, the model: from a file dropped in S3 to a finished Stripe import.
//! `keys` is the S3 layout, `model` the stored records, `identity` the keys that make
//! repeats safe, `cadence` the upload rules, `merge` how queued files become one upload,
//! `sku_rows` how accepted rows become SKU records. The process is `crate::uploader`.

pub mod cadence;
pub mod identity;
pub mod keys;
pub mod merge;
pub mod model;
pub mod sku_rows;

pub use keys::{Feed, FileFormat, IncomingKey};
pub use model::{
    ActiveSlot, FeedSlot, ImportCounts, ImportMode, ImportRecord, ImportStatus, QueuedFile,
};
