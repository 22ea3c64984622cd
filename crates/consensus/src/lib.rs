//! jjj-consensus: PBFT as a pure state machine (`core`: `Core::handle(input) -> effects`, one
//! module per input), its signed messages and certificates (`messages`), the typed error their
//! checks return (`error`), the proof of a finalised receipt that another party checks against
//! a validator set (`receipt_proof`), and, behind the `sim` feature, a seeded deterministic simulation of
//! many validators over a faulty in-memory network, with byzantine validators (`sim`).
//!
//! No IO, no clock, no randomness in the core: the node feeds it inputs and carries out its
//! effects.
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
pub mod core;
pub mod error;
pub mod messages;
pub mod receipt_proof;
#[cfg(feature = "sim")]
pub mod sim;

pub use self::core::{Core, CoreConfig, Effect, Input, SafetyState, Timeout};
pub use self::error::ConsensusError;
pub use self::messages::{
    check_body, CommitCertificate, ConsensusMessage, KeyCache, NewView, PreparedCertificate, PreparedProof, Proposal,
    ValidatorSet, ViewChange, Vote, VoteKind,
};
pub use self::receipt_proof::{ProofError, ReceiptProof, VerifiedReceipt};
