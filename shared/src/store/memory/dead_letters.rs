//! Dead letters in memory: one per (account, event), newest first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::lock;
use crate::dead_letters::DeadLetter;
use crate::store::page::{DEAD_LETTERS, Position, page_of};
use crate::store::{DeadLetterPages, DeadLetterStore, Page, PageRequest, StoreError};

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

impl DeadLetterPages for MemoryDeadLetters {
    async fn dead_letter_page(
        &self,
        account_id: Option<&str>,
        request: &PageRequest,
    ) -> Result<Page<DeadLetter>, StoreError> {
        let letters = lock(&self.letters);
        let ordered = letters
            .iter()
            .filter(|((account, _), _)| account_id.is_none_or(|a| account == a))
            .map(|((account, event), letter)| {
                let position = Position {
                    partition: account.clone(),
                    sort: Some(event.clone()),
                };
                (position, letter.clone())
            });
        page_of(ordered, &DEAD_LETTERS, request, account_id, |p, after| {
            p > after
        })
    }
}
