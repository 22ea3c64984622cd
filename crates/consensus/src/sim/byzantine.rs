//! Byzantine validators for the simulation: first-class mocks of the faults one validator (f = 1
//! of 4, or fewer than a third) can commit, run for good while the honest validators must keep
//! agreement, validity and progress.
//!
//! A byzantine validator runs its own honest `Core` (so it votes, leads and times out like the
//! others) and alters what goes out: `byzantine_send` rewrites or holds back what its core
//! broadcasts, `byzantine_heard` reacts to what it receives, `byzantine_tick` floods on every
//! tick of the transaction clock. The equivocating leader is the twin of `mod.rs`.
use super::{make_block_with_body, swap_body, Sim};
use crate::core::{FUTURE_BYTES_PER_SENDER, FUTURE_BYTES_TOTAL};
use crate::messages::{ConsensusMessage, NewView, PreparedCertificate, Proposal, ViewChange};
use jjj_primitives::Hash;
use rand::seq::SliceRandom;
use rand::Rng;
use std::rc::Rc;

/// What a byzantine validator does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Behaviour {
    /// Relays every proposal and NEW-VIEW it hears at once, under the same header and signature
    /// but another body (empty, or with an extra transaction), racing the leader's copy; its own
    /// view changes carry its prepared block under another body.
    BodySwapper,
    /// Two twins sharing its key, each proposing and voting its own way to one half.
    Equivocator,
    /// Sends its proposals and NEW-VIEWs to only some of the others (sometimes none).
    Withholder,
    /// Signs, every tick, view changes for the next 8 views of its height and for views of the
    /// next 3 heights, and one claiming a prepared block it cannot prove.
    ViewChangeFlooder,
    /// Sends, every tick, view changes for the next 3 heights and for heights 1,000 and 2^62 ahead,
    /// each carrying 16 KiB of junk as its "proof", and (in one seed of 4) once a message above
    /// the per-sender byte budget.
    FutureFlooder,
}

impl Behaviour {
    pub const ALL: [Behaviour; 5] = [
        Behaviour::BodySwapper,
        Behaviour::Equivocator,
        Behaviour::Withholder,
        Behaviour::ViewChangeFlooder,
        Behaviour::FutureFlooder,
    ];
}

/// Junk carried by the future flooder's messages.
const JUNK_BYTES: usize = 16 * 1024;
/// The future flooder sends its message above the per-sender budget (16 MiB, costly to copy
/// around) in one seed of this many.
const OVERSIZE_EVERY_SEEDS: u64 = 4;

impl Sim {
    /// The other validators' instances.
    fn others(&self, from: usize) -> Vec<usize> {
        let me = self.instances[from].validator;
        (0..self.instances.len()).filter(|&j| self.instances[j].validator != me).collect()
    }

    fn send_all(&mut self, from: usize, msg: ConsensusMessage, fast: bool) {
        let msg = Rc::new(msg);
        for to in self.others(from) {
            self.send_to(from, to, msg.clone(), fast);
        }
        self.outcome.byzantine_messages += 1;
    }

    /// What the byzantine validator's core broadcasts, altered.
    pub(super) fn byzantine_send(&mut self, from: usize, behaviour: Behaviour, msg: ConsensusMessage) {
        match (behaviour, msg) {
            (Behaviour::BodySwapper, ConsensusMessage::ViewChange(mut vc)) if vc.proof.is_some() => {
                let salt = self.rng.gen_range(0..2u64);
                if let Some(proof) = vc.proof.as_mut() {
                    proof.block = swap_body(&proof.block, salt);
                }
                self.send_all(from, ConsensusMessage::ViewChange(vc), false);
            }
            (Behaviour::Withholder, msg @ (ConsensusMessage::Proposal(_) | ConsensusMessage::NewView(_))) => {
                let mut others = self.others(from);
                others.shuffle(&mut self.rng);
                let keep = self.rng.gen_range(0..others.len());
                let msg = Rc::new(msg);
                for to in others.into_iter().take(keep) {
                    self.send_to(from, to, msg.clone(), false);
                }
                self.outcome.byzantine_messages += 1;
            }
            (_, msg) => self.send(from, Rc::new(msg)),
        }
    }

    /// The byzantine validator heard `msg` (its core already handled it).
    pub(super) fn byzantine_heard(&mut self, at: usize, behaviour: Behaviour, msg: &ConsensusMessage) {
        if behaviour != Behaviour::BodySwapper || msg.sender() == self.instances[at].key.account() {
            return;
        }
        let salt = self.rng.gen_range(0..2u64);
        let swapped = match msg {
            ConsensusMessage::Proposal(p) => {
                ConsensusMessage::Proposal(Proposal { block: swap_body(&p.block, salt), ..p.clone() })
            }
            ConsensusMessage::NewView(nv) => {
                let proposal = Proposal { block: swap_body(&nv.proposal.block, salt), ..nv.proposal.clone() };
                ConsensusMessage::NewView(NewView { proposal, ..nv.clone() })
            }
            _ => return,
        };
        self.send_all(at, swapped, true);
    }

    /// A tick of the transaction clock at the byzantine validator: the floods.
    pub(super) fn byzantine_tick(&mut self, i: usize, behaviour: Behaviour) {
        let Some((height, view)) = self.instances[i].core.as_ref().map(|c| (c.height(), c.view())) else { return };
        let key = self.instances[i].key.clone();
        let network = self.network.clone();
        let mut flood = vec![];
        match behaviour {
            Behaviour::ViewChangeFlooder => {
                for v in view + 1..=view + 8 {
                    flood.push(ViewChange::sign(&network, &key, height, v, None));
                }
                for h in height + 1..=height + 3 {
                    for v in 1..=2 {
                        flood.push(ViewChange::sign(&network, &key, h, view + v, None));
                    }
                }
                // A claim it cannot back: a prepared block nobody prepared.
                let junk = make_block_with_body(self.algo(), &network, height, Hash([7; 32]), key.account(), view, 0);
                let cert =
                    PreparedCertificate { height, view, block_hash: junk.header.hash(self.algo()), signatures: vec![] };
                flood.push(ViewChange::sign(&network, &key, height, view + 1, Some((cert, junk))));
            }
            Behaviour::FutureFlooder => {
                let mut heights: Vec<u64> = (height + 1..=height + 3).collect();
                heights.extend([height + 1_000, height + (1 << 62)]);
                for h in heights {
                    for v in 1..=2 {
                        let junk =
                            make_block_with_body(self.algo(), &network, h, Hash([9; 32]), key.account(), v, JUNK_BYTES);
                        let cert = PreparedCertificate {
                            height: h,
                            view: 0,
                            block_hash: junk.header.hash(self.algo()),
                            signatures: vec![],
                        };
                        flood.push(ViewChange::sign(&network, &key, h, view + v, Some((cert, junk))));
                    }
                }
                if !self.oversize_sent && self.scenario.seed.is_multiple_of(OVERSIZE_EVERY_SEEDS) {
                    self.oversize_sent = true;
                    let h = height + 1;
                    let junk = make_block_with_body(
                        self.algo(),
                        &network,
                        h,
                        Hash([9; 32]),
                        key.account(),
                        0,
                        FUTURE_BYTES_PER_SENDER,
                    );
                    let cert = PreparedCertificate {
                        height: h,
                        view: 0,
                        block_hash: junk.header.hash(self.algo()),
                        signatures: vec![],
                    };
                    flood.push(ViewChange::sign(&network, &key, h, 1, Some((cert, junk))));
                }
            }
            Behaviour::BodySwapper | Behaviour::Equivocator | Behaviour::Withholder => {}
        }
        self.trace((17u8, i as u32, flood.len() as u32));
        for vc in flood {
            self.send_all(i, ConsensusMessage::ViewChange(vc), false);
        }
    }

    /// Whatever is flooded, an honest core holds at most its byte budget in later heights'
    /// messages.
    pub(super) fn check_future_bytes(&mut self, i: usize) -> Result<(), String> {
        let held = self.instances[i].core.as_ref().map_or(0, |c| c.future_buffer_bytes());
        self.outcome.max_future_bytes = self.outcome.max_future_bytes.max(held);
        if held > FUTURE_BYTES_TOTAL {
            return Err(format!("validator {} holds {held} bytes for later heights", self.instances[i].validator));
        }
        Ok(())
    }
}
