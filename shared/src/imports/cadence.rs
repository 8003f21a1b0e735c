//! When a feed may upload, and what. Pure functions over a [`FeedSlot`].
//!
//! At most one upload per account and feed is in flight (Stripe may finish imports out of
//! order, so the next waits for the previous to be terminal), and at most one starts per
//! interval. Files arriving in between queue up and go out together, merged in arrival
//! order; a `replace` file makes everything queued before it moot.

use super::model::{FeedSlot, QueuedFile};

#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    Nothing,
    /// Ask Stripe how the in-flight import is doing.
    Poll(String),
    /// Wait until this time (ms) for the next slot.
    WaitUntil(i64),
    /// Upload these files (in arrival order) now; `superseded` are dropped unsent.
    Upload {
        files: Vec<QueuedFile>,
        superseded: Vec<QueuedFile>,
        replace: bool,
    },
}

pub fn next_step(
    slot: &FeedSlot,
    now_millis: i64,
    interval_millis: i64,
    replace_supported: bool,
) -> NextStep {
    if let Some(import_key) = &slot.in_flight {
        return NextStep::Poll(import_key.clone());
    }
    if slot.queue.is_empty() {
        return NextStep::Nothing;
    }
    if let Some(last) = slot.last_upload_at {
        let next = last + interval_millis;
        if now_millis < next {
            return NextStep::WaitUntil(next);
        }
    }
    let mut queue = slot.queue.clone();
    queue.sort_by_key(|f| f.arrived_at);
    let last_replace = if replace_supported {
        queue.iter().rposition(|f| f.replace)
    } else {
        None
    };
    let (superseded, files) = match last_replace {
        Some(at) => {
            let files = queue.split_off(at);
            (queue, files)
        }
        None => (Vec::new(), queue),
    };
    NextStep::Upload {
        files,
        superseded,
        replace: last_replace.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bucket::ObjectRef;
    use crate::imports::keys::{Feed, FileFormat};

    fn file(name: &str, at: i64, replace: bool) -> QueuedFile {
        QueuedFile {
            object: ObjectRef {
                bucket: "b".into(),
                key: format!("incoming/acct_1A/catalog/{name}"),
                version_id: None,
                etag: None,
                size: 1,
            },
            name: name.into(),
            format: FileFormat::Csv,
            replace,
            arrived_at: at,
            rows: 1,
            rows_with_errors: 0,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn first_file_goes_at_once_then_the_interval_holds() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue.push(file("a.csv", 0, false));
        assert!(matches!(
            next_step(&slot, 0, 15 * MIN, true),
            NextStep::Upload { .. }
        ));
        slot.last_upload_at = Some(0);
        assert_eq!(
            next_step(&slot, 5 * MIN, 15 * MIN, true),
            NextStep::WaitUntil(15 * MIN)
        );
        assert!(matches!(
            next_step(&slot, 15 * MIN, 15 * MIN, true),
            NextStep::Upload { .. }
        ));
    }

    #[test]
    fn in_flight_blocks_everything() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue.push(file("a.csv", 0, false));
        slot.in_flight = Some("imp_1".into());
        assert_eq!(
            next_step(&slot, 99 * MIN, 15 * MIN, true),
            NextStep::Poll("imp_1".into())
        );
    }

    #[test]
    fn queued_files_go_together_in_arrival_order() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue = vec![
            file("c.csv", 3, false),
            file("a.csv", 1, false),
            file("b.csv", 2, false),
        ];
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, true)
        else {
            panic!()
        };
        let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.csv", "b.csv", "c.csv"]);
        assert!(superseded.is_empty() && !replace);
    }

    #[test]
    fn a_replace_file_supersedes_what_came_before_it() {
        let mut slot = FeedSlot::new("acct_1A", Feed::Product);
        slot.queue = vec![
            file("a.csv", 1, false),
            file("full.replace.csv", 2, true),
            file("c.csv", 3, false),
        ];
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, true)
        else {
            panic!()
        };
        assert_eq!(
            files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["full.replace.csv", "c.csv"]
        );
        assert_eq!(superseded.len(), 1);
        assert!(replace);
        // Where replace is not supported (v1), nothing is dropped.
        let NextStep::Upload {
            files,
            superseded,
            replace,
        } = next_step(&slot, 0, MIN, false)
        else {
            panic!()
        };
        assert_eq!((files.len(), superseded.len(), replace), (3, 0, false));
    }
}
