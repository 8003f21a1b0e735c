//! In-memory adapters of every store trait, beside the DynamoDB ones, with the same
//! conditional semantics, so the decisions (finalize's declines, cadence, agreement
//! convergence, import completion) are unit tested with no emulator running. Compiled for
//! tests only (`cfg(test)`, or the `memory` feature that the crate's own integration tests
//! turn on to check these against DynamoDB Local); never part of a deployed function.

mod agreements;
mod catalog;
mod dead_letters;
mod idempotency;
mod merchants;
mod orders;
mod reconcile;

pub use agreements::MemoryAgreements;
pub use catalog::MemoryCatalog;
pub use dead_letters::MemoryDeadLetters;
pub use idempotency::MemoryIdempotency;
pub use merchants::MemoryMerchants;
pub use orders::MemoryOrders;
pub use reconcile::MemoryReconcileProgress;

/// A poisoned lock only means another test thread panicked; the data is still usable.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
