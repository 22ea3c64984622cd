//! What validators say to each other, over the authenticated channel of `net`: consensus
//! messages (a leader's proposal compact, see [`crate::compact`]), transaction gossip and catch-up, each tagged with its network (one p2p port serves
//! every network of the node). Decoding is bounded: a frame is at most the transport's maximum,
//! nesting is limited, and trailing bytes are refused.
use crate::compact::CompactProposal;
use jjj_consensus::{CommitCertificate, ConsensusMessage};
use jjj_primitives::params::MAX_PEER_MESSAGE;
use jjj_primitives::{Block, NetworkId, SignedTransaction};
use parity_scale_codec::{Decode, DecodeLimit, DecodeWithMemTracking, Encode};

/// Most blocks in one catch-up answer.
pub const MAX_SYNC_BLOCKS: u64 = 64;
/// Most bytes of certified blocks in one catch-up answer (more blocks are not added past it;
/// a single block larger than this still goes alone if it fits in a peer message). Half a peer
/// message: an answer always fits, and a peer asking over and over costs us a bounded amount.
pub const MAX_SYNC_BYTES: usize = MAX_PEER_MESSAGE / 2;
/// Most transactions in one gossip message.
pub const MAX_GOSSIP_TXS: usize = 512;
const MAX_DECODE_DEPTH: u32 = 32;

/// A finalised block with the certificate that makes it final.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub struct CertifiedBlock {
    pub block: Block,
    pub certificate: CommitCertificate,
}

// Not boxed: a message is decoded, routed and dropped; none are kept in bulk.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking)]
pub enum WireMessage {
    Consensus {
        network: NetworkId,
        message: ConsensusMessage,
    },
    Transactions {
        network: NetworkId,
        txs: Vec<SignedTransaction>,
    },
    /// "Send me the finalised blocks from `from` on" (at most `MAX_SYNC_BLOCKS`, and
    /// `MAX_SYNC_BYTES`: the requester asks again from where the answer ends).
    SyncRequest {
        network: NetworkId,
        from: u64,
    },
    SyncResponse {
        network: NetworkId,
        blocks: Vec<CertifiedBlock>,
    },
    /// A leader's PRE-PREPARE with its transactions by hash.
    CompactProposal {
        network: NetworkId,
        proposal: CompactProposal,
    },
    /// "Send me your proposal at (height, view) whole": this replica lacks some of its
    /// transactions. Answered with a `Consensus` proposal, once per validator and proposal.
    ProposalRequest {
        network: NetworkId,
        height: u64,
        view: u64,
    },
}

impl WireMessage {
    pub fn network(&self) -> &NetworkId {
        match self {
            WireMessage::Consensus { network, .. }
            | WireMessage::Transactions { network, .. }
            | WireMessage::SyncRequest { network, .. }
            | WireMessage::SyncResponse { network, .. }
            | WireMessage::CompactProposal { network, .. }
            | WireMessage::ProposalRequest { network, .. } => network,
        }
    }

    pub fn decode_bounded(bytes: &[u8]) -> Result<WireMessage, String> {
        WireMessage::decode_all_with_depth_limit(MAX_DECODE_DEPTH, &mut &bytes[..])
            .map_err(|e| format!("malformed peer message: {e}"))
    }
}
