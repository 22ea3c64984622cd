//! Why a message, certificate or validator set is refused. The wording of each case is what the
//! node logs and the CLI prints.
use crate::messages::VoteKind;
use jjj_primitives::{AccountId, Hash, NetworkId};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    // ----- validator set -----
    #[error("a validator set needs at least one validator")]
    NoValidators,
    #[error("validator {0} is listed twice")]
    ValidatorListedTwice(AccountId),

    // ----- a quorum of vote signatures (certificates) -----
    #[error("the validator set is empty")]
    EmptyValidatorSet,
    #[error("{0} is not a validator")]
    NotAValidator(AccountId),
    #[error("validator {0} signed twice")]
    SignedTwice(AccountId),
    #[error("{got} signatures, {needed} needed")]
    TooFewSignatures { got: usize, needed: usize },
    #[error("bad {kind:?} signature by {voter}")]
    BadVoteSignature { kind: VoteKind, voter: AccountId },
    #[error("commit certificate for height {height} view {view}: {reason}")]
    InvalidCommitCertificate {
        height: u64,
        view: u64,
        #[source]
        reason: Box<ConsensusError>,
    },
    #[error("prepared certificate for height {height} view {view}: {reason}")]
    InvalidPreparedCertificate {
        height: u64,
        view: u64,
        #[source]
        reason: Box<ConsensusError>,
    },

    // ----- block bodies -----
    #[error("block {block}: its transactions do not match the tx root of its header")]
    BlockBodyMismatch { block: Hash },

    // ----- proposal -----
    #[error("proposal for height {height} carries a block of height {block_height}")]
    ProposalBlockHeight { height: u64, block_height: u64 },
    #[error("proposal carries a block of network {0}")]
    ProposalBlockNetwork(NetworkId),
    #[error("{proposer} does not lead view {view} of height {height}")]
    NotTheLeader { proposer: AccountId, height: u64, view: u64 },
    #[error("bad proposal signature by {0}")]
    BadProposalSignature(AccountId),

    // ----- view change -----
    #[error("view change by non-validator {0}")]
    ViewChangeByNonValidator(AccountId),
    #[error("bad view-change signature by {0}")]
    BadViewChangeSignature(AccountId),
    #[error(
        "view change to ({height}, {new_view}) carries a certificate for ({certificate_height}, {certificate_view})"
    )]
    ViewChangeCertificateSlot { height: u64, new_view: u64, certificate_height: u64, certificate_view: u64 },
    #[error("view change carries a certificate or block that does not match what it signed")]
    ViewChangeBlockMismatch,
    #[error("view change by {0} names a prepared block without its certificate and block")]
    ViewChangeWithoutProof(AccountId),
    #[error("view change by {0} carries a certificate and block it does not name")]
    ViewChangeProofWithoutClaim(AccountId),

    // ----- NEW-VIEW -----
    #[error("there is no NEW-VIEW for view 0")]
    NewViewForViewZero,
    #[error("NEW-VIEW ({height}, {view}) carries a proposal for ({proposal_height}, {proposal_view})")]
    NewViewProposalSlot { height: u64, view: u64, proposal_height: u64, proposal_view: u64 },
    #[error("NEW-VIEW carries {view_changes} view changes for {validators} validators")]
    NewViewTooManyViewChanges { view_changes: usize, validators: usize },
    #[error("NEW-VIEW ({height}, {view}) carries a view change to ({view_change_height}, {view_change_view})")]
    NewViewViewChangeSlot { height: u64, view: u64, view_change_height: u64, view_change_view: u64 },
    #[error("NEW-VIEW carries two view changes by {0}")]
    NewViewDuplicateViewChange(AccountId),
    #[error("NEW-VIEW carries {got} view changes, {needed} needed")]
    NewViewTooFewViewChanges { got: usize, needed: usize },
    #[error("NEW-VIEW does not re-propose the block prepared in view {0}")]
    NewViewNotReproposingPrepared(u64),
    #[error("NEW-VIEW carries the view change of {0} with its block: a NEW-VIEW carries the block once")]
    NewViewViewChangeWithProof(AccountId),
    #[error("NEW-VIEW lacks the certificate of the block prepared in view {0}")]
    NewViewMissingCertificate(u64),
    #[error("NEW-VIEW carries a prepared certificate none of its view changes names")]
    NewViewUnaskedCertificate,
}
