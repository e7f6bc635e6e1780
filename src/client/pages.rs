//! Iterating over every page of a sync search result set.

use crate::client::{DCIClient, SearchResult, SearchSpec};
use crate::error::Result;

/// Yields one [`SearchResult`] per page, from `spec.page_number` on. Stops after the page that
/// reaches the announced `total_count`, after a short or empty page, or after an error (which
/// is yielded). A registry that announces no pagination gets one page.
pub struct Pages<'a> {
    client: &'a DCIClient,
    spec: SearchSpec,
    done: bool,
    seen: u64,
}

/// A guard against registries that keep answering full pages forever.
pub const MAX_PAGES: u32 = 100_000;

impl<'a> Pages<'a> {
    pub(crate) fn new(client: &'a DCIClient, spec: SearchSpec) -> Self {
        let seen = u64::from(spec.page_number.saturating_sub(1)) * u64::from(spec.page_size);
        Pages {
            client,
            spec,
            done: false,
            seen,
        }
    }
}

impl Iterator for Pages<'_> {
    type Item = Result<SearchResult>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.client.search_sync(&self.spec) {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        let n = r.record_count() as u64;
        self.seen += n;
        let more = match r.page_info() {
            None => false,
            Some(p) => n > 0 && n >= u64::from(self.spec.page_size) && self.seen < p.total_count,
        };
        if more && self.spec.page_number < MAX_PAGES {
            self.spec.page_number += 1;
        } else {
            self.done = true;
        }
        Some(Ok(r))
    }
}
