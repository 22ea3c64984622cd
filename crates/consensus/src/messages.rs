//! What validators sign and send each other, SCALE-encoded on the wire and on disk.
//!
//! Every signature covers a domain tag plus the network id, so a signature made for one kind of
//! message, or for one network, can never be replayed as another.
use crate::error::ConsensusError;
use jjj_crypto::{Keypair, PublicKey, Suite};
use jjj_primitives::{merkle_root, AccountId, Block, Hash, HashAlgo, NetworkId};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};
use std::collections::{BTreeMap, BTreeSet};

const VOTE_TAG: &[u8] = b"jjj/vote/v1";
const PROPOSAL_TAG: &[u8] = b"jjj/proposal/v1";
const VIEW_CHANGE_TAG: &[u8] = b"jjj/view-change/v1";

/// Whether a block's body is the one its header commits to: the Merkle root over its
/// transactions' hashes, computed as the executive computes `tx_root`, equals the header's. The
/// header hash (what is signed and voted on) covers `tx_root` only, so without this check a
/// relayer could forward a signed header under another body.
pub fn check_body(algo: HashAlgo, block: &Block) -> Result<(), ConsensusError> {
    if merkle_root(algo, block.transactions.iter().map(|t| t.hash(algo))) != block.header.tx_root {
        return Err(ConsensusError::BlockBodyMismatch { block: block.header.hash(algo) });
    }
    Ok(())
}

/// The validators of a network, in leader order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ValidatorSet {
    pub validators: Vec<AccountId>,
}

impl ValidatorSet {
    /// A set of at least one validator, none listed twice.
    pub fn new(validators: Vec<AccountId>) -> Result<Self, ConsensusError> {
        if validators.is_empty() {
            return Err(ConsensusError::NoValidators);
        }
        let mut seen = BTreeSet::new();
        for v in &validators {
            if !seen.insert(*v) {
                return Err(ConsensusError::ValidatorListedTwice(*v));
            }
        }
        Ok(ValidatorSet { validators })
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// How many faulty validators the set tolerates: (n − 1) / 3.
    pub fn f(&self) -> usize {
        self.validators.len().saturating_sub(1) / 3
    }

    /// Votes needed for a certificate: n − f (= 2f + 1 when n = 3f + 1). Any two quorums share
    /// at least f + 1 validators, so at least one honest one.
    pub fn quorum(&self) -> usize {
        self.validators.len() - self.f()
    }

    /// The leader of (height, view): `validators[(height − 1 + view) mod n]`, so the view-0
    /// leader rotates with the height (validator 0 proposes block 1, validator 1 block 2, …)
    /// and a view change hands the height to the next one. A fixed leader could censor every
    /// block without ever triggering a view change. The one function every part of the chain
    /// asks. An empty set has no leader; the zero account returned then signs nothing.
    pub fn leader(&self, height: u64, view: u64) -> AccountId {
        let n = self.validators.len() as u64;
        if n == 0 {
            return AccountId::default();
        }
        // Reduced mod n first: no overflow for any height or view.
        let i = (height.wrapping_sub(1) % n + view % n) % n;
        self.validators[i as usize]
    }

    pub fn contains(&self, account: &AccountId) -> bool {
        self.validators.contains(account)
    }

    pub fn index_of(&self, account: &AccountId) -> Option<usize> {
        self.validators.iter().position(|v| v == account)
    }
}

/// The two voting rounds of a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, DecodeWithMemTracking)]
pub enum VoteKind {
    Prepare,
    Commit,
}

/// A signed PREPARE or COMMIT for a block at (height, view).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Vote {
    pub kind: VoteKind,
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash,
    pub voter: AccountId,
    pub signature: [u8; 64],
}

impl Vote {
    /// `b"jjj/vote/v1" ++ (network, kind, height, view, block_hash).encode()`.
    pub fn signing_payload(network: &NetworkId, kind: VoteKind, height: u64, view: u64, block_hash: &Hash) -> Vec<u8> {
        let mut payload = VOTE_TAG.to_vec();
        (network, kind, height, view, block_hash).encode_to(&mut payload);
        payload
    }

    pub fn sign(network: &NetworkId, key: &Keypair, kind: VoteKind, height: u64, view: u64, block_hash: Hash) -> Vote {
        let sig = key.sign(&Self::signing_payload(network, kind, height, view, &block_hash));
        Vote { kind, height, view, block_hash, voter: sig.signer, signature: sig.signature }
    }

    /// Whether the signature is the voter's over this vote on `network`.
    pub fn verify(&self, suite: Suite, network: &NetworkId) -> bool {
        self.verify_by(&KeyCache::empty(suite), network)
    }

    /// `verify`, with the voter's key taken from `keys` when it is there.
    pub fn verify_by(&self, keys: &KeyCache, network: &NetworkId) -> bool {
        let payload = Self::signing_payload(network, self.kind, self.height, self.view, &self.block_hash);
        keys.verify(&self.voter, &payload, &self.signature)
    }
}

/// Signature checks in the network's suite, with the validators' public keys parsed once:
/// decompressing an ed25519 key costs about half a verification, an SM2 key also its Z value,
/// and every consensus message needs one. Carries the suite, so it is also where the core and
/// the checks find the network's hash.
#[derive(Clone, Debug)]
pub struct KeyCache {
    suite: Suite,
    keys: BTreeMap<AccountId, PublicKey>,
}

impl KeyCache {
    /// No keys parsed yet: each check parses its key.
    pub fn empty(suite: Suite) -> KeyCache {
        KeyCache { suite, keys: BTreeMap::new() }
    }

    pub fn new(suite: Suite, validators: &ValidatorSet) -> KeyCache {
        let mut cache = KeyCache::empty(suite);
        cache.extend(validators);
        cache
    }

    /// Adds the keys of another set (a validator set scheduled for a later height).
    pub fn extend(&mut self, validators: &ValidatorSet) {
        for a in &validators.validators {
            if let Some(k) = PublicKey::parse(self.suite.scheme(), a) {
                self.keys.insert(*a, k);
            }
        }
    }

    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The network's hash.
    pub fn hash_algo(&self) -> HashAlgo {
        self.suite.hash_algo()
    }

    pub fn verify(&self, signer: &AccountId, message: &[u8], signature: &[u8; 64]) -> bool {
        match self.keys.get(signer) {
            Some(key) => key.verify(message, signature),
            None => jjj_crypto::verify(self.suite.scheme(), signer, message, signature),
        }
    }
}

/// Says whether a signature by a voter on a vote (kind, view, block hash) of the height at hand
/// was already verified (the core's vote log), to skip verifying it again.
pub(crate) type KnownSignature<'a> = &'a dyn Fn(VoteKind, u64, &Hash, &AccountId, &[u8; 64]) -> bool;

/// What checking a message needs; the core fills in its key cache and its logs of what it has
/// already verified.
pub(crate) struct Checker<'a> {
    pub network: &'a NetworkId,
    pub validators: &'a ValidatorSet,
    pub keys: &'a KeyCache,
    pub known_signature: KnownSignature<'a>,
    pub known_view_change: &'a dyn Fn(&ViewChange) -> bool,
}

fn no_known_view_change(_: &ViewChange) -> bool {
    false
}

impl<'a> Checker<'a> {
    pub fn plain(network: &'a NetworkId, validators: &'a ValidatorSet, keys: &'a KeyCache) -> Checker<'a> {
        Checker {
            network,
            validators,
            keys,
            known_signature: &no_known_signature,
            known_view_change: &no_known_view_change,
        }
    }
}

/// Checks a quorum of votes of one kind for (height, view, block_hash).
pub(crate) fn verify_quorum(
    c: &Checker,
    kind: VoteKind,
    height: u64,
    view: u64,
    block_hash: &Hash,
    signatures: &[(AccountId, [u8; 64])],
) -> Result<(), ConsensusError> {
    let (network, validators) = (c.network, c.validators);
    if validators.is_empty() {
        return Err(ConsensusError::EmptyValidatorSet);
    }
    let mut seen = BTreeSet::new();
    for (voter, _) in signatures {
        if !validators.contains(voter) {
            return Err(ConsensusError::NotAValidator(*voter));
        }
        if !seen.insert(*voter) {
            return Err(ConsensusError::SignedTwice(*voter));
        }
    }
    if seen.len() < validators.quorum() {
        return Err(ConsensusError::TooFewSignatures { got: seen.len(), needed: validators.quorum() });
    }
    // Signatures last: they are the expensive part.
    let payload = Vote::signing_payload(network, kind, height, view, block_hash);
    for (voter, signature) in signatures {
        if !(c.known_signature)(kind, view, block_hash, voter, signature) && !c.keys.verify(voter, &payload, signature)
        {
            return Err(ConsensusError::BadVoteSignature { kind, voter: *voter });
        }
    }
    Ok(())
}

fn no_known_signature(_: VoteKind, _: u64, _: &Hash, _: &AccountId, _: &[u8; 64]) -> bool {
    false
}

/// 2f + 1 signed COMMITs for one block: the block is final.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct CommitCertificate {
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash,
    pub signatures: Vec<(AccountId, [u8; 64])>,
}

impl CommitCertificate {
    /// At least a quorum of distinct validators, every signature a valid COMMIT, no outsiders.
    pub fn verify(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> Result<(), ConsensusError> {
        self.verify_by(&KeyCache::empty(suite), network, validators)
    }

    /// `verify`, with validators' keys taken from `keys` when they are there.
    pub fn verify_by(
        &self,
        keys: &KeyCache,
        network: &NetworkId,
        validators: &ValidatorSet,
    ) -> Result<(), ConsensusError> {
        self.check(&Checker::plain(network, validators, keys))
    }

    pub(crate) fn check(&self, c: &Checker) -> Result<(), ConsensusError> {
        verify_quorum(c, VoteKind::Commit, self.height, self.view, &self.block_hash, &self.signatures).map_err(
            |reason| ConsensusError::InvalidCommitCertificate {
                height: self.height,
                view: self.view,
                reason: Box::new(reason),
            },
        )
    }
}

/// 2f + 1 signed PREPAREs for one block in one view: no other block can be prepared in that view.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct PreparedCertificate {
    pub height: u64,
    pub view: u64,
    pub block_hash: Hash,
    pub signatures: Vec<(AccountId, [u8; 64])>,
}

impl PreparedCertificate {
    /// At least a quorum of distinct validators, every signature a valid PREPARE, no outsiders.
    pub fn verify(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> Result<(), ConsensusError> {
        self.check(&Checker::plain(network, validators, &KeyCache::empty(suite)))
    }

    pub(crate) fn check(&self, c: &Checker) -> Result<(), ConsensusError> {
        verify_quorum(c, VoteKind::Prepare, self.height, self.view, &self.block_hash, &self.signatures).map_err(
            |reason| ConsensusError::InvalidPreparedCertificate {
                height: self.height,
                view: self.view,
                reason: Box::new(reason),
            },
        )
    }
}

/// PRE-PREPARE: the leader of `view` proposes `block` for `height`.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct Proposal {
    pub height: u64,
    pub view: u64,
    pub block: Block,
    pub proposer: AccountId,
    pub signature: [u8; 64],
}

impl Proposal {
    /// `b"jjj/proposal/v1" ++ (network, height, view, block_hash).encode()`.
    pub fn signing_payload(network: &NetworkId, height: u64, view: u64, block_hash: &Hash) -> Vec<u8> {
        let mut payload = PROPOSAL_TAG.to_vec();
        (network, height, view, block_hash).encode_to(&mut payload);
        payload
    }

    pub fn sign(algo: HashAlgo, network: &NetworkId, key: &Keypair, height: u64, view: u64, block: Block) -> Proposal {
        let sig = key.sign(&Self::signing_payload(network, height, view, &block.header.hash(algo)));
        Proposal { height, view, block, proposer: sig.signer, signature: sig.signature }
    }

    /// The proposed block's hash: its header's hash.
    pub fn block_hash(&self, algo: HashAlgo) -> Hash {
        self.block.header.hash(algo)
    }

    pub fn verify_signature(&self, suite: Suite, network: &NetworkId) -> bool {
        self.signed_by(&KeyCache::empty(suite), network)
    }

    fn signed_by(&self, keys: &KeyCache, network: &NetworkId) -> bool {
        let payload = Self::signing_payload(network, self.height, self.view, &self.block_hash(keys.hash_algo()));
        keys.verify(&self.proposer, &payload, &self.signature)
    }

    /// The block is for this height and network, the proposer leads this view and signed it,
    /// and the body is the one the header commits to.
    pub fn verify(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> Result<(), ConsensusError> {
        self.check(&Checker::plain(network, validators, &KeyCache::empty(suite)))
    }

    pub(crate) fn check(&self, c: &Checker) -> Result<(), ConsensusError> {
        let (network, validators) = (c.network, c.validators);
        if self.block.header.height != self.height {
            return Err(ConsensusError::ProposalBlockHeight {
                height: self.height,
                block_height: self.block.header.height,
            });
        }
        if &self.block.header.network != network {
            return Err(ConsensusError::ProposalBlockNetwork(self.block.header.network.clone()));
        }
        if validators.is_empty() || self.proposer != validators.leader(self.height, self.view) {
            return Err(ConsensusError::NotTheLeader { proposer: self.proposer, height: self.height, view: self.view });
        }
        if !self.signed_by(c.keys, network) {
            return Err(ConsensusError::BadProposalSignature(self.proposer));
        }
        // Last: hashing the body is the expensive part, and only a signed header earns it.
        check_body(c.keys.hash_algo(), &self.block)
    }
}

/// What backs a view change's claim that a block was prepared: the certificate, and the block
/// itself (body included) so the next leader can re-propose it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct PreparedProof {
    pub certificate: PreparedCertificate,
    pub block: Block,
}

/// A validator gives up on view `new_view − 1` and asks for `new_view`, naming the highest block
/// it saw prepared at this height.
///
/// Sent on its own, a view change carries the proof of its claim, block included: the next
/// leader may never have seen that block (a leader can withhold its proposal from it) and must
/// re-propose it, and the core has no other way to fetch a body. Inside a NEW-VIEW it carries
/// no proof: the NEW-VIEW carries the one certificate and block it re-proposes, so a NEW-VIEW is
/// one block and O(n) signatures however many view changes hold the block (with one copy per
/// view change, a large block made the NEW-VIEW exceed the peer message limit).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ViewChange {
    pub height: u64,
    pub new_view: u64,
    /// (view, block hash) of the highest prepared certificate held: what the signature covers.
    pub prepared: Option<(u64, Hash)>,
    /// The certificate and block behind `prepared` (not signed; bound to it by `check`).
    pub proof: Option<Box<PreparedProof>>,
    pub voter: AccountId,
    pub signature: [u8; 64],
}

impl ViewChange {
    /// `b"jjj/view-change/v1" ++ (network, height, new_view, prepared (view, block hash)).encode()`.
    /// The signature covers which block was prepared, so a leader cannot strip a prepared
    /// claim from a view change and re-propose another block.
    pub fn signing_payload(network: &NetworkId, height: u64, new_view: u64, prepared: Option<(u64, Hash)>) -> Vec<u8> {
        let mut payload = VIEW_CHANGE_TAG.to_vec();
        (network, height, new_view, prepared).encode_to(&mut payload);
        payload
    }

    pub fn sign(
        network: &NetworkId,
        key: &Keypair,
        height: u64,
        new_view: u64,
        prepared: Option<(PreparedCertificate, Block)>,
    ) -> ViewChange {
        let summary = prepared.as_ref().map(|(c, _)| (c.view, c.block_hash));
        let sig = key.sign(&Self::signing_payload(network, height, new_view, summary));
        let proof = prepared.map(|(certificate, block)| Box::new(PreparedProof { certificate, block }));
        ViewChange { height, new_view, prepared: summary, proof, voter: sig.signer, signature: sig.signature }
    }

    /// (view, block hash) of the claimed prepared certificate.
    pub fn prepared_summary(&self) -> Option<(u64, Hash)> {
        self.prepared
    }

    /// The same signed view change without its proof: how a NEW-VIEW carries it.
    pub fn without_proof(&self) -> ViewChange {
        ViewChange { proof: None, ..self.clone() }
    }

    /// Whether both are the same signed view change, whatever proof each carries.
    pub fn same_signed(&self, other: &ViewChange) -> bool {
        (self.height, self.new_view, self.prepared, self.voter, self.signature)
            == (other.height, other.new_view, other.prepared, other.voter, other.signature)
    }

    pub fn verify_signature(&self, suite: Suite, network: &NetworkId) -> bool {
        self.signed_by(&KeyCache::empty(suite), network)
    }

    pub(crate) fn signed_by(&self, keys: &KeyCache, network: &NetworkId) -> bool {
        let payload = Self::signing_payload(network, self.height, self.new_view, self.prepared);
        keys.verify(&self.voter, &payload, &self.signature)
    }

    /// A view change sent on its own: signed by a validator; a prepared claim comes with its
    /// proof — a certificate for this height, an earlier view and the claimed block, holding a
    /// quorum of valid PREPAREs, and that block with the body its header commits to.
    pub fn verify(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> Result<(), ConsensusError> {
        self.check(&Checker::plain(network, validators, &KeyCache::empty(suite)))
    }

    /// Voter, signature and the claimed view: what holds with or without the proof.
    fn check_signed(&self, c: &Checker) -> Result<(), ConsensusError> {
        if !c.validators.contains(&self.voter) {
            return Err(ConsensusError::ViewChangeByNonValidator(self.voter));
        }
        if let Some((view, _)) = self.prepared {
            if view >= self.new_view {
                return Err(ConsensusError::ViewChangeCertificateSlot {
                    height: self.height,
                    new_view: self.new_view,
                    certificate_height: self.height,
                    certificate_view: view,
                });
            }
        }
        if !self.signed_by(c.keys, c.network) {
            return Err(ConsensusError::BadViewChangeSignature(self.voter));
        }
        Ok(())
    }

    pub(crate) fn check(&self, c: &Checker) -> Result<(), ConsensusError> {
        self.check_signed(c)?;
        match (self.prepared, &self.proof) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(ConsensusError::ViewChangeProofWithoutClaim(self.voter)),
            (Some(_), None) => Err(ConsensusError::ViewChangeWithoutProof(self.voter)),
            (Some(claim), Some(proof)) => {
                let PreparedProof { certificate: cert, block } = &**proof;
                if cert.height != self.height || cert.view >= self.new_view {
                    return Err(ConsensusError::ViewChangeCertificateSlot {
                        height: self.height,
                        new_view: self.new_view,
                        certificate_height: cert.height,
                        certificate_view: cert.view,
                    });
                }
                if (cert.view, cert.block_hash) != claim
                    || block.header.hash(c.keys.hash_algo()) != cert.block_hash
                    || block.header.height != self.height
                {
                    return Err(ConsensusError::ViewChangeBlockMismatch);
                }
                cert.check(c)?;
                check_body(c.keys.hash_algo(), block)
            }
        }
    }
}

/// The new leader's proof that a quorum moved to `view`, and its proposal for that view.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct NewView {
    pub height: u64,
    pub view: u64,
    /// A quorum of view changes for (height, view), each without its proof.
    pub view_changes: Vec<ViewChange>,
    /// The certificate of the highest prepared block the view changes name, if any: the one
    /// block `proposal` must re-propose. Once per NEW-VIEW, not once per view change.
    pub prepared: Option<Box<PreparedCertificate>>,
    pub proposal: Proposal,
}

impl NewView {
    /// The block a NEW-VIEW built from these view changes must propose: the block of the
    /// highest-view prepared certificate among them, if any (view, block hash).
    pub fn required_block(view_changes: &[ViewChange]) -> Option<(u64, Hash)> {
        view_changes.iter().filter_map(|vc| vc.prepared_summary()).max()
    }

    /// A quorum of validly signed view changes for (height, view) by distinct validators, none
    /// carrying a proof; a valid proposal by the leader of (height, view); and, if the view
    /// changes name a prepared block, its certificate, and the proposal re-proposes it.
    pub fn verify(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> Result<(), ConsensusError> {
        self.check(&Checker::plain(network, validators, &KeyCache::empty(suite)))
    }

    pub(crate) fn check(&self, c: &Checker) -> Result<(), ConsensusError> {
        let validators = c.validators;
        if self.view == 0 {
            return Err(ConsensusError::NewViewForViewZero);
        }
        if self.proposal.height != self.height || self.proposal.view != self.view {
            return Err(ConsensusError::NewViewProposalSlot {
                height: self.height,
                view: self.view,
                proposal_height: self.proposal.height,
                proposal_view: self.proposal.view,
            });
        }
        if self.view_changes.len() > validators.len() {
            return Err(ConsensusError::NewViewTooManyViewChanges {
                view_changes: self.view_changes.len(),
                validators: validators.len(),
            });
        }
        let mut voters = BTreeSet::new();
        for vc in &self.view_changes {
            if vc.height != self.height || vc.new_view != self.view {
                return Err(ConsensusError::NewViewViewChangeSlot {
                    height: self.height,
                    view: self.view,
                    view_change_height: vc.height,
                    view_change_view: vc.new_view,
                });
            }
            if vc.proof.is_some() {
                return Err(ConsensusError::NewViewViewChangeWithProof(vc.voter));
            }
            if !voters.insert(vc.voter) {
                return Err(ConsensusError::NewViewDuplicateViewChange(vc.voter));
            }
        }
        if voters.len() < validators.quorum() {
            return Err(ConsensusError::NewViewTooFewViewChanges { got: voters.len(), needed: validators.quorum() });
        }
        match (Self::required_block(&self.view_changes), &self.prepared) {
            (None, None) => {}
            (None, Some(_)) => return Err(ConsensusError::NewViewUnaskedCertificate),
            (Some((view, _)), None) => return Err(ConsensusError::NewViewMissingCertificate(view)),
            (Some((view, hash)), Some(cert)) => {
                if (cert.height, cert.view, cert.block_hash) != (self.height, view, hash) {
                    return Err(ConsensusError::NewViewMissingCertificate(view));
                }
                if self.proposal.block_hash(c.keys.hash_algo()) != hash {
                    return Err(ConsensusError::NewViewNotReproposingPrepared(view));
                }
            }
        }
        // Signatures last: they are the expensive part (the body check of the proposal too).
        self.proposal.check(c)?;
        if let Some(cert) = &self.prepared {
            cert.check(c)?;
        }
        for vc in &self.view_changes {
            if !(c.known_view_change)(vc) {
                vc.check_signed(c)?;
            }
        }
        Ok(())
    }
}

/// Everything validators send each other about consensus.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum ConsensusMessage {
    Proposal(Proposal),
    Vote(Vote),
    ViewChange(ViewChange),
    NewView(NewView),
}

impl ConsensusMessage {
    pub fn height(&self) -> u64 {
        match self {
            ConsensusMessage::Proposal(p) => p.height,
            ConsensusMessage::Vote(v) => v.height,
            ConsensusMessage::ViewChange(vc) => vc.height,
            ConsensusMessage::NewView(nv) => nv.height,
        }
    }

    /// The view the message is about (a view change: the view it asks for).
    pub fn view(&self) -> u64 {
        match self {
            ConsensusMessage::Proposal(p) => p.view,
            ConsensusMessage::Vote(v) => v.view,
            ConsensusMessage::ViewChange(vc) => vc.new_view,
            ConsensusMessage::NewView(nv) => nv.view,
        }
    }

    /// The validator whose signature makes the message (a NEW-VIEW: its proposer).
    pub fn sender(&self) -> AccountId {
        match self {
            ConsensusMessage::Proposal(p) => p.proposer,
            ConsensusMessage::Vote(v) => v.voter,
            ConsensusMessage::ViewChange(vc) => vc.voter,
            ConsensusMessage::NewView(nv) => nv.proposal.proposer,
        }
    }

    /// Checks only the sender's own signature (not carried certificates): enough to believe a
    /// validator has reached the message's height.
    pub fn verify_sender(&self, suite: Suite, network: &NetworkId, validators: &ValidatorSet) -> bool {
        self.verify_sender_by(&KeyCache::empty(suite), network, validators)
    }

    /// `verify_sender`, with validators' keys taken from `keys` when they are there.
    pub fn verify_sender_by(&self, keys: &KeyCache, network: &NetworkId, validators: &ValidatorSet) -> bool {
        if !validators.contains(&self.sender()) {
            return false;
        }
        let c = Checker::plain(network, validators, keys);
        match self {
            ConsensusMessage::Proposal(p) => p.check(&c).is_ok(),
            ConsensusMessage::Vote(v) => v.verify_by(keys, network),
            ConsensusMessage::ViewChange(vc) => vc.signed_by(keys, network),
            ConsensusMessage::NewView(nv) => {
                nv.proposal.height == nv.height && nv.proposal.view == nv.view && nv.proposal.check(&c).is_ok()
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            ConsensusMessage::Proposal(_) => "proposal",
            ConsensusMessage::Vote(v) => match v.kind {
                VoteKind::Prepare => "prepare",
                VoteKind::Commit => "commit",
            },
            ConsensusMessage::ViewChange(_) => "view-change",
            ConsensusMessage::NewView(_) => "new-view",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_primitives::Header;

    // The suite the tests run with (`JJJ_TEST_SUITE`).
    use jjj_crypto::{test_hash_algo as algo, test_suite as suite};

    fn net() -> NetworkId {
        NetworkId::new("jjj").expect("network id")
    }

    fn keys(n: usize) -> Vec<Keypair> {
        (0..n).map(|i| Keypair::named(suite().scheme(), &format!("msg-test-{i}"))).collect()
    }

    fn set(keys: &[Keypair]) -> ValidatorSet {
        ValidatorSet::new(keys.iter().map(|k| k.account()).collect()).expect("set")
    }

    fn block(height: u64) -> Block {
        Block {
            header: Header {
                network: net(),
                height,
                parent_hash: Hash::default(),
                timestamp: 7,
                proposer: AccountId::default(),
                tx_root: Hash::default(),
                receipts_root: Hash::default(),
                state_root: Hash([9; 32]),
            },
            transactions: vec![],
        }
    }

    fn commit_cert(keys: &[Keypair], signers: &[usize], hash: Hash) -> CommitCertificate {
        let signatures = signers
            .iter()
            .map(|&i| {
                let v = Vote::sign(&net(), &keys[i], VoteKind::Commit, 5, 1, hash);
                (v.voter, v.signature)
            })
            .collect();
        CommitCertificate { height: 5, view: 1, block_hash: hash, signatures }
    }

    #[test]
    fn quorum_and_leader() {
        for (n, f, q) in [(1, 0, 1), (3, 0, 3), (4, 1, 3), (5, 1, 4), (7, 2, 5), (10, 3, 7)] {
            let s = set(&keys(n));
            assert_eq!((s.f(), s.quorum()), (f, q), "n = {n}");
        }
        let k = keys(4);
        let s = set(&k);
        assert_eq!(s.leader(1, 0), k[0].account());
        assert_eq!(s.leader(1, 6), k[2].account());
        assert_eq!(s.leader(2, 0), k[1].account());
        assert_eq!(s.leader(4, 1), k[0].account());
        assert_eq!(s.leader(u64::MAX, u64::MAX), s.leader(u64::MAX, u64::MAX), "no overflow");
        let proposers: BTreeSet<AccountId> = (7..11).map(|h| s.leader(h, 0)).collect();
        assert_eq!(proposers.len(), 4, "every validator leads view 0 once in n heights");
        assert_eq!(s.index_of(&k[3].account()), Some(3));
        assert!(ValidatorSet::new(vec![k[0].account(), k[0].account()]).is_err());
        assert!(ValidatorSet::new(vec![]).is_err());
    }

    #[test]
    fn vote_signatures_bind_every_field() {
        let k = keys(1);
        let v = Vote::sign(&net(), &k[0], VoteKind::Prepare, 3, 2, Hash([1; 32]));
        assert!(v.verify(suite(), &net()));
        assert!(!v.verify(suite(), &NetworkId::new("jj").expect("id")), "another network");
        for tampered in [
            Vote { kind: VoteKind::Commit, ..v.clone() },
            Vote { height: 4, ..v.clone() },
            Vote { view: 3, ..v.clone() },
            Vote { block_hash: Hash([2; 32]), ..v.clone() },
        ] {
            assert!(!tampered.verify(suite(), &net()));
        }
        let decoded = Vote::decode(&mut &v.encode()[..]).expect("decode");
        assert_eq!(decoded, v);
    }

    #[test]
    fn commit_certificate_checks() {
        let k = keys(5);
        let outsider = Keypair::named(suite().scheme(), "outsider");
        let s = set(&k[..4]);
        let h = Hash([3; 32]);
        assert!(commit_cert(&k, &[0, 1, 2], h).verify(suite(), &net(), &s).is_ok());
        let short = commit_cert(&k, &[0, 1], h).verify(suite(), &net(), &s).unwrap_err().to_string();
        assert!(short.contains("2 signatures, 3 needed"), "{short}");
        let dup = commit_cert(&k, &[0, 1, 1], h).verify(suite(), &net(), &s).unwrap_err().to_string();
        assert!(dup.contains("twice"), "{dup}");
        let mut c = commit_cert(&k, &[0, 1, 2], h);
        c.signatures.push({
            let v = Vote::sign(&net(), &outsider, VoteKind::Commit, 5, 1, h);
            (v.voter, v.signature)
        });
        assert!(c.verify(suite(), &net(), &s).unwrap_err().to_string().contains("not a validator"));
        let mut c = commit_cert(&k, &[0, 1, 2], h);
        c.signatures[1].1[0] ^= 1;
        assert!(c.verify(suite(), &net(), &s).unwrap_err().to_string().contains("bad Commit signature"));
        let mut c = commit_cert(&k, &[0, 1, 2], h);
        c.block_hash = Hash([4; 32]);
        assert!(c.verify(suite(), &net(), &s).is_err(), "signatures are for another block");
        // PREPARE signatures do not make a commit certificate.
        let prepares = [0, 1, 2]
            .iter()
            .map(|&i| {
                let v = Vote::sign(&net(), &k[i], VoteKind::Prepare, 5, 1, h);
                (v.voter, v.signature)
            })
            .collect();
        let c = CommitCertificate { height: 5, view: 1, block_hash: h, signatures: prepares };
        assert!(c.verify(suite(), &net(), &s).is_err());
    }

    #[test]
    fn a_body_that_does_not_match_its_header_is_refused() {
        let k = keys(4);
        let s = set(&k);
        let good = crate::sim::make_block(algo(), &net(), 5, Hash::default(), k[1].account(), 0);
        let hash = good.header.hash(algo());
        assert_eq!(check_body(algo(), &good), Ok(()));
        for salt in [0, 1] {
            let swapped = crate::sim::swap_body(&good, salt);
            assert_eq!(swapped.header.hash(algo()), hash, "same header");
            assert_eq!(check_body(algo(), &swapped), Err(ConsensusError::BlockBodyMismatch { block: hash }));
            // Signed by the leader over the header hash: the signature alone cannot tell.
            let p = Proposal::sign(algo(), &net(), &k[(5 - 1 + 1) % 4], 5, 1, swapped.clone());
            assert!(p.verify_signature(suite(), &net()));
            assert_eq!(p.verify(suite(), &net(), &s), Err(ConsensusError::BlockBodyMismatch { block: hash }));
            // A view change carrying the prepared block under another body.
            let signatures = (0..3)
                .map(|i| {
                    let v = Vote::sign(&net(), &k[i], VoteKind::Prepare, 5, 0, hash);
                    (v.voter, v.signature)
                })
                .collect();
            let cert = PreparedCertificate { height: 5, view: 0, block_hash: hash, signatures };
            let vc = ViewChange::sign(&net(), &k[3], 5, 1, Some((cert.clone(), swapped)));
            assert_eq!(vc.verify(suite(), &net(), &s), Err(ConsensusError::BlockBodyMismatch { block: hash }));
            assert!(ViewChange::sign(&net(), &k[3], 5, 1, Some((cert, good.clone())))
                .verify(suite(), &net(), &s)
                .is_ok());
        }
    }

    #[test]
    fn proposal_and_view_change_checks() {
        let k = keys(4);
        let s = set(&k);
        let p = Proposal::sign(algo(), &net(), &k[1], 5, 1, block(5));
        assert!(p.verify(suite(), &net(), &s).is_ok());
        assert!(
            Proposal::sign(algo(), &net(), &k[2], 5, 1, block(5)).verify(suite(), &net(), &s).is_err(),
            "not the leader"
        );
        assert!(
            Proposal::sign(algo(), &net(), &k[1], 5, 1, block(6)).verify(suite(), &net(), &s).is_err(),
            "wrong height"
        );

        let b = block(5);
        let h = b.header.hash(algo());
        let signatures = (0..3)
            .map(|i| {
                let v = Vote::sign(&net(), &k[i], VoteKind::Prepare, 5, 0, h);
                (v.voter, v.signature)
            })
            .collect();
        let cert = PreparedCertificate { height: 5, view: 0, block_hash: h, signatures };
        let vc = ViewChange::sign(&net(), &k[3], 5, 1, Some((cert.clone(), b.clone())));
        assert!(vc.verify(suite(), &net(), &s).is_ok());
        // Stripping the claim breaks the signature; a claim needs its proof, and a proof its claim.
        let stripped = ViewChange { prepared: None, proof: None, ..vc.clone() };
        assert_eq!(stripped.verify(suite(), &net(), &s), Err(ConsensusError::BadViewChangeSignature(k[3].account())));
        let unproven = vc.without_proof();
        assert_eq!(unproven.verify(suite(), &net(), &s), Err(ConsensusError::ViewChangeWithoutProof(k[3].account())));
        let unclaimed = ViewChange { proof: vc.proof.clone(), ..ViewChange::sign(&net(), &k[3], 5, 1, None) };
        assert_eq!(
            unclaimed.verify(suite(), &net(), &s),
            Err(ConsensusError::ViewChangeProofWithoutClaim(k[3].account()))
        );
        // The proof must be the one claimed.
        let mut other_cert = cert.clone();
        other_cert.view = 1;
        let mismatched = ViewChange {
            proof: Some(Box::new(PreparedProof { certificate: other_cert, block: b.clone() })),
            ..ViewChange::sign(&net(), &k[3], 5, 2, Some((cert.clone(), b.clone())))
        };
        assert!(mismatched.verify(suite(), &net(), &s).is_err());
        // A certificate must be from an earlier view.
        let same_view = ViewChange::sign(&net(), &k[3], 5, 0, Some((cert.clone(), b.clone())));
        assert!(same_view.verify(suite(), &net(), &s).is_err());
        // The block must match the certificate.
        let other = ViewChange::sign(&net(), &k[3], 5, 1, Some((cert.clone(), block(6))));
        assert!(other.verify(suite(), &net(), &s).is_err());

        // NEW-VIEW must re-propose the prepared block, and carries it and its certificate once.
        let vcs: Vec<ViewChange> = vec![
            vc.without_proof(),
            ViewChange::sign(&net(), &k[0], 5, 1, None),
            ViewChange::sign(&net(), &k[2], 5, 1, None),
        ];
        let good = NewView {
            height: 5,
            view: 1,
            view_changes: vcs.clone(),
            prepared: Some(Box::new(cert.clone())),
            proposal: Proposal::sign(algo(), &net(), &k[1], 5, 1, b),
        };
        assert!(good.verify(suite(), &net(), &s).is_ok());
        let with_proof = NewView { view_changes: vec![vc.clone(), vcs[1].clone(), vcs[2].clone()], ..good.clone() };
        assert_eq!(
            with_proof.verify(suite(), &net(), &s),
            Err(ConsensusError::NewViewViewChangeWithProof(k[3].account()))
        );
        let no_cert = NewView { prepared: None, ..good.clone() };
        assert_eq!(no_cert.verify(suite(), &net(), &s), Err(ConsensusError::NewViewMissingCertificate(0)));
        let mut forged_cert = cert.clone();
        forged_cert.signatures[0].1[3] ^= 1;
        let forged = NewView { prepared: Some(Box::new(forged_cert)), ..good.clone() };
        assert!(
            forged.verify(suite(), &net(), &s).unwrap_err().to_string().contains("bad Prepare signature"),
            "{forged:?}"
        );
        let unasked = NewView {
            view_changes: vec![vcs[1].clone(), vcs[2].clone(), ViewChange::sign(&net(), &k[3], 5, 1, None)],
            ..good.clone()
        };
        assert_eq!(unasked.verify(suite(), &net(), &s), Err(ConsensusError::NewViewUnaskedCertificate));
        // A claim stripped from a view change inside the NEW-VIEW breaks its signature.
        let mut stripped_vcs = vcs.clone();
        stripped_vcs[0].prepared = None;
        let stripped = NewView { view_changes: stripped_vcs, prepared: None, ..good.clone() };
        assert_eq!(stripped.verify(suite(), &net(), &s), Err(ConsensusError::BadViewChangeSignature(k[3].account())));
        let mut fresh = block(5);
        fresh.header.timestamp = 99;
        let bad = NewView { proposal: Proposal::sign(algo(), &net(), &k[1], 5, 1, fresh), ..good.clone() };
        assert!(bad.verify(suite(), &net(), &s).unwrap_err().to_string().contains("re-propose"));
        let short = NewView { view_changes: vcs[..2].to_vec(), ..good };
        assert!(short.verify(suite(), &net(), &s).unwrap_err().to_string().contains("needed"));
    }
}
