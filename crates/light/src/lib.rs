//! jjj-light: trust a network's history knowing only its genesis.
//!
//! A [`LightClient`] starts from the genesis header and validators and accepts one certified
//! header after another: each must extend the previous one and carry a commit certificate of a
//! quorum of the validator set in force at its height. Validator sets change by governance, and
//! the chain keeps the schedule of changes in its state (`jjj_state::gov::keys::validator_schedule`):
//! with every header the client takes that record's state proof against the header's state
//! root, so it follows every change without executing a block. What it learned is a
//! [`SetHistory`]: the set of every height up to the head.
//!
//! Proofs are then checked against the history alone ([`SetHistory::verify_receipt`],
//! [`SetHistory::verify_state`]): a receipt proof (`tx_getProof`) or a state proof
//! (`state_getProof`) is good when its header is certified by the set of its height. A
//! certificate by a set that governance had already replaced is refused — the attack a
//! history-less check (genesis validators only) cannot see. The chain's own check of another
//! network's receipts (a contract's `verify_receipt`) goes through the same code with the one
//! set its light-client record holds ([`SetHistory::fixed`]).
use jjj_consensus::{CommitCertificate, ProofError, ReceiptProof, ValidatorSet, VerifiedReceipt};
use jjj_crypto::Suite;
use jjj_primitives::{AccountId, Hash, Header, NetworkId};
use jjj_state::gov::{keys, scheduled_at};
use parity_scale_codec::{Decode, DecodeAll, Encode};

/// A validator-set schedule as the chain stores it: ascending `(from height, set)`.
pub type Schedule = Vec<(u64, Vec<AccountId>)>;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LightError {
    #[error("height {height}: the header is of network {got}, not {expected}")]
    WrongNetwork { height: u64, expected: NetworkId, got: NetworkId },
    #[error("height {height}: expected the header of height {expected}")]
    NotNext { height: u64, expected: u64 },
    #[error(
        "height {height}: the header does not extend the verified header of height {parent} (parent hash differs)"
    )]
    WrongParent { height: u64, parent: u64 },
    #[error("height 0: this is not the genesis the history starts from (hash {got}, expected {expected})")]
    WrongGenesis { expected: Hash, got: Hash },
    #[error("height {height}: no certificate")]
    NoCertificate { height: u64 },
    #[error("height {height}: the certificate is for another block (a forged or altered header)")]
    CertificateOfAnotherBlock { height: u64 },
    #[error("height {height}: the certificate is not signed by a quorum of the validator set in force at that height: {reason}")]
    Certificate { height: u64, reason: String },
    #[error(
        "height {height}: the validator-set history is known up to height {known_to}; follow the network further \
         (`jjj follow`) before checking this proof"
    )]
    BeyondHistory { height: u64, known_to: u64 },
    #[error("height {height}: the validator schedule's state proof does not match the header's state root")]
    ScheduleProof { height: u64 },
    #[error("height {height}: the validator schedule does not decode: {reason}")]
    ScheduleEncoding { height: u64, reason: String },
    #[error("height {height}: the validator schedule rewrites the set of height {changed}, which is already in force")]
    ScheduleRewritten { height: u64, changed: u64 },
    #[error("height {height}: the state proof of key {key} does not match the header's state root")]
    StateProof { height: u64, key: String },
    #[error("{0}")]
    Receipt(ProofError),
}

/// The validator set of every height up to `known_to`, from the genesis set and the schedule
/// of changes governance made. Sound only as far as it was verified ([`LightClient`], or a
/// replay that executed every block).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SetHistory {
    pub network: NetworkId,
    /// The genesis header's hash: which network history this is.
    pub genesis_hash: Hash,
    pub genesis: Vec<AccountId>,
    pub schedule: Schedule,
    /// The highest height whose set is known: the schedule may still change for later ones.
    pub known_to: u64,
}

impl SetHistory {
    /// One set for every height, trusted as given: the chain's light-client record of another
    /// network (which governance keeps current) is such a history.
    pub fn fixed(network: NetworkId, validators: Vec<AccountId>) -> SetHistory {
        SetHistory { network, genesis_hash: Hash::default(), genesis: validators, schedule: vec![], known_to: u64::MAX }
    }

    /// The set that certifies blocks at `height`.
    pub fn at(&self, height: u64) -> Result<ValidatorSet, LightError> {
        if height > self.known_to {
            return Err(LightError::BeyondHistory { height, known_to: self.known_to });
        }
        let set = scheduled_at(&self.schedule, height).map_or_else(|| self.genesis.clone(), <[AccountId]>::to_vec);
        ValidatorSet::new(set).map_err(|e| LightError::Certificate { height, reason: e.to_string() })
    }

    /// Checks that `header` is certified by `certificate` of the set of its height (the genesis
    /// header by its hash: it has no certificate).
    pub fn verify_header(
        &self,
        suite: Suite,
        header: &Header,
        certificate: Option<&CommitCertificate>,
    ) -> Result<(), LightError> {
        let height = header.height;
        if header.network != self.network {
            return Err(LightError::WrongNetwork {
                height,
                expected: self.network.clone(),
                got: header.network.clone(),
            });
        }
        let hash = header.hash(suite.hash_algo());
        if height == 0 && self.genesis_hash != Hash::default() {
            return match hash == self.genesis_hash {
                true => Ok(()),
                false => Err(LightError::WrongGenesis { expected: self.genesis_hash, got: hash }),
            };
        }
        let cert = certificate.ok_or(LightError::NoCertificate { height })?;
        if cert.height != height || cert.block_hash != hash {
            return Err(LightError::CertificateOfAnotherBlock { height });
        }
        let set = self.at(height)?;
        cert.verify(suite, &self.network, &set).map_err(|e| LightError::Certificate { height, reason: e.to_string() })
    }

    /// A receipt proof checked against the set of its height.
    pub fn verify_receipt(&self, suite: Suite, proof: &ReceiptProof) -> Result<VerifiedReceipt, LightError> {
        let set = self.at(proof.header.height)?;
        proof.verify(suite, &self.network, &set).map_err(|e| match e {
            ProofError::Certificate { height, reason } => LightError::Certificate { height, reason },
            ProofError::CertificateOfAnotherBlock { height } => LightError::CertificateOfAnotherBlock { height },
            other => LightError::Receipt(other),
        })
    }

    /// A state proof checked: its header is certified, and the key holds the value (or is
    /// absent) under the header's state root.
    pub fn verify_state(&self, suite: Suite, proof: &CertifiedStateProof) -> Result<(), LightError> {
        self.verify_header(suite, &proof.header, proof.certificate.as_ref())?;
        let ok = jjj_state::verify_proof(
            suite.hash_algo(),
            &proof.header.state_root,
            &proof.key,
            proof.value.as_deref(),
            &proof.proof,
        );
        match ok {
            true => Ok(()),
            false => Err(LightError::StateProof { height: proof.header.height, key: hex(&proof.key) }),
        }
    }
}

/// A key's value (or absence) at a height, with the header, its certificate (none for the
/// genesis header) and the tree proof against the header's state root.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CertifiedStateProof {
    pub header: Header,
    pub certificate: Option<CommitCertificate>,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
}

/// Follows a network's certified headers from genesis (or from a head verified earlier).
#[derive(Clone, Debug)]
pub struct LightClient {
    suite: Suite,
    head: Header,
    head_hash: Hash,
    sets: SetHistory,
}

/// What [`LightClient::accept`] learned from one header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    pub height: u64,
    pub hash: Hash,
    /// Validator-set changes this header's state scheduled that were not known before.
    pub new_sets: Vec<(u64, Vec<AccountId>)>,
}

impl LightClient {
    /// From the genesis header, its validators and the schedule in the genesis state (usually
    /// none): the sets of heights 0 and 1 are then known.
    pub fn from_genesis(suite: Suite, genesis: Header, validators: Vec<AccountId>, schedule: Schedule) -> Self {
        let hash = genesis.hash(suite.hash_algo());
        let sets = SetHistory {
            network: genesis.network.clone(),
            genesis_hash: hash,
            genesis: validators,
            schedule,
            known_to: 1,
        };
        LightClient { suite, head: genesis, head_hash: hash, sets }
    }

    /// Resumes from a head and the history known up to it (saved by an earlier run).
    pub fn resume(suite: Suite, head: Header, sets: SetHistory) -> Result<Self, LightError> {
        if sets.known_to != head.height.saturating_add(1) || head.network != sets.network {
            return Err(LightError::NotNext { height: head.height, expected: sets.known_to.saturating_sub(1) });
        }
        let head_hash = head.hash(suite.hash_algo());
        Ok(LightClient { suite, head, head_hash, sets })
    }

    pub fn head(&self) -> &Header {
        &self.head
    }

    pub fn head_hash(&self) -> Hash {
        self.head_hash
    }

    pub fn sets(&self) -> &SetHistory {
        &self.sets
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The key whose state proof must come with every header.
    pub fn schedule_key() -> Vec<u8> {
        keys::validator_schedule()
    }

    /// Accepts the header after the head: it extends the head, its certificate is signed by a
    /// quorum of the set of its height, and `schedule` (the validator schedule's value, `None`
    /// if absent, and its proof) is what its state root commits to. The sets of the next
    /// height are then known. Nothing changes when it is refused.
    pub fn accept(
        &mut self,
        header: Header,
        certificate: &CommitCertificate,
        schedule: Option<&[u8]>,
        schedule_proof: &[u8],
    ) -> Result<Accepted, LightError> {
        let height = header.height;
        let expected = self.head.height.saturating_add(1);
        if height != expected {
            return Err(LightError::NotNext { height, expected });
        }
        if header.parent_hash != self.head_hash {
            return Err(LightError::WrongParent { height, parent: self.head.height });
        }
        self.sets.verify_header(self.suite, &header, Some(certificate))?;
        let key = Self::schedule_key();
        if !jjj_state::verify_proof(self.suite.hash_algo(), &header.state_root, &key, schedule, schedule_proof) {
            return Err(LightError::ScheduleProof { height });
        }
        let new: Schedule = match schedule {
            None => vec![],
            Some(bytes) => Schedule::decode_all(&mut &bytes[..])
                .map_err(|e| LightError::ScheduleEncoding { height, reason: e.to_string() })?,
        };
        // The sets known so far (up to this height) never change after the fact; this header's
        // state decides the next height's.
        let next = height.saturating_add(1);
        for h in scheduled_heights(&self.sets.schedule, &new).filter(|h| *h <= height) {
            if scheduled_at(&self.sets.schedule, h) != scheduled_at(&new, h) {
                return Err(LightError::ScheduleRewritten { height, changed: h });
            }
        }
        let new_sets = new.iter().filter(|e| !self.sets.schedule.contains(e)).cloned().collect();
        let hash = header.hash(self.suite.hash_algo());
        self.sets.schedule = new;
        self.sets.known_to = next;
        self.head = header;
        self.head_hash = hash;
        Ok(Accepted { height, hash, new_sets })
    }
}

/// Every height at which either schedule changes the set.
fn scheduled_heights<'a>(a: &'a Schedule, b: &'a Schedule) -> impl Iterator<Item = u64> + 'a {
    a.iter().chain(b.iter()).map(|(h, _)| *h)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_consensus::{Vote, VoteKind};
    use jjj_crypto::{Keypair, Scheme};
    use jjj_primitives::{merkle_proof, merkle_root, Call, MerkleProof, Receipt, ReceiptStatus, Transaction};
    use jjj_state::{MemoryState, StateCommitment};

    const SUITE: Suite = Suite::Ed25519Blake2b;

    fn keys(prefix: &str) -> Vec<Keypair> {
        (0..4).map(|i| Keypair::named(Scheme::Ed25519, &format!("{prefix}-{i}"))).collect()
    }

    fn ids(keys: &[Keypair]) -> Vec<AccountId> {
        keys.iter().map(Keypair::account).collect()
    }

    fn network() -> NetworkId {
        NetworkId::new("jjj").expect("id")
    }

    fn certify(keys: &[Keypair], header: &Header) -> CommitCertificate {
        let block_hash = header.hash(SUITE.hash_algo());
        let signatures = keys[..3]
            .iter()
            .map(|k| {
                let v = Vote::sign(&network(), k, VoteKind::Commit, header.height, 0, block_hash);
                (v.voter, v.signature)
            })
            .collect();
        CommitCertificate { height: header.height, view: 0, block_hash, signatures }
    }

    /// A chain whose state is `state`, one header per call.
    struct Chain {
        state: MemoryState,
        headers: Vec<Header>,
    }

    impl Chain {
        fn new() -> Chain {
            let state = MemoryState::new(SUITE.hash_algo());
            let genesis = header(0, Hash::default(), state.state_root(), Hash::default());
            Chain { state, headers: vec![genesis] }
        }

        /// The next header; `schedule` (if given) is written to the state first.
        fn next(&mut self, schedule: Option<&Schedule>, tx_root: Hash) -> Header {
            if let Some(s) = schedule {
                let changes = [(LightClient::schedule_key(), Some(s.encode()))].into_iter().collect();
                self.state.apply(&changes).expect("apply");
            }
            let parent = self.headers.last().expect("genesis");
            let h = header(parent.height + 1, parent.hash(SUITE.hash_algo()), self.state.state_root(), tx_root);
            self.headers.push(h.clone());
            h
        }

        fn schedule_proof(&self) -> (Option<Vec<u8>>, Vec<u8>) {
            let p = self.state.prove(&LightClient::schedule_key()).expect("prove");
            (p.value, p.proof)
        }
    }

    fn header(height: u64, parent_hash: Hash, state_root: Hash, tx_root: Hash) -> Header {
        Header {
            network: network(),
            height,
            parent_hash,
            timestamp: height,
            proposer: AccountId([1; 32]),
            tx_root,
            receipts_root: tx_root,
            state_root,
        }
    }

    fn accept(
        client: &mut LightClient,
        chain: &Chain,
        h: &Header,
        signers: &[Keypair],
    ) -> Result<Accepted, LightError> {
        let (value, proof) = chain.schedule_proof();
        client.accept(h.clone(), &certify(signers, h), value.as_deref(), &proof)
    }

    #[test]
    fn follows_a_validator_set_change_and_refuses_the_replaced_set() {
        let (old, new) = (keys("old"), keys("new"));
        let mut chain = Chain::new();
        let mut client = LightClient::from_genesis(SUITE, chain.headers[0].clone(), ids(&old), vec![]);
        let h1 = chain.next(None, Hash::default());
        assert_eq!(accept(&mut client, &chain, &h1, &old).expect("h1").new_sets, vec![]);
        // Block 2 schedules the new set from height 4.
        let schedule = vec![(4, ids(&new))];
        let h2 = chain.next(Some(&schedule), Hash::default());
        assert_eq!(accept(&mut client, &chain, &h2, &old).expect("h2").new_sets, schedule);
        let h3 = chain.next(None, Hash::default());
        accept(&mut client, &chain, &h3, &old).expect("the old set still certifies height 3");
        let h4 = chain.next(None, Hash::default());
        let e = accept(&mut client, &chain, &h4, &old).expect_err("replaced");
        assert!(matches!(e, LightError::Certificate { height: 4, .. }), "{e}");
        assert_eq!(client.head().height, 3, "a refused header changes nothing");
        accept(&mut client, &chain, &h4, &new).expect("the new set certifies height 4");
        let sets = client.sets();
        assert_eq!((sets.at(3).expect("3").validators, sets.at(4).expect("4").validators), (ids(&old), ids(&new)));
        assert!(matches!(sets.at(6), Err(LightError::BeyondHistory { height: 6, known_to: 5 })));
        // Resuming from what was saved continues the same way.
        let saved = SetHistory::decode(&mut &sets.encode()[..]).expect("decode");
        let mut resumed = LightClient::resume(SUITE, h4.clone(), saved).expect("resume");
        let h5 = chain.next(None, Hash::default());
        accept(&mut resumed, &chain, &h5, &new).expect("h5");
    }

    #[test]
    fn refuses_headers_that_do_not_follow_or_whose_schedule_is_forged() {
        let validators = keys("v");
        let mut chain = Chain::new();
        let mut client = LightClient::from_genesis(SUITE, chain.headers[0].clone(), ids(&validators), vec![]);
        let h1 = chain.next(None, Hash::default());
        let mut other = h1.clone();
        other.parent_hash = Hash([7; 32]);
        let e = client.accept(other.clone(), &certify(&validators, &other), None, &chain.schedule_proof().1);
        assert!(matches!(e, Err(LightError::WrongParent { height: 1, parent: 0 })), "{e:?}");
        let e = client.accept(h1.clone(), &certify(&validators, &other), None, &chain.schedule_proof().1);
        assert!(matches!(e, Err(LightError::CertificateOfAnotherBlock { height: 1 })), "{e:?}");
        // A schedule the state root does not commit to: a set the governance never chose.
        let forged: Schedule = vec![(2, ids(&keys("mallory")))];
        let e =
            client.accept(h1.clone(), &certify(&validators, &h1), Some(&forged.encode()), &chain.schedule_proof().1);
        assert!(matches!(e, Err(LightError::ScheduleProof { height: 1 })), "{e:?}");
        accept(&mut client, &chain, &h1, &validators).expect("h1");
        let e = accept(&mut client, &chain, &h1, &validators).expect_err("twice");
        assert!(matches!(e, LightError::NotNext { height: 1, expected: 2 }), "{e}");
        // A schedule that changes the set of a height already in force.
        let rewrite: Schedule = vec![(2, ids(&keys("late")))];
        let h2 = chain.next(Some(&rewrite), Hash::default());
        let e = accept(&mut client, &chain, &h2, &validators).expect_err("rewritten");
        assert!(matches!(e, LightError::ScheduleRewritten { height: 2, changed: 2 }), "{e}");
    }

    #[test]
    fn proofs_are_checked_against_the_set_of_their_height() {
        let (old, new) = (keys("old"), keys("new"));
        let algo = SUITE.hash_algo();
        let payer = Keypair::named(Scheme::Ed25519, "payer");
        let tx = payer.sign_tx(Transaction {
            network: network(),
            sender: payer.account(),
            nonce: 0,
            gas_limit: 1,
            call: Call::Transfer { to: AccountId([5; 32]), amount: 1 },
        });
        let receipt = Receipt {
            tx_hash: tx.hash(algo),
            status: ReceiptStatus::Success,
            gas_used: 1,
            events: vec![],
            output: vec![],
        };
        let mut chain = Chain::new();
        let mut client = LightClient::from_genesis(SUITE, chain.headers[0].clone(), ids(&old), vec![]);
        let h1 = chain.next(Some(&vec![(2, ids(&new))]), Hash::default());
        accept(&mut client, &chain, &h1, &old).expect("h1");
        let mut h2 = chain.next(None, Hash::default());
        h2.tx_root = merkle_root(algo, [tx.hash(algo)]);
        h2.receipts_root = merkle_root(algo, [receipt.hash(algo)]);
        let branch =
            |leaf| merkle_proof(algo, &[leaf], 0).unwrap_or(MerkleProof { index: 0, count: 1, siblings: vec![] });
        let proof = |signers: &[Keypair]| ReceiptProof {
            header: h2.clone(),
            certificate: certify(signers, &h2),
            transaction: tx.clone(),
            receipt: receipt.clone(),
            tx_branch: branch(tx.hash(algo)),
            receipt_branch: branch(receipt.hash(algo)),
        };
        let sets = client.sets().clone();
        sets.verify_receipt(SUITE, &proof(&new)).expect("certified by the set of height 2");
        let e = sets.verify_receipt(SUITE, &proof(&old)).expect_err("by the replaced set");
        assert!(matches!(e, LightError::Certificate { height: 2, .. }), "{e}");
        let genesis_only = SetHistory::fixed(network(), ids(&old));
        genesis_only.verify_receipt(SUITE, &proof(&old)).expect("what a history-less check would wrongly accept");
        let mut ahead = proof(&new);
        ahead.header.height = 9;
        assert!(matches!(sets.verify_receipt(SUITE, &ahead), Err(LightError::BeyondHistory { height: 9, .. })));
        // State proofs: genesis by hash, later heights by certificate.
        let key = LightClient::schedule_key();
        let (value, p) = chain.schedule_proof();
        let state_proof = CertifiedStateProof {
            header: h1.clone(),
            certificate: Some(certify(&old, &h1)),
            key: key.clone(),
            value: value.clone(),
            proof: p.clone(),
        };
        sets.verify_state(SUITE, &state_proof).expect("valid");
        let mut tampered = state_proof.clone();
        tampered.value = Some(vec![1]);
        assert!(matches!(sets.verify_state(SUITE, &tampered), Err(LightError::StateProof { height: 1, .. })));
        let mut tampered = state_proof.clone();
        tampered.certificate = None;
        assert!(matches!(sets.verify_state(SUITE, &tampered), Err(LightError::NoCertificate { height: 1 })));
        let genesis_proof = CertifiedStateProof {
            header: chain.headers[0].clone(),
            certificate: None,
            key,
            value: None,
            proof: MemoryState::new(algo).prove(b"x").expect("prove").proof,
        };
        let mut g = genesis_proof.clone();
        g.header.timestamp = 99;
        assert!(matches!(sets.verify_state(SUITE, &g), Err(LightError::WrongGenesis { .. })));
    }
}
