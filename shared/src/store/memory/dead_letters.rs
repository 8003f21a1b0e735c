//! Dead letters in memory: one per (account, event), newest first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::lock;
use crate::dead_letters::DeadLetter;
use crate::store::{DeadLetterStore, StoreError};

#[derive(Debug, Default)]
pub struct MemoryDeadLetters {
    letters: Mutex<BTreeMap<(String, String), DeadLetter>>,
}

impl DeadLetterStore for MemoryDeadLetters {
    async fn keep(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        lock(&self.letters)
            .entry((letter.account_id.clone(), letter.event_id.clone()))
            .or_insert_with(|| letter.clone());
        Ok(())
    }

    async fn dead_letters(
        &self,
        account_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let mut letters: Vec<DeadLetter> = lock(&self.letters)
            .values()
            .filter(|l| account_id.is_none_or(|a| l.account_id == a))
            .cloned()
            .collect();
        letters.sort_by_key(|l| std::cmp::Reverse(l.received_at));
        letters.truncate(limit);
        Ok(letters)
    }
}
