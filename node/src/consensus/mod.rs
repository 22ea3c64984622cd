//! PBFT consensus: the pure state machine (`core`), its messages, and a seeded deterministic
//! simulation of many validators over a faulty in-memory network (`sim`).
pub mod core;
pub mod messages;
pub mod sim;

pub use self::core::{Core, CoreConfig, Effect, Input, SafetyState, Timeout};
pub use self::messages::{
    CommitCertificate, ConsensusMessage, KeyCache, NewView, PreparedCertificate, Proposal, ValidatorSet, ViewChange,
    Vote, VoteKind,
};
