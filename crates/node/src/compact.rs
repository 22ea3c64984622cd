//! Compact proposals: a leader sends its PRE-PREPARE with the hashes of the block's
//! transactions instead of the transactions, which every replica already holds from gossip.
//!
//! Only the wire changes: a replica rebuilds the whole [`Proposal`] from its mempool before the
//! consensus core sees it, and the core checks it exactly as before (signature over the header,
//! body against `tx_root`). A replica missing any transaction asks the leader for the whole
//! proposal ([`WireMessage::ProposalRequest`](crate::wire::WireMessage::ProposalRequest)); the
//! leader answers each validator once per proposal. A leader that never answers is a leader that
//! withheld its proposal, which the view timer already handles. Re-proposals inside NEW-VIEW,
//! view changes and catch-up still carry whole blocks.
use jjj_consensus::Proposal;
use jjj_primitives::{AccountId, Block, Hash, HashAlgo, Header, SignedTransaction};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};
use std::collections::BTreeSet;

/// A [`Proposal`] whose block lists its transactions by hash.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct CompactProposal {
    pub height: u64,
    pub view: u64,
    pub header: Header,
    pub tx_hashes: Vec<Hash>,
    pub proposer: AccountId,
    pub signature: [u8; 64],
}

impl CompactProposal {
    pub fn of(proposal: &Proposal, algo: HashAlgo) -> CompactProposal {
        let tx_hashes = proposal.block.transactions.iter().map(|t| t.hash(algo)).collect();
        CompactProposal::with_hashes(proposal, tx_hashes)
    }

    /// [`CompactProposal::of`] with the block's transaction hashes already at hand (the leader
    /// has them from building the block: its receipts carry them).
    pub fn with_hashes(proposal: &Proposal, tx_hashes: Vec<Hash>) -> CompactProposal {
        CompactProposal {
            height: proposal.height,
            view: proposal.view,
            header: proposal.block.header.clone(),
            tx_hashes,
            proposer: proposal.proposer,
            signature: proposal.signature,
        }
    }

    /// The whole proposal, each transaction found by `lookup`; `Err(missing)` counts those it
    /// lacks. A transaction `lookup` returns under another hash (which it never should) fails the
    /// core's body check, like any body that does not match its header.
    pub fn fill(self, lookup: impl Fn(&Hash) -> Option<SignedTransaction>) -> Result<Proposal, usize> {
        let mut transactions = Vec::with_capacity(self.tx_hashes.len());
        let mut missing = 0;
        for hash in &self.tx_hashes {
            match lookup(hash) {
                Some(tx) if missing == 0 => transactions.push(tx),
                Some(_) => {}
                None => missing += 1,
            }
        }
        if missing > 0 {
            return Err(missing);
        }
        Ok(Proposal {
            height: self.height,
            view: self.view,
            block: Block { header: self.header, transactions },
            proposer: self.proposer,
            signature: self.signature,
        })
    }
}

/// The leader's latest proposal, kept to answer replicas that could not rebuild it.
#[derive(Default)]
pub struct OwnProposal {
    proposal: Option<Proposal>,
    /// Validators already answered for it: each gets the whole proposal once.
    answered: BTreeSet<AccountId>,
}

impl OwnProposal {
    pub fn set(&mut self, proposal: Proposal) {
        self.proposal = Some(proposal);
        self.answered.clear();
    }

    /// The proposal at (height, view) for `peer`, unless there is none or `peer` had it already.
    pub fn answer(&mut self, peer: AccountId, height: u64, view: u64) -> Option<&Proposal> {
        let proposal = self.proposal.as_ref().filter(|p| p.height == height && p.view == view)?;
        self.answered.insert(peer).then_some(proposal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jjj_primitives::{Call, NetworkId, Transaction};
    use jjj_testkit::{test_hash_algo as algo, test_key as key};
    use std::collections::HashMap;

    fn proposal(n: u64) -> Proposal {
        let signer = key("payer");
        let network = NetworkId::new("compact").expect("network");
        let transactions: Vec<SignedTransaction> = (0..n)
            .map(|nonce| {
                signer.sign_tx(Transaction {
                    network: network.clone(),
                    sender: signer.account(),
                    nonce,
                    gas_limit: 100_000,
                    call: Call::Transfer { to: AccountId([7; 32]), amount: 1 },
                })
            })
            .collect();
        let header = Header {
            network: network.clone(),
            height: 5,
            parent_hash: Hash::default(),
            timestamp: 0,
            proposer: key("leader").account(),
            tx_root: Hash::default(),
            receipts_root: Hash::default(),
            state_root: Hash::default(),
        };
        Proposal::sign(algo(), &network, &key("leader"), 5, 1, Block { header, transactions })
    }

    #[test]
    fn a_replica_holding_every_transaction_rebuilds_the_proposal_exactly() {
        let whole = proposal(20);
        let pool: HashMap<Hash, SignedTransaction> =
            whole.block.transactions.iter().map(|t| (t.hash(algo()), t.clone())).collect();
        let compact = CompactProposal::of(&whole, algo());
        assert!(compact.encode().len() * 4 < whole.encode().len(), "hashes are smaller than transactions");
        assert_eq!(compact.fill(|h| pool.get(h).cloned()), Ok(whole));
    }

    #[test]
    fn missing_transactions_are_counted_not_guessed() {
        let whole = proposal(20);
        let pool: HashMap<Hash, SignedTransaction> =
            whole.block.transactions.iter().skip(3).map(|t| (t.hash(algo()), t.clone())).collect();
        assert_eq!(CompactProposal::of(&whole, algo()).fill(|h| pool.get(h).cloned()), Err(3));
    }

    #[test]
    fn the_leader_answers_each_validator_once_and_only_for_its_proposal() {
        let mut own = OwnProposal::default();
        assert!(own.answer(AccountId([1; 32]), 5, 1).is_none(), "nothing proposed yet");
        own.set(proposal(2));
        assert!(own.answer(AccountId([1; 32]), 5, 0).is_none(), "another view");
        assert!(own.answer(AccountId([1; 32]), 6, 1).is_none(), "another height");
        assert!(own.answer(AccountId([1; 32]), 5, 1).is_some());
        assert!(own.answer(AccountId([1; 32]), 5, 1).is_none(), "once per validator");
        assert!(own.answer(AccountId([2; 32]), 5, 1).is_some());
        own.set(proposal(3));
        assert!(own.answer(AccountId([1; 32]), 5, 1).is_some(), "a new proposal, answered again");
    }
}
