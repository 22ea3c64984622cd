//! What a validator persists so a restart never signs two conflicting messages.
use crate::messages::{PreparedCertificate, ViewChange, Vote};
use jjj_primitives::{Block, Hash};
use parity_scale_codec::{Decode, DecodeWithMemTracking, Encode};

/// What a validator must remember across a crash so it never signs two conflicting messages.
///
/// Votes are only ever cast in the current (height, view) and views only grow within a height,
/// so the votes of the current view, the view itself and the height are enough to refuse any
/// conflicting vote; the prepared certificate keeps a prepared block alive through view changes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct SafetyState {
    /// The height being decided (last committed + 1).
    pub height: u64,
    /// The current view at `height`.
    pub view: u64,
    /// This node's votes at (height, view): at most one PREPARE and one COMMIT.
    pub votes: Vec<Vote>,
    /// The block hash of the proposal this node signed at (height, view), if it leads the view.
    pub proposed: Option<Hash>,
    /// The latest view change this node signed at `height`.
    pub view_change: Option<ViewChange>,
    /// The highest-view prepared certificate this node formed at `height`, with its block.
    pub prepared: Option<(PreparedCertificate, Block)>,
}

impl SafetyState {
    pub fn new(height: u64) -> SafetyState {
        SafetyState { height, view: 0, votes: Vec::new(), proposed: None, view_change: None, prepared: None }
    }

    /// Whether this state, once persisted, already accounts for `vote`: it holds the vote, or
    /// has moved past its (height, view), after which no vote there can be signed again.
    pub fn covers_vote(&self, vote: &Vote) -> bool {
        (self.height, self.view) > (vote.height, vote.view) || self.votes.contains(vote)
    }

    /// Whether this state accounts for this node's view change `vc`.
    pub fn covers_view_change(&self, vc: &ViewChange) -> bool {
        match &self.view_change {
            _ if self.height > vc.height => true,
            Some(own) => own == vc || (own.height, own.new_view) > (vc.height, vc.new_view),
            None => false,
        }
    }

    /// Whether this state accounts for this node's proposal of `block_hash` at (height, view).
    pub fn covers_proposal(&self, height: u64, view: u64, block_hash: &Hash) -> bool {
        (self.height, self.view) > (height, view)
            || (self.height == height && self.view == view && self.proposed == Some(*block_hash))
    }
}
