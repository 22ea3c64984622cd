//! The state commitment: a sparse Merkle tree (nervos `sparse-merkle-tree`, 256-bit keys) over
//! `H(key) → H(value)`, with H the network's hash (BLAKE2b-256 or SM3, [`HashAlgo`]) for leaves
//! and nodes alike. Updating a block's changes costs O(changes · log n);
//! proofs show a key's value (inclusion) or its absence (exclusion) against a state root.
//!
//! The tree's nodes live behind the crate's store traits, so the node keeps them in RocksDB and
//! tests keep them in memory. [`StagedStore`] layers uncommitted node writes over any store: a
//! replica computes a proposal's root without touching its committed tree.
use super::{ChangeSet, StateCommitment, StateError, StateReader};
use blake2::digest::{consts::U32, Digest};
use jjj_primitives::{Hash, HashAlgo};
use sparse_merkle_tree::default_store::DefaultStore;
use sparse_merkle_tree::error::Error as SmtError;
use sparse_merkle_tree::traits::{Hasher, StoreReadOps, StoreWriteOps};
use sparse_merkle_tree::{BranchKey, BranchNode, CompiledMerkleProof, SparseMerkleTree, H256};
use std::collections::{BTreeMap, HashMap};

/// A 256-bit digest as the tree's node hasher.
#[derive(Default)]
pub struct DigestHasher<D>(D);

impl<D: Digest + Default> Hasher for DigestHasher<D> {
    fn write_h256(&mut self, h: &H256) {
        self.0.update(h.as_slice());
    }
    fn write_byte(&mut self, b: u8) {
        self.0.update([b]);
    }
    fn finish(self) -> H256 {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.0.finalize()[..32]);
        out.into()
    }
}

/// BLAKE2b-256 as the tree's node hasher (`ed25519+blake2b` networks).
pub type Blake2bHasher = DigestHasher<blake2::Blake2b<U32>>;
/// SM3 as the tree's node hasher (`sm2+sm3` networks).
pub type Sm3Hasher = DigestHasher<sm3::Sm3>;

/// Runs `$body` with `$H` bound to the node hasher of `$algo`: the tree is generic over its
/// hasher, the network's choice is a value.
macro_rules! with_hasher {
    ($algo:expr, $H:ident => $body:expr) => {
        match $algo {
            HashAlgo::Blake2b256 => {
                type $H = Blake2bHasher;
                $body
            }
            HashAlgo::Sm3 => {
                type $H = Sm3Hasher;
                $body
            }
        }
    };
}

/// Anything that can hold the tree's nodes.
pub trait TreeStore: StoreReadOps<H256> + StoreWriteOps<H256> {}
impl<S: StoreReadOps<H256> + StoreWriteOps<H256>> TreeStore for S {}

/// Where `key` sits in the tree.
pub fn leaf_key(algo: HashAlgo, key: &[u8]) -> H256 {
    algo.hash(key).0.into()
}

fn leaf_value(algo: HashAlgo, value: Option<&[u8]>) -> H256 {
    match value {
        Some(v) => algo.hash(v).0.into(),
        None => H256::zero(),
    }
}

fn smt_err(e: SmtError) -> StateError {
    StateError::Backend(format!("merkle tree: {e}"))
}

pub(crate) fn to_hash(h: &H256) -> Hash {
    let b: [u8; 32] = (*h).into();
    Hash(b)
}

/// The tree leaves a change set touches.
fn leaves_of(algo: HashAlgo, changes: &ChangeSet) -> Vec<(H256, H256)> {
    changes.iter().map(|(k, v)| (leaf_key(algo, k), leaf_value(algo, v.as_deref()))).collect()
}

/// Node writes staged over a read-only base store.
pub struct StagedStore<'a, S> {
    base: &'a S,
    pub branches: HashMap<BranchKey, Option<BranchNode>>,
    pub leaves: HashMap<H256, Option<H256>>,
}

impl<'a, S> StagedStore<'a, S> {
    pub fn new(base: &'a S) -> Self {
        StagedStore { base, branches: HashMap::new(), leaves: HashMap::new() }
    }
}

impl<S: StoreReadOps<H256>> StoreReadOps<H256> for StagedStore<'_, S> {
    fn get_branch(&self, key: &BranchKey) -> Result<Option<BranchNode>, SmtError> {
        match self.branches.get(key) {
            Some(v) => Ok(v.clone()),
            None => self.base.get_branch(key),
        }
    }
    fn get_leaf(&self, key: &H256) -> Result<Option<H256>, SmtError> {
        match self.leaves.get(key) {
            Some(v) => Ok(*v),
            None => self.base.get_leaf(key),
        }
    }
}

impl<S> StoreWriteOps<H256> for StagedStore<'_, S> {
    fn insert_branch(&mut self, key: BranchKey, branch: BranchNode) -> Result<(), SmtError> {
        self.branches.insert(key, Some(branch));
        Ok(())
    }
    fn insert_leaf(&mut self, key: H256, leaf: H256) -> Result<(), SmtError> {
        self.leaves.insert(key, Some(leaf));
        Ok(())
    }
    fn remove_branch(&mut self, key: &BranchKey) -> Result<(), SmtError> {
        self.branches.insert(key.clone(), None);
        Ok(())
    }
    fn remove_leaf(&mut self, key: &H256) -> Result<(), SmtError> {
        self.leaves.insert(*key, None);
        Ok(())
    }
}

/// Root of `root`'s tree after `changes`, computed over staged writes; returns the root and the
/// staged node writes (for a caller that wants to persist them).
pub fn stage_changes<'a, S: StoreReadOps<H256>>(
    store: &'a S,
    algo: HashAlgo,
    root: Hash,
    changes: &ChangeSet,
) -> Result<(Hash, StagedStore<'a, S>), StateError> {
    with_hasher!(algo, H => {
        let mut tree: SparseMerkleTree<H, H256, StagedStore<'a, S>> =
            SparseMerkleTree::new(root.0.into(), StagedStore::new(store));
        let new_root = to_hash(tree.update_all(leaves_of(algo, changes)).map_err(smt_err)?);
        Ok((new_root, tree.take_store()))
    })
}

/// The compiled proof for `key` in the tree of `root` held by `store`.
pub fn prove_in<S: StoreReadOps<H256>>(
    store: &S,
    algo: HashAlgo,
    root: Hash,
    key: &[u8],
) -> Result<Vec<u8>, StateError> {
    with_hasher!(algo, H => {
        let tree: SparseMerkleTree<H, H256, StagedStore<'_, S>> =
            SparseMerkleTree::new(root.0.into(), StagedStore::new(store));
        let k = leaf_key(algo, key);
        let proof = tree.merkle_proof(vec![k]).and_then(|p| p.compile(vec![k])).map_err(smt_err)?;
        Ok(proof.into())
    })
}

/// A key's value with the proof that the state root commits to it (or to its absence).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateProof {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
}

/// Checks a proof against a state root: that `key` holds `value` (`None`: is absent).
pub fn verify_proof(algo: HashAlgo, root: &Hash, key: &[u8], value: Option<&[u8]>, proof: &[u8]) -> bool {
    let leaves = vec![(leaf_key(algo, key), leaf_value(algo, value))];
    let proof = CompiledMerkleProof(proof.to_vec());
    with_hasher!(algo, H => proof.verify::<H>(&root.0.into(), leaves).unwrap_or(false))
}

/// The whole state in memory: values plus tree. For tests, simulation and the runtime's own use.
#[derive(Clone)]
pub struct MemoryState {
    algo: HashAlgo,
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    tree: DefaultStore<H256>,
    root: Hash,
}

impl MemoryState {
    /// An empty state hashed with `algo`, the network's hash.
    pub fn new(algo: HashAlgo) -> Self {
        MemoryState { algo, values: BTreeMap::new(), tree: DefaultStore::default(), root: Hash::default() }
    }

    /// Applies a block's changes; returns the new root.
    pub fn apply(&mut self, changes: &ChangeSet) -> Result<Hash, StateError> {
        let leaves = leaves_of(self.algo, changes);
        let (root, result) = with_hasher!(self.algo, H => {
            let mut tree: SparseMerkleTree<H, H256, DefaultStore<H256>> =
                SparseMerkleTree::new(self.root.0.into(), std::mem::take(&mut self.tree));
            let result = tree.update_all(leaves).map(to_hash);
            let root = *tree.root();
            self.tree = tree.take_store();
            (root, result)
        });
        let new_root = result.map_err(smt_err)?;
        self.root = to_hash(&root);
        for (k, v) in changes {
            match v {
                Some(v) => self.values.insert(k.clone(), v.clone()),
                None => self.values.remove(k),
            };
        }
        Ok(new_root)
    }

    pub fn prove(&self, key: &[u8]) -> Result<StateProof, StateError> {
        let proof = prove_in(&self.tree, self.algo, self.root, key)?;
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
        stage_changes(&self.tree, self.algo, self.root, changes).map(|(root, _)| root)
    }
    fn hash_algo(&self) -> HashAlgo {
        self.algo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(pairs: &[(&str, Option<&str>)]) -> ChangeSet {
        pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))).collect()
    }

    #[test]
    fn root_tracks_content_not_history() {
        let mut a = MemoryState::new(HashAlgo::Blake2b256);
        assert_eq!(a.state_root(), Hash::default());
        let r1 = a.apply(&changes(&[("x", Some("1")), ("y", Some("2"))])).expect("apply");
        assert_ne!(r1, Hash::default());
        let mut b = MemoryState::new(HashAlgo::Blake2b256);
        b.apply(&changes(&[("y", Some("2"))])).expect("apply");
        b.apply(&changes(&[("x", Some("1")), ("z", Some("3"))])).expect("apply");
        assert_ne!(b.state_root(), r1);
        b.apply(&changes(&[("z", None)])).expect("apply");
        assert_eq!(b.state_root(), r1, "same content, same root, whatever the order of writes");
    }

    #[test]
    fn root_after_matches_apply_and_leaves_state_alone() {
        let mut s = MemoryState::new(HashAlgo::Blake2b256);
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
        let mut s = MemoryState::new(HashAlgo::Blake2b256);
        for i in 0..100u32 {
            s.apply(&changes(&[(&format!("k{i}"), Some(&format!("v{i}")))])).expect("apply");
        }
        let root = s.state_root();
        let p = s.prove(b"k42").expect("prove");
        assert_eq!(p.value.as_deref(), Some(&b"v42"[..]));
        assert!(verify_proof(HashAlgo::Blake2b256, &root, b"k42", Some(b"v42"), &p.proof));
        assert!(!verify_proof(HashAlgo::Blake2b256, &root, b"k42", Some(b"v43"), &p.proof), "a wrong value fails");
        assert!(!verify_proof(HashAlgo::Blake2b256, &root, b"k42", None, &p.proof), "claiming absence fails");
        let absent = s.prove(b"nope").expect("prove");
        assert_eq!(absent.value, None);
        assert!(verify_proof(HashAlgo::Blake2b256, &root, b"nope", None, &absent.proof));
        assert!(!verify_proof(HashAlgo::Blake2b256, &root, b"nope", Some(b"x"), &absent.proof));
        assert!(
            !verify_proof(HashAlgo::Blake2b256, &Hash([7; 32]), b"k42", Some(b"v42"), &p.proof),
            "another root fails"
        );
        assert!(!verify_proof(HashAlgo::Blake2b256, &root, b"k42", Some(b"v42"), &[1, 2, 3]), "garbage proof fails");
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
}
