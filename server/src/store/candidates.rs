//! The part of a search both backends leave to the server: the candidates the SQL could not
//! decide exactly (or sort by the spec's rules), streamed in id order, each decided by the
//! core's evaluator, counted, and kept as the page itself or as the sort keys of the matches.

use dci::query::RecordSortKey;
use serde_json::Value;

use super::SearchQuery;

/// What is left after the stream: the page (no sort keys), or the ids of the page in sort
/// order, to be read again by id.
pub(super) enum Decided {
    Page(Vec<Value>, usize),
    Ids(Vec<i64>, usize),
}

pub(super) struct Candidates<'q> {
    q: &'q SearchQuery<'q>,
    exact: bool,
    total: usize,
    page: Vec<Value>,
    keyed: Vec<(RecordSortKey, i64)>,
}

impl<'q> Candidates<'q> {
    /// `exact`: the SQL already decided the plan, so the evaluator is not run again.
    pub(super) fn new(q: &'q SearchQuery<'q>, exact: bool) -> Self {
        Candidates {
            q,
            exact,
            total: 0,
            page: Vec::new(),
            keyed: Vec::new(),
        }
    }

    /// One candidate row (its id and stored text); unreadable text is skipped.
    pub(super) fn push(&mut self, id: i64, text: &str) {
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if !self.exact && !self.q.plan.matches(&v) {
            return;
        }
        if self.q.keys.is_empty() {
            if self.total >= self.q.offset && self.page.len() < self.q.limit {
                self.page.push(v);
            }
        } else {
            self.keyed.push((RecordSortKey::of(&v, self.q.keys), id));
        }
        self.total += 1;
    }

    pub(super) fn finish(mut self) -> Decided {
        if self.q.keys.is_empty() {
            return Decided::Page(self.page, self.total);
        }
        // Stable: ties keep id order, as the core's sort of records in id order does.
        let keys = self.q.keys;
        self.keyed.sort_by(|(a, _), (b, _)| a.cmp(b, keys));
        let ids = self
            .keyed
            .iter()
            .skip(self.q.offset)
            .take(self.q.limit)
            .map(|(_, id)| *id)
            .collect();
        Decided::Ids(ids, self.total)
    }
}
