//! A finalised transaction and its receipt, with what proves them to someone who trusts only a
//! network's validator set: the block header and its commit certificate, and the transaction's
//! and receipt's Merkle branches to the header's `tx_root` and `receipts_root`.
//!
//! One check, used by `jjj audit receipt`/`verify-receipt` (against the auditor's genesis) and
//! by the chain itself when a contract verifies a receipt of another network (against the
//! light-client record the target network keeps of the source's validators).
use crate::messages::{CommitCertificate, ValidatorSet};
use jjj_crypto::Suite;
use jjj_primitives::{verify_merkle_proof, Hash, Header, MerkleProof, NetworkId, Receipt, SignedTransaction};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

/// What `tx_getProof` answers, as one SCALE value (what a contract hands the host).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct ReceiptProof {
    pub header: Header,
    pub certificate: CommitCertificate,
    pub transaction: SignedTransaction,
    pub receipt: Receipt,
    pub tx_branch: MerkleProof,
    pub receipt_branch: MerkleProof,
}

/// A receipt whose proof checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    pub network: NetworkId,
    pub height: u64,
    pub index: u32,
    pub tx_hash: Hash,
    pub transaction: SignedTransaction,
    pub receipt: Receipt,
}

/// Why a proof does not prove its receipt.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof's receipt is for transaction {receipt_for}, not {tx}")]
    ReceiptOfAnotherTransaction { tx: Hash, receipt_for: Hash },
    #[error("the proof's header is of network {got}, not {expected}")]
    WrongNetwork { expected: NetworkId, got: NetworkId },
    #[error("the transaction and its receipt sit at different places in block {height}")]
    BranchesDisagree { height: u64 },
    #[error("the transaction's branch does not lead to the tx root of block {height}")]
    TxBranch { height: u64 },
    #[error("the receipt's branch does not lead to the receipts root of block {height}")]
    ReceiptBranch { height: u64 },
    #[error(
        "the certificate is not for block {height}'s header: it certifies another block (a forged or altered header)"
    )]
    CertificateOfAnotherBlock { height: u64 },
    #[error("block {height}'s certificate is not signed by a quorum of the validators trusted for it: {reason}")]
    Certificate { height: u64, reason: String },
}

impl ReceiptProof {
    /// Checks, trusting only `validators` of `network` (in `suite`): the receipt is the
    /// transaction's, both sit at the same index under the header's roots, and the header is
    /// certified by a quorum of `validators`.
    pub fn verify(
        &self,
        suite: Suite,
        network: &NetworkId,
        validators: &ValidatorSet,
    ) -> Result<VerifiedReceipt, ProofError> {
        let algo = suite.hash_algo();
        let h = &self.header;
        let tx_hash = self.transaction.hash(algo);
        if self.receipt.tx_hash != tx_hash {
            return Err(ProofError::ReceiptOfAnotherTransaction { tx: tx_hash, receipt_for: self.receipt.tx_hash });
        }
        if h.network != *network {
            return Err(ProofError::WrongNetwork { expected: network.clone(), got: h.network.clone() });
        }
        if (self.tx_branch.index, self.tx_branch.count) != (self.receipt_branch.index, self.receipt_branch.count) {
            return Err(ProofError::BranchesDisagree { height: h.height });
        }
        if !verify_merkle_proof(algo, &h.tx_root, &tx_hash, &self.tx_branch) {
            return Err(ProofError::TxBranch { height: h.height });
        }
        if !verify_merkle_proof(algo, &h.receipts_root, &self.receipt.hash(algo), &self.receipt_branch) {
            return Err(ProofError::ReceiptBranch { height: h.height });
        }
        if self.certificate.height != h.height || self.certificate.block_hash != h.hash(algo) {
            return Err(ProofError::CertificateOfAnotherBlock { height: h.height });
        }
        self.certificate
            .verify(suite, network, validators)
            .map_err(|e| ProofError::Certificate { height: h.height, reason: e.to_string() })?;
        Ok(VerifiedReceipt {
            network: network.clone(),
            height: h.height,
            index: self.tx_branch.index,
            tx_hash,
            transaction: self.transaction.clone(),
            receipt: self.receipt.clone(),
        })
    }
}
