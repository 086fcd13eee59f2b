//! The store's growing collections, each remembering what changed since its last save so
//! that `--state` writes only that (see [`crate::model::state_db`]).
//!
//! A [`Table`] is an insertion-ordered map whose only mutable accessors record the record's
//! position (and its value before the first change, to undo a change the database refused);
//! a [`Log`] is an append-only list. Neither removes a record: a position, once given, is the
//! record's row id (`seq`) in its database table for good. Without `--state` the changes are
//! forgotten when the store's guard is released.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::{Deref, Index};

use indexmap::{Equivalent, IndexMap};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A key as its database text.
pub trait RecordKey: Clone + Eq + Hash {
    fn to_text(&self) -> String;
    fn from_text(text: &str) -> Option<Self>;
}

impl RecordKey for String {
    fn to_text(&self) -> String {
        self.clone()
    }

    fn from_text(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
}

/// A pair key (Stripe's secret key and idempotency key) as a JSON array.
impl RecordKey for (String, String) {
    fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_text(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// One database row of a collection: its position, key (none in a [`Log`]) and JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub seq: i64,
    pub key: Option<String>,
    pub value: String,
}

/// Why a saved row cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("row {seq}: {source}")]
    Value {
        seq: i64,
        #[source]
        source: serde_json::Error,
    },
    #[error("row {seq} has an unreadable key")]
    Key { seq: i64 },
    #[error("{0}")]
    Query(String),
}

/// What the state database needs of a collection.
pub trait Collection {
    /// The rows changed (or added) since the last [`commit`](Collection::commit).
    fn changed_rows(&self) -> serde_json::Result<Vec<Row>>;
    /// Every row, to write the whole collection (after a reset).
    fn all_rows(&self) -> serde_json::Result<Vec<Row>>;
    fn has_changes(&self) -> bool;
    /// The changes are saved (or need not be): forget them.
    fn commit(&mut self);
    /// The changes could not be saved: put back what the last commit left.
    fn roll_back(&mut self);
    /// Fills an empty collection with saved rows, in `seq` order.
    fn load(&mut self, rows: Vec<Row>) -> Result<(), LoadError>;
}

/// An insertion-ordered map that records every record changed through it.
#[derive(Debug, Clone)]
pub struct Table<K, V> {
    entries: IndexMap<K, V>,
    /// Position → the value before its first change since the last commit (`None`: added).
    changed: HashMap<usize, Option<V>>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            entries: IndexMap::new(),
            changed: HashMap::new(),
        }
    }
}

impl<K: RecordKey, V: Clone> Table<K, V> {
    pub fn get<Q: ?Sized + Hash + Equivalent<K>>(&self, key: &Q) -> Option<&V> {
        self.entries.get(key)
    }

    #[cfg(test)]
    pub fn contains_key<Q: ?Sized + Hash + Equivalent<K>>(&self, key: &Q) -> bool {
        self.entries.contains_key(key)
    }

    /// Where the record with this key sits (its insertion order).
    pub fn position<Q: ?Sized + Hash + Equivalent<K>>(&self, key: &Q) -> Option<usize> {
        self.entries.get_index_of(key)
    }

    /// The record at `position`.
    pub fn at(&self, position: usize) -> Option<&V> {
        self.entries.get_index(position).map(|(_, value)| value)
    }

    /// The record with this key, mutably: it is marked changed.
    pub fn get_mut<Q: ?Sized + Hash + Equivalent<K>>(&mut self, key: &Q) -> Option<&mut V> {
        let position = self.entries.get_index_of(key)?;
        self.at_mut(position)
    }

    /// The record at `position`, mutably: it is marked changed.
    pub fn at_mut(&mut self, position: usize) -> Option<&mut V> {
        let (_, value) = self.entries.get_index_mut(position)?;
        self.changed
            .entry(position)
            .or_insert_with(|| Some(value.clone()));
        Some(value)
    }

    /// The newest record matching `matches`, mutably: it is marked changed.
    pub fn rfind_mut(&mut self, matches: impl Fn(&V) -> bool) -> Option<&mut V> {
        let position = self.entries.values().rposition(matches)?;
        self.at_mut(position)
    }

    /// Adds a record at the end, or replaces the one with this key in place; answers its
    /// position.
    pub fn insert(&mut self, key: K, value: V) -> usize {
        match self.entries.get_index_of(&key) {
            Some(position) => {
                if let Some(slot) = self.at_mut(position) {
                    *slot = value;
                }
                position
            }
            None => {
                let (position, _) = self.entries.insert_full(key, value);
                self.changed.insert(position, None);
                position
            }
        }
    }

    /// (key, record) pairs in insertion order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, K, V> {
        self.entries.iter()
    }

    /// The records in insertion order.
    pub fn values(&self) -> indexmap::map::Values<'_, K, V> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<K, V, Q> Index<&Q> for Table<K, V>
where
    K: RecordKey,
    V: Clone,
    Q: ?Sized + Hash + Equivalent<K>,
{
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        &self.entries[key]
    }
}

fn to_row<V: Serialize>(seq: usize, key: Option<String>, value: &V) -> serde_json::Result<Row> {
    Ok(Row {
        seq: seq as i64,
        key,
        value: serde_json::to_string(value)?,
    })
}

fn from_row<V: DeserializeOwned>(row: &Row) -> Result<V, LoadError> {
    serde_json::from_str(&row.value).map_err(|source| LoadError::Value {
        seq: row.seq,
        source,
    })
}

impl<K, V> Collection for Table<K, V>
where
    K: RecordKey,
    V: Clone + Serialize + DeserializeOwned,
{
    fn changed_rows(&self) -> serde_json::Result<Vec<Row>> {
        self.changed
            .keys()
            .filter_map(|&position| {
                self.entries
                    .get_index(position)
                    .map(|entry| (position, entry))
            })
            .map(|(position, (key, value))| to_row(position, Some(key.to_text()), value))
            .collect()
    }

    fn all_rows(&self) -> serde_json::Result<Vec<Row>> {
        self.entries
            .iter()
            .enumerate()
            .map(|(position, (key, value))| to_row(position, Some(key.to_text()), value))
            .collect()
    }

    fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }

    fn commit(&mut self) {
        self.changed.clear();
    }

    fn roll_back(&mut self) {
        let mut first_added = self.entries.len();
        for (position, before) in self.changed.drain() {
            match before {
                Some(before) => {
                    if let Some((_, value)) = self.entries.get_index_mut(position) {
                        *value = before;
                    }
                }
                // Added since the last commit: records are only ever added at the end.
                None => first_added = first_added.min(position),
            }
        }
        self.entries.truncate(first_added);
    }

    fn load(&mut self, rows: Vec<Row>) -> Result<(), LoadError> {
        for row in rows {
            let key = row
                .key
                .as_deref()
                .and_then(K::from_text)
                .ok_or(LoadError::Key { seq: row.seq })?;
            let value = from_row(&row)?;
            self.entries.insert(key, value);
        }
        Ok(())
    }
}

/// An append-only list: entries are added, never changed.
#[derive(Debug, Clone)]
pub struct Log<V> {
    entries: Vec<V>,
    /// How many entries the last commit covered.
    committed: usize,
}

impl<V> Default for Log<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            committed: 0,
        }
    }
}

impl<V> Log<V> {
    pub fn push(&mut self, entry: V) {
        self.entries.push(entry);
    }
}

impl<V> Deref for Log<V> {
    type Target = [V];

    fn deref(&self) -> &[V] {
        &self.entries
    }
}

impl<V: Serialize> Serialize for Log<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(serializer)
    }
}

impl<V: Serialize + DeserializeOwned> Collection for Log<V> {
    fn changed_rows(&self) -> serde_json::Result<Vec<Row>> {
        (self.committed.min(self.entries.len())..self.entries.len())
            .map(|position| to_row(position, None, &self.entries[position]))
            .collect()
    }

    fn all_rows(&self) -> serde_json::Result<Vec<Row>> {
        self.entries
            .iter()
            .enumerate()
            .map(|(position, entry)| to_row(position, None, entry))
            .collect()
    }

    fn has_changes(&self) -> bool {
        self.entries.len() != self.committed
    }

    fn commit(&mut self) {
        self.committed = self.entries.len();
    }

    fn roll_back(&mut self) {
        self.entries.truncate(self.committed);
    }

    fn load(&mut self, rows: Vec<Row>) -> Result<(), LoadError> {
        for row in &rows {
            self.entries.push(from_row(row)?);
        }
        self.committed = self.entries.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_reports_its_changes_and_undoes_them() {
        let mut table: Table<String, i64> = Table::default();
        table.insert("a".into(), 1);
        table.commit();
        assert!(table.changed_rows().unwrap().is_empty());

        *table.get_mut("a").unwrap() = 2;
        table.insert("b".into(), 3);
        let rows = table.changed_rows().unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        table.roll_back();
        assert_eq!(table.get("a"), Some(&1), "the change is undone");
        assert_eq!(table.get("b"), None, "the addition is undone");
        assert!(!table.has_changes());

        let _ = table.get("a");
        assert!(!table.has_changes(), "reading changes nothing");
    }

    #[test]
    fn a_log_saves_only_its_new_entries() {
        let mut log: Log<i64> = Log::default();
        log.push(1);
        log.commit();
        log.push(2);
        assert_eq!(
            log.changed_rows().unwrap(),
            vec![Row {
                seq: 1,
                key: None,
                value: "2".into()
            }]
        );
        log.roll_back();
        assert_eq!(&*log, &[1]);
    }
}
