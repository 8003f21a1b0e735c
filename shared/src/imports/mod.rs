//! Catalog imports: from a file dropped in S3 to a finished Stripe import, with reports
//! the merchant can read. `keys` is the S3 layout, `model` the stored records, `cadence`
//! the upload rules, `uploader` the process.

pub mod cadence;
pub mod keys;
mod merge;
pub mod model;
mod snapshot;
pub mod uploader;

pub use keys::{Feed, FileFormat, IncomingKey};
pub use model::{FeedSlot, ImportCounts, ImportRecord, ImportStatus, QueuedFile};
