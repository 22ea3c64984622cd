//! A write overlay over committed state, with nested checkpoints: a failed inner call reverts
//! only its own writes, a failed transaction only its own (its nonce bump is kept outside).
use super::{ChangeSet, StateError, StateReader};
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct Overlay {
    base: Arc<dyn StateReader>,
    /// `layers[0]` holds the writes of the block so far; each checkpoint pushes a layer.
    layers: Vec<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

/// Reads nothing: the base of an empty overlay.
struct EmptyState;

impl StateReader for EmptyState {
    fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(None)
    }
}

impl Default for Overlay {
    fn default() -> Self {
        Overlay::new(Arc::new(EmptyState))
    }
}

impl Overlay {
    pub fn new(base: Arc<dyn StateReader>) -> Self {
        Overlay { base, layers: vec![BTreeMap::new()] }
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(key) {
                return Ok(v.clone());
            }
        }
        self.base.get(key)
    }

    pub fn set(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.top().insert(key, Some(value));
    }

    pub fn remove(&mut self, key: Vec<u8>) {
        self.top().insert(key, None);
    }

    fn top(&mut self) -> &mut BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        if self.layers.is_empty() {
            self.layers.push(BTreeMap::new());
        }
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    /// Starts a layer that can be undone alone.
    pub fn checkpoint(&mut self) {
        self.layers.push(BTreeMap::new());
    }

    /// Keeps the writes since the last checkpoint (merges them into the layer below).
    pub fn commit_checkpoint(&mut self) {
        if self.layers.len() < 2 {
            return;
        }
        if let Some(top) = self.layers.pop() {
            self.top().extend(top);
        }
    }

    /// Drops the writes since the last checkpoint.
    pub fn revert_checkpoint(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    pub fn depth(&self) -> usize {
        self.layers.len() - 1
    }

    /// All writes, flattened, including those that set a key to what the base already holds
    /// (see [`Overlay::into_effective_changes`]).
    pub fn into_changes(mut self) -> ChangeSet {
        while self.layers.len() > 1 {
            self.commit_checkpoint();
        }
        self.layers.pop().unwrap_or_default()
    }

    /// The writes that change the base: a key set to the value the base holds (a balance that
    /// went up and back down within the block, a record rewritten as it was) is left out, so
    /// the state tree neither recomputes nor rewrites its path. The root is the same either way;
    /// this costs one base read per written key.
    pub fn into_effective_changes(self) -> Result<ChangeSet, StateError> {
        let base = self.base.clone();
        let mut effective = ChangeSet::new();
        for (k, v) in self.into_changes() {
            if base.get(&k)? != v {
                effective.insert(k, v);
            }
        }
        Ok(effective)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryState;

    #[test]
    fn effective_changes_leave_out_writes_of_the_same_value() {
        let mut o = Overlay::new(base());
        o.set(b"a".to_vec(), b"2".to_vec());
        o.set(b"a".to_vec(), b"1".to_vec()); // back to the base's value
        o.set(b"b".to_vec(), b"3".to_vec());
        o.remove(b"c".to_vec()); // absent already
        o.remove(b"a2".to_vec());
        let changes = o.into_effective_changes().expect("reads");
        assert_eq!(changes.keys().collect::<Vec<_>>(), vec![&b"b".to_vec()]);
    }

    fn base() -> Arc<dyn StateReader> {
        let mut s = MemoryState::new(jjj_primitives::HashAlgo::Blake2b256);
        let mut c = ChangeSet::new();
        c.insert(b"a".to_vec(), Some(b"1".to_vec()));
        s.apply(&c).expect("apply");
        Arc::new(s)
    }

    #[test]
    fn nested_checkpoints_revert_only_their_writes() {
        let mut o = Overlay::new(base());
        o.set(b"b".to_vec(), b"2".to_vec());
        o.checkpoint();
        o.set(b"a".to_vec(), b"x".to_vec());
        o.checkpoint();
        o.remove(b"b".to_vec());
        assert_eq!(o.get(b"b").ok().flatten(), None);
        o.revert_checkpoint();
        assert_eq!(o.get(b"b").ok().flatten(), Some(b"2".to_vec()));
        assert_eq!(o.get(b"a").ok().flatten(), Some(b"x".to_vec()));
        o.commit_checkpoint();
        assert_eq!(o.depth(), 0);
        let changes = o.into_changes();
        assert_eq!(changes.get(b"a".as_slice()), Some(&Some(b"x".to_vec())));
        assert_eq!(changes.get(b"b".as_slice()), Some(&Some(b"2".to_vec())));
    }

    #[test]
    fn reverting_the_outer_checkpoint_drops_committed_inner_writes() {
        let mut o = Overlay::new(base());
        o.checkpoint();
        o.checkpoint();
        o.set(b"c".to_vec(), b"3".to_vec());
        o.commit_checkpoint();
        o.revert_checkpoint();
        assert_eq!(o.get(b"c").ok().flatten(), None);
        assert_eq!(o.get(b"a").ok().flatten(), Some(b"1".to_vec()));
        assert!(o.into_changes().is_empty());
    }
}
