//! Reconciliation progress in memory, with the DynamoDB adapter's version check.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::lock;
use crate::orders::ReconcileState;
use crate::store::{ReconcileProgress, StoreError};

#[derive(Debug, Default)]
pub struct MemoryReconcileProgress {
    merchants: Mutex<BTreeMap<String, ReconcileState>>,
}

impl MemoryReconcileProgress {
    /// Registered merchants, none reconciled yet.
    pub fn with_accounts<S: Into<String>>(accounts: impl IntoIterator<Item = S>) -> Self {
        Self {
            merchants: Mutex::new(
                accounts
                    .into_iter()
                    .map(|a| (a.into(), ReconcileState::default()))
                    .collect(),
            ),
        }
    }

    pub fn state(&self, account_id: &str) -> Option<ReconcileState> {
        lock(&self.merchants).get(account_id).cloned()
    }

    /// Overwrites a merchant's state (tests that start from a given watermark).
    pub fn set(&self, account_id: &str, state: ReconcileState) {
        lock(&self.merchants).insert(account_id.to_string(), state);
    }
}

impl ReconcileProgress for MemoryReconcileProgress {
    async fn reconcile_states(&self) -> Result<Vec<(String, ReconcileState)>, StoreError> {
        Ok(lock(&self.merchants)
            .iter()
            .map(|(a, s)| (a.clone(), s.clone()))
            .collect())
    }

    async fn save_reconcile_state(
        &self,
        account_id: &str,
        next: &ReconcileState,
    ) -> Result<bool, StoreError> {
        let mut merchants = lock(&self.merchants);
        match merchants.get_mut(account_id) {
            Some(stored) if stored.version + 1 == next.version => {
                *stored = next.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
