//! The state commitment: a 16-ary sparse Merkle tree over `H(key) → H(value)`, with H the
//! network's hash (BLAKE2b-256 or SM3, [`HashAlgo`]) for leaves and nodes alike.
//!
//! Shape (a function of the set of keys alone, so the root is too):
//! - a leaf key is 64 nibbles; a node's place is the nibble path from the root ([`NodeKey`]);
//! - an **internal** node sits at every path that two or more keys share;
//! - a **leaf** sits at the shortest path only its key has (the root itself, for one key);
//! - an empty tree's root is the zero hash.
//!
//! Hashes: a leaf is `H(0x00 ++ leaf key ++ value hash)`; an internal node hashes its 16 child
//! slots as a binary tree of four levels, each pair `H(0x01 ++ left ++ right)` except that two
//! empty (zero) halves make an empty (zero) pair. A proof therefore carries four sibling hashes
//! per level (most of them zero, and left out), not fifteen.
//!
//! Why this tree (and not the 256-level binary one it replaced, or the `jmt` crate): a block's
//! update visits each touched node once, sorted, and each node holds 16 children, so a payment
//! touches ~5 nodes instead of ~26. Nodes are stored at their path and overwritten in place: the
//! ledger keeps values' history itself (`history`), so the tree needs only its latest version
//! and no pruning of stale versions, which a versioned tree (JMT) would.
//!
//! The nodes live behind [`NodeReader`], so the node keeps them in RocksDB and tests in memory.
//! [`update_tree`] reads and never writes: it returns the writes, which a caller commits later
//! (or drops, for a proposal that is not committed).
use super::{ChangeSet, StateCommitment, StateError, StateReader};
use jjj_primitives::{Hash, HashAlgo};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Bytes of a [`NodeKey`]: the depth, then the path's nibbles packed two to a byte.
pub const NODE_KEY_BYTES: usize = 33;
/// Nibbles in a leaf key.
const KEY_NIBBLES: usize = 64;
const LEAF_TAG: u8 = 0;
const INTERNAL_TAG: u8 = 1;

const ZERO: Hash = Hash([0; 32]);

/// Where a node sits: its depth (0 for the root) and the nibbles that lead to it, the unused
/// ones zero. Ordered by depth first, which is all the store needs of an order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeKey([u8; NODE_KEY_BYTES]);

impl NodeKey {
    pub const ROOT: NodeKey = NodeKey([0; NODE_KEY_BYTES]);

    pub fn depth(&self) -> usize {
        usize::from(self.0[0])
    }

    pub fn as_bytes(&self) -> &[u8; NODE_KEY_BYTES] {
        &self.0
    }

    /// An internal node's place must leave room for a child: keys differ within 64 nibbles, so
    /// a sound tree has none at depth 64. A corrupt store could; that is an error, not a panic.
    fn check_internal(&self) -> Result<(), StateError> {
        if self.depth() >= KEY_NIBBLES {
            return Err(StateError::Corrupt {
                key: format!("state tree node {}", hex::encode(self.0)),
                reason: "an internal node at full key depth".into(),
            });
        }
        Ok(())
    }

    /// The error for a node its parent names but the store lacks.
    fn missing(&self) -> StateError {
        StateError::Corrupt {
            key: format!("state tree node {}", hex::encode(self.0)),
            reason: "its parent names it but it is not stored".into(),
        }
    }

    /// The slot `nibble` below this node, whose depth is below 64 (an internal node checked
    /// with `check_internal`, or a place two distinct keys share).
    fn child(&self, nibble: u8) -> NodeKey {
        let depth = self.depth();
        let mut k = self.0;
        k[0] = (depth + 1) as u8;
        let byte = 1 + depth / 2;
        k[byte] |= if depth.is_multiple_of(2) { nibble << 4 } else { nibble };
        NodeKey(k)
    }
}

/// Nibble `i` (0 = the high half of the first byte) of a leaf key.
fn nibble(key: &Hash, i: usize) -> u8 {
    let b = key.0[i / 2];
    if i.is_multiple_of(2) {
        b >> 4
    } else {
        b & 0x0f
    }
}

/// A stored node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Leaf {
        key: Hash,
        value: Hash,
    },
    /// The hashes of the 16 child slots; zero for an empty one. Shared: a cached node is read
    /// by every update that passes through it.
    Internal {
        children: Arc<Slots>,
    },
}

impl Node {
    pub fn hash(&self, algo: HashAlgo) -> Hash {
        match self {
            Node::Leaf { key, value } => leaf_hash(algo, key, value),
            Node::Internal { children } => children.hash(),
        }
    }

    /// The on-disk form: `0 ++ key ++ value` (65 bytes) or `1 ++ u16 slot bitmap (big-endian)
    /// ++ the hashes of the occupied slots in slot order`.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Node::Leaf { key, value } => {
                let mut out = Vec::with_capacity(65);
                out.push(LEAF_TAG);
                out.extend_from_slice(&key.0);
                out.extend_from_slice(&value.0);
                out
            }
            Node::Internal { children } => {
                let mut out = Vec::with_capacity(3 + 32 * 16);
                out.push(INTERNAL_TAG);
                let bitmap =
                    children.slots.iter().enumerate().filter(|(_, h)| **h != ZERO).fold(0u16, |m, (i, _)| m | 1 << i);
                out.extend_from_slice(&bitmap.to_be_bytes());
                for h in children.slots.iter().filter(|h| **h != ZERO) {
                    out.extend_from_slice(&h.0);
                }
                out
            }
        }
    }

    /// Reads the on-disk form, refusing anything [`Node::encode`] would not have written. An
    /// internal node's hash levels are computed here, with the tree's hash `algo`.
    pub fn decode(algo: HashAlgo, bytes: &[u8]) -> Result<Node, String> {
        match bytes.split_first() {
            Some((&LEAF_TAG, rest)) if rest.len() == 64 => {
                Ok(Node::Leaf { key: hash_at(rest, 0), value: hash_at(rest, 32) })
            }
            Some((&INTERNAL_TAG, rest)) if rest.len() >= 2 => {
                let bitmap = u16::from_be_bytes([rest[0], rest[1]]);
                let hashes = &rest[2..];
                let occupied = bitmap.count_ones() as usize;
                if occupied == 0 || hashes.len() != 32 * occupied {
                    return Err(format!("internal node: {occupied} children in its bitmap, {} bytes", hashes.len()));
                }
                let mut children = [ZERO; 16];
                let mut next = 0;
                for (slot, child) in children.iter_mut().enumerate() {
                    if bitmap & (1 << slot) != 0 {
                        *child = hash_at(hashes, next);
                        if *child == ZERO {
                            return Err(format!("internal node: slot {slot} is marked occupied with a zero hash"));
                        }
                        next += 32;
                    }
                }
                Ok(Node::Internal { children: Arc::new(Slots::new(algo, children)) })
            }
            Some((tag, rest)) => Err(format!("node tag {tag} with {} bytes", rest.len())),
            None => Err("an empty node".into()),
        }
    }
}

/// The 32 bytes at `at` (the caller checked the length).
fn hash_at(bytes: &[u8], at: usize) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&bytes[at..at + 32]);
    Hash(h)
}

fn leaf_hash(algo: HashAlgo, key: &Hash, value: &Hash) -> Hash {
    algo.hash_parts(&[&[LEAF_TAG], &key.0, &value.0])
}

/// Two halves of an internal node's binary layout; two empty halves are an empty pair.
fn pair(algo: HashAlgo, left: &Hash, right: &Hash) -> Hash {
    if *left == ZERO && *right == ZERO {
        return ZERO;
    }
    algo.hash_parts(&[&[INTERNAL_TAG], &left.0, &right.0])
}

/// The four levels above the 16 slots: `levels[0]` holds 8 pairs, `[1]` 4, `[2]` 2, `[3]` the
/// node's hash.
fn internal_levels(algo: HashAlgo, children: &[Hash; 16]) -> [[Hash; 8]; 4] {
    let mut levels = [[ZERO; 8]; 4];
    let mut below: &[Hash] = children;
    for (level, out) in levels.iter_mut().enumerate() {
        let width = 8 >> level;
        for i in 0..width {
            out[i] = pair(algo, &below[2 * i], &below[2 * i + 1]);
        }
        below = &out[..width];
    }
    levels
}

/// An internal node's 16 slots and the binary levels above them, its hash on top: kept with
/// the node, so an update hashes again only the pairs above the slots it changed (a node of a
/// busy tree sees one or two of its 16 slots change per block: 4–8 hashes, not 15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slots {
    slots: [Hash; 16],
    levels: [[Hash; 8]; 4],
}

impl Slots {
    fn new(algo: HashAlgo, slots: [Hash; 16]) -> Slots {
        Slots { slots, levels: internal_levels(algo, &slots) }
    }

    /// The hashes of the 16 child slots; zero for an empty one.
    pub fn slots(&self) -> &[Hash; 16] {
        &self.slots
    }

    fn hash(&self) -> Hash {
        self.levels[3][0]
    }

    /// These slots changed to `slots`: only the pairs above a changed slot are hashed again.
    fn updated(&self, algo: HashAlgo, slots: [Hash; 16]) -> Slots {
        let mut changed: u16 = 0;
        for (i, (old, new)) in self.slots.iter().zip(&slots).enumerate() {
            if old != new {
                changed |= 1 << i;
            }
        }
        let mut levels = self.levels;
        let mut below: [Hash; 16] = slots;
        for (level, out) in levels.iter_mut().enumerate() {
            let width = 8 >> level;
            let mut changed_here: u16 = 0;
            for i in 0..width {
                if changed & (0b11 << (2 * i)) != 0 {
                    out[i] = pair(algo, &below[2 * i], &below[2 * i + 1]);
                    changed_here |= 1 << i;
                }
            }
            below[..8].copy_from_slice(&out[..]);
            changed = changed_here;
        }
        Slots { slots, levels }
    }

    /// The hashes a proof needs to climb from slot `slot` to the node's hash: the sibling at
    /// each of the four levels, lowest first.
    fn siblings(&self, slot: u8) -> [Hash; 4] {
        let (levels, s) = (&self.levels, usize::from(slot));
        [self.slots[s ^ 1], levels[0][(s >> 1) ^ 1], levels[1][(s >> 2) ^ 1], levels[2][(s >> 3) ^ 1]]
    }
}

/// Anything that holds the tree's nodes, read by path.
pub trait NodeReader {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError>;
}

impl NodeReader for HashMap<NodeKey, Node> {
    fn node(&self, key: &NodeKey) -> Result<Option<Node>, StateError> {
        Ok(self.get(key).cloned())
    }
}

/// The node writes of one update: a new node at a path, or `None` where a node goes.
pub type NodeWrites = HashMap<NodeKey, Option<Node>>;

/// What an update computed: the new root and the writes that turn the old tree into the new.
#[derive(Debug, Default)]
pub struct TreeUpdate {
    pub root: Hash,
    pub writes: NodeWrites,
}

/// Where `key` sits in the tree.
pub fn leaf_key(algo: HashAlgo, key: &[u8]) -> Hash {
    algo.hash(key)
}

/// The root node of the tree whose root hash is `root`, checked against it: the store keeps
/// only the latest tree, so a caller holding an older root must get an error, not a wrong root.
fn load_root<R: NodeReader + ?Sized>(reader: &R, algo: HashAlgo, root: Hash) -> Result<Option<Node>, StateError> {
    if root == ZERO {
        return Ok(None);
    }
    let node = reader.node(&NodeKey::ROOT)?.ok_or_else(|| StateError::Corrupt {
        key: "state tree root".into(),
        reason: format!("no root node stored for root {root}"),
    })?;
    let stored = node.hash(algo);
    if stored != root {
        return Err(StateError::Backend(format!("the stored state tree has root {stored}, not {root}")));
    }
    Ok(Some(node))
}

/// The root after `changes` on the tree of `root` held by `reader`, and the node writes that
/// make that tree.
pub fn update_tree<R: NodeReader + ?Sized>(
    reader: &R,
    algo: HashAlgo,
    root: Hash,
    changes: &ChangeSet,
) -> Result<TreeUpdate, StateError> {
    let updates: Vec<(Hash, Option<Hash>)> =
        changes.iter().map(|(k, v)| (leaf_key(algo, k), v.as_deref().map(|v| algo.hash(v)))).collect();
    update_leaves(reader, algo, root, updates)
}

/// [`update_tree`] on leaf keys and value hashes (`None`: remove the key).
fn update_leaves<R: NodeReader + ?Sized>(
    reader: &R,
    algo: HashAlgo,
    root: Hash,
    mut updates: Vec<(Hash, Option<Hash>)>,
) -> Result<TreeUpdate, StateError> {
    let current = load_root(reader, algo, root)?;
    if updates.is_empty() {
        return Ok(TreeUpdate { root, writes: NodeWrites::new() });
    }
    updates.sort_unstable_by_key(|u| u.0);
    updates.dedup_by(|later, earlier| later.0 == earlier.0);
    let mut updater = Updater { reader, algo, writes: NodeWrites::new() };
    let root = updater.update(NodeKey::ROOT, current, &updates)?.hash(algo);
    Ok(TreeUpdate { root, writes: updater.writes })
}

/// A subtree after an update, as its parent needs it.
enum Subtree {
    Empty,
    Leaf { key: Hash, value: Hash },
    Internal(Hash),
}

impl Subtree {
    fn hash(&self, algo: HashAlgo) -> Hash {
        match self {
            Subtree::Empty => ZERO,
            Subtree::Leaf { key, value } => leaf_hash(algo, key, value),
            Subtree::Internal(h) => *h,
        }
    }
}

struct Updater<'a, R: ?Sized> {
    reader: &'a R,
    algo: HashAlgo,
    writes: NodeWrites,
}

impl<R: NodeReader + ?Sized> Updater<'_, R> {
    /// A node as this update left it: its own writes first, then the reader.
    fn read(&self, at: &NodeKey) -> Result<Node, StateError> {
        let found = match self.writes.get(at) {
            Some(written) => written.clone(),
            None => self.reader.node(at)?,
        };
        found.ok_or_else(|| at.missing())
    }

    /// Applies `updates` (sorted by leaf key, all under `at`) to the subtree at `at`, whose
    /// node is `current`.
    fn update(
        &mut self,
        at: NodeKey,
        current: Option<Node>,
        updates: &[(Hash, Option<Hash>)],
    ) -> Result<Subtree, StateError> {
        match current {
            None => {
                let inserts: Vec<(Hash, Hash)> = updates.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
                Ok(self.build(at, &inserts))
            }
            Some(Node::Leaf { key, value }) => {
                // The one key here and the updates: rebuild from their union.
                let mut keys: Vec<(Hash, Hash)> = updates.iter().filter_map(|(k, v)| v.map(|v| (*k, v))).collect();
                if updates.binary_search_by(|(k, _)| k.cmp(&key)).is_err() {
                    let at_pos = keys.partition_point(|(k, _)| *k < key);
                    keys.insert(at_pos, (key, value));
                }
                if keys.len() == 1 && keys[0] == (key, value) {
                    return Ok(Subtree::Leaf { key, value });
                }
                let rebuilt = self.build(at, &keys);
                if matches!(rebuilt, Subtree::Empty) {
                    self.writes.insert(at, None);
                }
                Ok(rebuilt)
            }
            Some(Node::Internal { children }) => {
                at.check_internal()?;
                self.update_internal(at, &children, updates)
            }
        }
    }

    fn update_internal(
        &mut self,
        at: NodeKey,
        old: &Slots,
        updates: &[(Hash, Option<Hash>)],
    ) -> Result<Subtree, StateError> {
        let depth = at.depth();
        let mut new = old.slots;
        let mut rest = updates;
        while let Some((first, _)) = rest.first() {
            let slot = nibble(first, depth);
            let group = rest.partition_point(|(k, _)| nibble(k, depth) == slot);
            let child_at = at.child(slot);
            let child = if new[usize::from(slot)] == ZERO { None } else { Some(self.read(&child_at)?) };
            new[usize::from(slot)] = self.update(child_at, child, &rest[..group])?.hash(self.algo);
            rest = &rest[group..];
        }
        if new == old.slots {
            return Ok(Subtree::Internal(old.hash()));
        }
        let mut occupied = new.iter().enumerate().filter(|(_, h)| **h != ZERO);
        match (occupied.next(), occupied.next()) {
            (None, _) => {
                self.writes.insert(at, None);
                Ok(Subtree::Empty)
            }
            (Some((slot, _)), None) => {
                // One child left: a leaf moves up to take this node's place (only one key is
                // under it now); an internal child stays where it is.
                let child_at = at.child(slot as u8);
                if let Node::Leaf { key, value } = self.read(&child_at)? {
                    self.writes.insert(child_at, None);
                    self.writes.insert(at, Some(Node::Leaf { key, value }));
                    return Ok(Subtree::Leaf { key, value });
                }
                Ok(self.write_internal(at, old.updated(self.algo, new)))
            }
            _ => Ok(self.write_internal(at, old.updated(self.algo, new))),
        }
    }

    fn write_internal(&mut self, at: NodeKey, children: Slots) -> Subtree {
        let hash = children.hash();
        self.writes.insert(at, Some(Node::Internal { children: Arc::new(children) }));
        Subtree::Internal(hash)
    }

    /// Writes a fresh subtree at `at` holding exactly `keys` (sorted, distinct, all under `at`).
    fn build(&mut self, at: NodeKey, keys: &[(Hash, Hash)]) -> Subtree {
        match keys {
            [] => Subtree::Empty,
            [(key, value)] => {
                self.writes.insert(at, Some(Node::Leaf { key: *key, value: *value }));
                Subtree::Leaf { key: *key, value: *value }
            }
            _ => {
                let depth = at.depth();
                let mut children = [ZERO; 16];
                let mut rest = keys;
                while let Some((first, _)) = rest.first() {
                    let slot = nibble(first, depth);
                    let group = rest.partition_point(|(k, _)| nibble(k, depth) == slot);
                    children[usize::from(slot)] = self.build(at.child(slot), &rest[..group]).hash(self.algo);
                    rest = &rest[group..];
                }
                self.write_internal(at, Slots::new(self.algo, children))
            }
        }
    }
}

/// The proof for `key` in the tree of `root` held by `reader`: the sibling hashes down the
/// key's path and what ends it (an empty slot, or the leaf there, which may hold another key).
///
/// Encoding: the number of levels (u8); per level a mask (bit i: sibling i is not zero) and the
/// non-zero siblings, lowest first; then `0` (empty) or `1 ++ leaf key ++ value hash`.
pub fn prove_in<R: NodeReader + ?Sized>(
    reader: &R,
    algo: HashAlgo,
    root: Hash,
    key: &[u8],
) -> Result<Vec<u8>, StateError> {
    let key = leaf_key(algo, key);
    let mut levels: Vec<[Hash; 4]> = Vec::new();
    let mut at = NodeKey::ROOT;
    let mut current = load_root(reader, algo, root)?;
    let terminal = loop {
        match current {
            None => break None,
            Some(Node::Leaf { key, value }) => break Some((key, value)),
            Some(Node::Internal { children }) => {
                at.check_internal()?;
                let slot = nibble(&key, at.depth());
                levels.push(children.siblings(slot));
                at = at.child(slot);
                current = if children.slots[usize::from(slot)] == ZERO {
                    None
                } else {
                    Some(reader.node(&at)?.ok_or_else(|| at.missing())?)
                };
            }
        }
    };
    let mut out = Vec::with_capacity(1 + levels.len() * 65 + 65);
    out.push(levels.len() as u8);
    for level in &levels {
        let mask = level.iter().enumerate().filter(|(_, h)| **h != ZERO).fold(0u8, |m, (i, _)| m | 1 << i);
        out.push(mask);
        for h in level.iter().filter(|h| **h != ZERO) {
            out.extend_from_slice(&h.0);
        }
    }
    match terminal {
        None => out.push(0),
        Some((k, v)) => {
            out.push(1);
            out.extend_from_slice(&k.0);
            out.extend_from_slice(&v.0);
        }
    }
    Ok(out)
}

/// A proof read back; `None` for anything [`prove_in`] would not have written.
struct DecodedProof {
    levels: Vec<[Hash; 4]>,
    terminal: Option<(Hash, Hash)>,
}

fn decode_proof(proof: &[u8]) -> Option<DecodedProof> {
    let (&count, mut rest) = proof.split_first()?;
    if usize::from(count) > KEY_NIBBLES {
        return None;
    }
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = (rest.get(..n)?, rest.get(n..)?);
        rest = tail;
        Some(head)
    };
    let mut levels = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let mask = take(1)?[0];
        if mask > 0x0f {
            return None;
        }
        let mut level = [ZERO; 4];
        for (i, h) in level.iter_mut().enumerate() {
            if mask & (1 << i) != 0 {
                *h = hash_at(take(32)?, 0);
            }
        }
        levels.push(level);
    }
    let terminal = match take(1)?[0] {
        0 => None,
        1 => {
            let kv = take(64)?;
            Some((hash_at(kv, 0), hash_at(kv, 32)))
        }
        _ => return None,
    };
    if !rest.is_empty() {
        return None;
    }
    Some(DecodedProof { levels, terminal })
}

/// Checks a proof against a state root: that `key` holds `value` (`None`: is absent).
pub fn verify_proof(algo: HashAlgo, root: &Hash, key: &[u8], value: Option<&[u8]>, proof: &[u8]) -> bool {
    let Some(proof) = decode_proof(proof) else { return false };
    let key = leaf_key(algo, key);
    let depth = proof.levels.len();
    let start = match (proof.terminal, value) {
        (Some((k, v)), Some(value)) if k == key && v == algo.hash(value) => leaf_hash(algo, &k, &v),
        // Another key's leaf in this key's slot shows this key is absent; it must really be in
        // this slot, sharing the path so far.
        (Some((k, v)), None) if k != key && (0..depth).all(|i| nibble(&k, i) == nibble(&key, i)) => {
            leaf_hash(algo, &k, &v)
        }
        (None, None) => ZERO,
        _ => return false,
    };
    let mut h = start;
    for (d, level) in proof.levels.iter().enumerate().rev() {
        let slot = nibble(&key, d);
        for (i, sibling) in level.iter().enumerate() {
            h = if (slot >> i) & 1 == 0 { pair(algo, &h, sibling) } else { pair(algo, sibling, &h) };
        }
    }
    h == *root
}

/// A key's value with the proof that the state root commits to it (or to its absence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateProof {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
}

/// The whole state in memory: values plus tree. For tests, simulation and the runtime's own use.
#[derive(Clone)]
pub struct MemoryState {
    algo: HashAlgo,
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    nodes: HashMap<NodeKey, Node>,
    root: Hash,
}

impl MemoryState {
    /// An empty state hashed with `algo`, the network's hash.
    pub fn new(algo: HashAlgo) -> Self {
        MemoryState { algo, values: BTreeMap::new(), nodes: HashMap::new(), root: Hash::default() }
    }

    /// Applies a block's changes; returns the new root.
    pub fn apply(&mut self, changes: &ChangeSet) -> Result<Hash, StateError> {
        let update = update_tree(&self.nodes, self.algo, self.root, changes)?;
        for (k, node) in update.writes {
            match node {
                Some(node) => self.nodes.insert(k, node),
                None => self.nodes.remove(&k),
            };
        }
        self.root = update.root;
        for (k, v) in changes {
            match v {
                Some(v) => self.values.insert(k.clone(), v.clone()),
                None => self.values.remove(k),
            };
        }
        Ok(self.root)
    }

    pub fn prove(&self, key: &[u8]) -> Result<StateProof, StateError> {
        let proof = prove_in(&self.nodes, self.algo, self.root, key)?;
        Ok(StateProof { key: key.to_vec(), value: self.values.get(key).cloned(), proof })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every key-value pair, in key order (for exports and comparisons).
    pub fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &Vec<u8>)> {
        self.values.iter()
    }
}

impl StateReader for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.values.get(key).cloned())
    }
}

impl StateCommitment for MemoryState {
    fn state_root(&self) -> Hash {
        self.root
    }
    fn root_after(&self, changes: &ChangeSet) -> Result<Hash, StateError> {
        update_tree(&self.nodes, self.algo, self.root, changes).map(|u| u.root)
    }
    fn hash_algo(&self) -> HashAlgo {
        self.algo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALGO: HashAlgo = HashAlgo::Blake2b256;

    fn changes(pairs: &[(&str, Option<&str>)]) -> ChangeSet {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
    }

    #[test]
    fn root_tracks_content_not_history() {
        let mut a = MemoryState::new(ALGO);
        assert_eq!(a.state_root(), Hash::default());
        let r1 = a.apply(&changes(&[("x", Some("1")), ("y", Some("2"))])).expect("apply");
        assert_ne!(r1, Hash::default());
        let mut b = MemoryState::new(ALGO);
        b.apply(&changes(&[("y", Some("2"))])).expect("apply");
        b.apply(&changes(&[("x", Some("1")), ("z", Some("3"))])).expect("apply");
        assert_ne!(b.state_root(), r1);
        b.apply(&changes(&[("z", None)])).expect("apply");
        assert_eq!(b.state_root(), r1, "same content, same root, whatever the order of writes");
        b.apply(&changes(&[("x", None), ("y", None)])).expect("apply");
        assert_eq!(b.state_root(), Hash::default(), "emptied: the empty root");
        assert!(b.nodes.is_empty(), "and no node left behind");
    }

    #[test]
    fn root_after_matches_apply_and_leaves_state_alone() {
        let mut s = MemoryState::new(ALGO);
        s.apply(&changes(&[("a", Some("1"))])).expect("apply");
        let before = s.state_root();
        let c = changes(&[("a", Some("2")), ("b", Some("3"))]);
        let predicted = s.root_after(&c).expect("root_after");
        assert_eq!(s.state_root(), before);
        assert_eq!(s.get(b"a").ok().flatten(), Some(b"1".to_vec()));
        assert_eq!(s.apply(&c).expect("apply"), predicted);
    }

    #[test]
    fn proofs_of_inclusion_and_exclusion() {
        let mut s = MemoryState::new(ALGO);
        for i in 0..100u32 {
            s.apply(&changes(&[(&format!("k{i}"), Some(&format!("v{i}")))])).expect("apply");
        }
        let root = s.state_root();
        let p = s.prove(b"k42").expect("prove");
        assert_eq!(p.value.as_deref(), Some(&b"v42"[..]));
        assert!(verify_proof(ALGO, &root, b"k42", Some(b"v42"), &p.proof));
        assert!(!verify_proof(ALGO, &root, b"k42", Some(b"v43"), &p.proof), "a wrong value fails");
        assert!(!verify_proof(ALGO, &root, b"k42", None, &p.proof), "claiming absence fails");
        assert!(!verify_proof(ALGO, &root, b"k43", Some(b"v42"), &p.proof), "another key fails");
        let absent = s.prove(b"nope").expect("prove");
        assert_eq!(absent.value, None);
        assert!(verify_proof(ALGO, &root, b"nope", None, &absent.proof));
        assert!(!verify_proof(ALGO, &root, b"nope", Some(b"x"), &absent.proof));
        assert!(!verify_proof(ALGO, &Hash([7; 32]), b"k42", Some(b"v42"), &p.proof), "another root fails");
        assert!(!verify_proof(ALGO, &root, b"k42", Some(b"v42"), &[1, 2, 3]), "garbage proof fails");
        assert!(!verify_proof(ALGO, &root, b"k42", Some(b"v42"), &p.proof[..p.proof.len() - 1]), "truncated");
        assert!(!verify_proof(ALGO, &root, b"k42", Some(b"v42"), &[&p.proof[..], &[0]].concat()), "trailing");
        // A present key's proof cannot be turned into its absence with another key's leaf.
        let other = s.prove(b"k7").expect("prove");
        assert!(!verify_proof(ALGO, &root, b"k42", None, &other.proof));
        // 100 keys, 16 slots a level: proofs are a few levels of at most four siblings.
        assert!(p.proof.len() < 1 + 4 * (1 + 4 * 32) + 65, "{} bytes", p.proof.len());
    }

    #[test]
    fn each_hash_gives_its_own_roots_and_proofs() {
        let c = changes(&[("a", Some("1")), ("b", Some("2"))]);
        let mut blake = MemoryState::new(HashAlgo::Blake2b256);
        let mut sm3 = MemoryState::new(HashAlgo::Sm3);
        let (rb, rs) = (blake.apply(&c).expect("apply"), sm3.apply(&c).expect("apply"));
        assert_ne!(rb, rs, "the same content has a different root under SM3");
        assert_eq!(sm3.root_after(&ChangeSet::new()).expect("root"), rs);
        let p = sm3.prove(b"a").expect("prove");
        assert!(verify_proof(HashAlgo::Sm3, &rs, b"a", Some(b"1"), &p.proof));
        assert!(!verify_proof(HashAlgo::Blake2b256, &rs, b"a", Some(b"1"), &p.proof), "checked with the wrong hash");
    }

    /// A small deterministic generator, so a failure replays.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    /// Nodes reachable from the root: what the store must hold, no more.
    fn reachable(nodes: &HashMap<NodeKey, Node>, at: NodeKey, out: &mut usize) {
        *out += 1;
        if let Some(Node::Internal { children }) = nodes.get(&at) {
            for (slot, h) in children.slots.iter().enumerate() {
                if *h != ZERO {
                    assert_eq!(nodes.get(&at.child(slot as u8)).map(|n| n.hash(ALGO)), Some(*h), "child hash");
                    reachable(nodes, at.child(slot as u8), out);
                }
            }
        }
    }

    /// Random blocks of inserts, overwrites and removals (of present and absent keys): the root
    /// always equals that of the same content built in one go, every key proves, and the store
    /// holds exactly the reachable nodes.
    #[test]
    fn random_updates_keep_a_canonical_tree_with_no_stale_nodes() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut s = MemoryState::new(ALGO);
        for round in 0..60 {
            let mut c = ChangeSet::new();
            for _ in 0..(rng.next() % 40) {
                let k = format!("key{}", rng.next() % 300).into_bytes();
                let v =
                    if rng.next().is_multiple_of(3) { None } else { Some(format!("v{}", rng.next() % 5).into_bytes()) };
                c.insert(k, v);
            }
            let predicted = s.root_after(&c).expect("root_after");
            assert_eq!(s.apply(&c).expect("apply"), predicted);
            let mut fresh = MemoryState::new(ALGO);
            let all: ChangeSet = s.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
            assert_eq!(fresh.apply(&all).expect("apply"), s.state_root(), "round {round}: canonical");
            let mut count = 0;
            if s.state_root() != ZERO {
                reachable(&s.nodes, NodeKey::ROOT, &mut count);
            }
            assert_eq!(s.nodes.len(), count, "round {round}: no stale nodes");
            for i in (0..300).step_by(37) {
                let k = format!("key{i}").into_bytes();
                let p = s.prove(&k).expect("prove");
                assert!(verify_proof(ALGO, &s.state_root(), &k, p.value.as_deref(), &p.proof), "round {round} key {i}");
            }
        }
    }

    /// Hashing again only the pairs above changed slots gives what hashing all of them gives.
    #[test]
    fn rehashing_only_changed_pairs_gives_the_full_hash() {
        let mut rng = XorShift(0x5eed);
        let random_hash = |rng: &mut XorShift| Hash([(rng.next() as u8) | 1; 32]);
        let mut slots = [ZERO; 16];
        for s in slots.iter_mut().step_by(3) {
            *s = random_hash(&mut rng);
        }
        let mut node = Slots::new(ALGO, slots);
        for round in 0..300 {
            let mut next = node.slots;
            for _ in 0..(rng.next() % 5) {
                let slot = (rng.next() % 16) as usize;
                next[slot] = if rng.next().is_multiple_of(3) { ZERO } else { random_hash(&mut rng) };
            }
            node = node.updated(ALGO, next);
            assert_eq!(node, Slots::new(ALGO, next), "round {round}");
        }
    }

    /// Leaf keys that share all but their last nibble: the deepest internal node (depth 63)
    /// and its collapse back into one leaf when one key goes.
    #[test]
    fn keys_sharing_63_nibbles_split_and_collapse() {
        let a = Hash([0xab; 32]);
        let mut b = a;
        b.0[31] = 0xac; // the last nibble differs
        let v = Hash([1; 32]);
        let nodes = HashMap::new();
        let up = update_leaves(&nodes, ALGO, ZERO, vec![(a, Some(v)), (b, Some(v))]).expect("update");
        let mut nodes: HashMap<NodeKey, Node> = up.writes.into_iter().filter_map(|(k, n)| Some((k, n?))).collect();
        assert_eq!(nodes.len(), 64 + 2, "63 single-child internal nodes above the split, the split, two leaves");
        assert!(nodes.keys().any(|k| k.depth() == 64));
        let gone = update_leaves(&nodes, ALGO, up.root, vec![(b, None)]).expect("update");
        for (k, n) in gone.writes {
            match n {
                Some(n) => nodes.insert(k, n),
                None => nodes.remove(&k),
            };
        }
        assert_eq!(gone.root, leaf_hash(ALGO, &a, &v), "one key left: the root is its leaf");
        assert_eq!(nodes.len(), 1, "every internal node went");
    }

    /// A corrupt store with an internal node where only leaves can be (depth 64) gives an
    /// error, not an out-of-bounds panic.
    #[test]
    fn an_internal_node_at_full_depth_is_an_error_not_a_panic() {
        let a = Hash([0xab; 32]);
        let mut b = a;
        b.0[31] = 0xac;
        let v = Hash([1; 32]);
        let up = update_leaves(&HashMap::new(), ALGO, ZERO, vec![(a, Some(v)), (b, Some(v))]).expect("update");
        let mut nodes: HashMap<NodeKey, Node> = up.writes.into_iter().filter_map(|(k, n)| Some((k, n?))).collect();
        let deepest = *nodes
            .iter()
            .find(|(k, n)| k.depth() == 64 && matches!(n, Node::Leaf { key, .. } if *key == a))
            .expect("a's leaf")
            .0;
        let mut slots = [ZERO; 16];
        slots[0] = v;
        nodes.insert(deepest, Node::Internal { children: Arc::new(Slots::new(ALGO, slots)) });
        let result = update_leaves(&nodes, ALGO, up.root, vec![(a, Some(Hash([2; 32])))]);
        assert!(matches!(result, Err(StateError::Corrupt { .. })), "{result:?}");
    }

    #[test]
    fn a_stale_root_is_an_error_not_a_wrong_root() {
        let mut s = MemoryState::new(ALGO);
        s.apply(&changes(&[("a", Some("1")), ("b", Some("2"))])).expect("apply");
        let stale = Hash([9; 32]);
        assert!(update_tree(&s.nodes, ALGO, stale, &changes(&[("c", Some("3"))])).is_err());
        assert!(prove_in(&s.nodes, ALGO, stale, b"a").is_err());
    }

    #[test]
    fn node_encoding_round_trips_and_rejects_garbage() {
        let leaf = Node::Leaf { key: Hash([1; 32]), value: Hash([2; 32]) };
        assert_eq!(Node::decode(ALGO, &leaf.encode()), Ok(leaf.clone()));
        let mut children = [ZERO; 16];
        children[3] = Hash([3; 32]);
        children[15] = Hash([4; 32]);
        let internal = Node::Internal { children: Arc::new(Slots::new(ALGO, children)) };
        let bytes = internal.encode();
        assert_eq!(bytes.len(), 3 + 64, "only the occupied slots are stored");
        assert_eq!(Node::decode(ALGO, &bytes), Ok(internal));
        assert!(Node::decode(ALGO, &bytes[..bytes.len() - 1]).is_err(), "short");
        assert!(Node::decode(ALGO, &[&bytes[..], &[0]].concat()).is_err(), "trailing");
        assert!(Node::decode(ALGO, &[INTERNAL_TAG, 0, 0]).is_err(), "no children");
        assert!(Node::decode(ALGO, &[&[INTERNAL_TAG, 0, 1][..], &[0; 32]].concat()).is_err(), "a zero child");
        assert!(Node::decode(ALGO, &[9, 1, 2]).is_err(), "unknown tag");
        assert!(Node::decode(ALGO, &[]).is_err(), "empty");
        assert!(Node::decode(ALGO, &leaf.encode()[..64]).is_err(), "short leaf");
    }
}
