//! Competitive calls for projects (竞争激励): sealed bids, a scoring committee, priority funding
//! paid in milestones, and the region's penalty register.
//!
//! 1. A funding body (an account with the alliance role `funding-body`) opens a call: a title,
//!    the scoring criteria and their weights, the bid deposit, the bidding and reveal deadlines,
//!    the committee (named evaluators and how many of them must score every bid), how many
//!    winners at most, the milestones an award is paid in, and how many penalty entries a bidder
//!    may have. The budget is attached to the call and held in escrow.
//! 2. Before the bidding deadline a registered organisation bids with only a commitment — the
//!    hash of its amount, its proposal's document hash and a secret salt (see [`seal`]) — and
//!    the deposit. Nobody, the committee included, can learn a bid from it.
//! 3. Between the two deadlines each bidder reveals; the contract checks it against the
//!    commitment. A bid over the budget cannot be revealed.
//! 4. After the reveal deadline the evaluators score each revealed bid per criterion (0–100).
//!    Once every revealed bid has the committee's quorum of scores, the funder or an evaluator
//!    publishes: bids ranked by score (then the lower amount, then the earlier bid) are funded
//!    in that order while the budget lasts (priority funding). Losers get their deposits back; a
//!    bidder that never revealed forfeits its deposit to the funder and enters the penalty
//!    register; the unawarded budget returns to the funder.
//! 5. The funder accepts each milestone of an award, which pays its share; the last returns the
//!    deposit. A winner in breach forfeits its deposit and the rest of its award returns to the
//!    funder, and it enters the penalty register.
//!
//! The penalty register is public: other contracts read it (`penalty_count`, `penalties`) and
//! governance reads it; this contract refuses bidders over a call's limit. Besides this contract
//! itself, accounts and contracts the alliance gave the role `penalty-recorder` enter penalties
//! (`record_penalty`; e.g. the eco-compliance contract fining a polluter).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// The alliance role that opens calls for projects.
pub const FUNDING_BODY: &str = "funding-body";
/// The alliance role of accounts and contracts that enter penalties in the register.
pub const PENALTY_RECORDER: &str = "penalty-recorder";
pub const MAX_TEXT_LEN: usize = 256;
pub const MAX_CRITERIA: usize = 8;
pub const MAX_EVALUATORS: usize = 15;
pub const MAX_MILESTONES: usize = 12;
/// Most bids one call takes: publishing ranks them all in one transaction.
pub const MAX_BIDS: u32 = 100;
/// Most penalty entries one subject keeps; later ones are refused (the register is for
/// governance's attention, and a subject with this many is long since excluded).
pub const MAX_PENALTIES: u32 = 10_000;
pub const MAX_PAGE: u32 = 200;
/// The highest score an evaluator gives one criterion.
pub const MAX_SCORE: u8 = 100;

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub name: String,
    /// Percent of the total score; a call's weights add up to 100.
    pub weight: u8,
}

/// What a funding body publishes when it opens a call.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct CallSpec {
    pub title: String,
    pub criteria: Vec<Criterion>,
    /// Fen each bidder attaches to its sealed bid.
    pub deposit: u64,
    /// Block time (ms) until which sealed bids are taken.
    pub bid_deadline: u64,
    /// Block time (ms) until which bids are revealed; scoring starts after it.
    pub reveal_deadline: u64,
    pub evaluators: Vec<AccountId>,
    /// How many evaluators must score each revealed bid before the results can be published.
    pub quorum: u8,
    pub max_winners: u8,
    /// Percent of each award paid per accepted milestone; they add up to 100.
    pub milestones: Vec<u8>,
    /// A bidder with more entries than this in the penalty register is refused.
    pub max_penalties: u32,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Bidding, revealing or scoring, by the block time against the deadlines.
    Open,
    Published,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct CallForProjects {
    pub id: u64,
    pub funder: AccountId,
    pub budget: u64,
    /// Fen still held for awards not yet paid.
    pub escrow: u64,
    pub status: CallStatus,
    pub spec: CallSpec,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BidStatus {
    Sealed,
    Revealed,
    /// Never revealed: deposit forfeited.
    Forfeited,
    /// Not funded: deposit returned.
    Lost,
    /// Funded; paid milestone by milestone.
    Won,
    /// Every milestone accepted, deposit returned.
    Completed,
    /// Declared in breach by the funder: deposit forfeited, the rest of the award returned.
    Breached,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub bidder: AccountId,
    /// The sealed bid: [`seal`] of what is revealed later.
    pub commitment: Hash,
    pub deposit: u64,
    pub bid_at: u64,
    /// Fen asked for, known from the reveal on.
    pub amount: Option<u64>,
    /// The proposal document's hash, known from the reveal on.
    pub proposal: Option<Hash>,
    pub status: BidStatus,
    /// Milestones accepted and fen paid so far (winners only).
    pub milestones_paid: u8,
    pub paid: u64,
}

/// One evaluator's scores of one bid, per criterion, and their weighted total (0–10,000).
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Scorecard {
    pub evaluator: AccountId,
    pub scores: Vec<u8>,
    pub weighted: u32,
}

/// A revealed bid's place in the published results.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub bidder: AccountId,
    pub amount: u64,
    /// The mean of its evaluators' weighted totals, 0–10,000 (100.00 points).
    pub score: u32,
    pub funded: bool,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Penalty {
    pub id: u64,
    pub subject: AccountId,
    /// Who entered it: this contract, or a `penalty-recorder` account or contract.
    pub recorder: AccountId,
    /// Fen forfeited or fined (0 for a penalty without money).
    pub amount: u64,
    pub reason: String,
    pub height: u64,
    pub time: u64,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum TenderEvent {
    CallOpened {
        #[topic]
        call: u64,
        #[topic]
        funder: AccountId,
        budget: u64,
    },
    BidSealed {
        #[topic]
        call: u64,
        #[topic]
        bidder: AccountId,
        commitment: Hash,
    },
    BidRevealed {
        #[topic]
        call: u64,
        #[topic]
        bidder: AccountId,
        amount: u64,
    },
    Scored {
        #[topic]
        call: u64,
        #[topic]
        bidder: AccountId,
        evaluator: AccountId,
        weighted: u32,
    },
    Published {
        #[topic]
        call: u64,
        funded: u32,
        awarded: u64,
    },
    MilestonePaid {
        #[topic]
        call: u64,
        #[topic]
        bidder: AccountId,
        milestone: u8,
        amount: u64,
    },
    Breached {
        #[topic]
        call: u64,
        #[topic]
        bidder: AccountId,
    },
    PenaltyRecorded {
        #[topic]
        subject: AccountId,
        #[topic]
        recorder: AccountId,
        id: u64,
        amount: u64,
    },
}

jjj_sdk::storage! {
    static LAST_CALL: Item<u64> = b"last_call";
    static CALLS: Map<u64, CallForProjects> = b"calls";
    static BIDS: Map<(u64, AccountId), Bid> = b"bids";
    /// Bidders of each call, in the order they bid.
    static BIDDERS: ListMap<u64, AccountId> = b"bidders";
    static SCORECARDS: ListMap<(u64, AccountId), Scorecard> = b"scorecards";
    static RESULTS: Map<u64, Vec<Ranked>> = b"results";
    static LAST_PENALTY: Item<u64> = b"last_penalty";
    static PENALTIES: Map<u64, Penalty> = b"penalties";
    static PENALTIES_OF: ListMap<AccountId, u64> = b"penalties_of";
}

/// The commitment of a sealed bid: blake2b-256 of the SCALE encoding of (call id, bidder,
/// amount, proposal hash, salt). The bidder and the call are in it so that nobody can copy
/// another's commitment and reveal it as theirs; the salt (32 random bytes the bidder keeps)
/// so that nobody can guess the amount by trying them all.
pub fn seal(call: u64, bidder: &AccountId, amount: u64, proposal: &Hash, salt: &Hash) -> Hash {
    env::blake2_256(&(call, bidder, amount, proposal, salt).encode())
}

pub struct Tender;

fn call_for(id: u64) -> Result<CallForProjects> {
    CALLS.get(&id).ok_or_else(|| Error::new(format!("no call for projects #{id}")))
}

fn bid_of(call: u64, bidder: &AccountId) -> Result<Bid> {
    BIDS.get(&(call, *bidder)).ok_or_else(|| Error::new(format!("{bidder} has no bid in call #{call}")))
}

fn text(what: &str, s: &str) -> Result<()> {
    ensure!(!s.is_empty() && s.len() <= MAX_TEXT_LEN, "{} has 1 to {} bytes", what, MAX_TEXT_LEN);
    Ok(())
}

fn check_spec(spec: &CallSpec, now: u64) -> Result<()> {
    text("a call's title", &spec.title)?;
    ensure!(
        !spec.criteria.is_empty() && spec.criteria.len() <= MAX_CRITERIA,
        "a call has 1 to {} criteria",
        MAX_CRITERIA
    );
    for c in &spec.criteria {
        text("a criterion's name", &c.name)?;
    }
    let weights: u32 = spec.criteria.iter().map(|c| u32::from(c.weight)).sum();
    ensure!(weights == 100, "the criteria's weights add up to {}, not 100", weights);
    ensure!(spec.bid_deadline > now, "the bidding deadline {} has passed (now {})", spec.bid_deadline, now);
    ensure!(spec.reveal_deadline > spec.bid_deadline, "the reveal deadline comes after the bidding deadline");
    ensure!(
        !spec.evaluators.is_empty() && spec.evaluators.len() <= MAX_EVALUATORS,
        "a committee has 1 to {} evaluators",
        MAX_EVALUATORS
    );
    for (i, e) in spec.evaluators.iter().enumerate() {
        ensure!(!spec.evaluators[..i].contains(e), "evaluator {} is named twice", e);
    }
    ensure!(
        spec.quorum >= 1 && usize::from(spec.quorum) <= spec.evaluators.len(),
        "the quorum is 1 to the committee's {} evaluators",
        spec.evaluators.len()
    );
    ensure!(spec.max_winners >= 1, "a call funds at least one winner");
    ensure!(
        !spec.milestones.is_empty() && spec.milestones.len() <= MAX_MILESTONES,
        "an award is paid in 1 to {} milestones",
        MAX_MILESTONES
    );
    ensure!(spec.milestones.iter().all(|m| *m > 0), "every milestone pays a share above 0 %");
    let shares: u32 = spec.milestones.iter().map(|m| u32::from(*m)).sum();
    ensure!(shares == 100, "the milestones' shares add up to {} %, not 100", shares);
    Ok(())
}

/// Enters a penalty in the register; returns its id.
fn penalise(subject: AccountId, recorder: AccountId, amount: u64, reason: String) -> Result<u64> {
    ensure!(
        PENALTIES_OF.len(&subject) < MAX_PENALTIES,
        "{} has {} penalty entries, the most the register keeps",
        subject,
        MAX_PENALTIES
    );
    let id = LAST_PENALTY.get_or(0) + 1;
    LAST_PENALTY.set(&id);
    let p = Penalty { id, subject, recorder, amount, reason, height: env::block_height(), time: env::block_time() };
    PENALTIES.set(&id, &p);
    PENALTIES_OF.push(&subject, &id)?;
    env::emit(&TenderEvent::PenaltyRecorded { subject, recorder, id, amount });
    Ok(id)
}

fn pay(to: &AccountId, amount: u64) -> Result<()> {
    if amount > 0 {
        env::transfer(to, amount)?;
    }
    Ok(())
}

/// A bid's score: the mean of its evaluators' weighted totals (0 when nobody scored it).
fn score_of(call: u64, bidder: &AccountId) -> u32 {
    let cards = SCORECARDS.iter(&(call, *bidder)).map(|c| c.weighted).collect::<Vec<_>>();
    match cards.len() as u32 {
        0 => 0,
        n => cards.iter().sum::<u32>() / n,
    }
}

#[jjj_sdk::contract(events = TenderEvent)]
impl Tender {
    #[constructor]
    pub fn new() -> Result<()> {
        Ok(())
    }

    /// A funding body opens a call for projects with the attached budget; returns its id.
    #[message(payable)]
    pub fn open_call(spec: CallSpec) -> Result<u64> {
        let funder = env::caller();
        ensure!(env::has_role(&funder, FUNDING_BODY), "only a funding body (role {}) opens calls", FUNDING_BODY);
        check_spec(&spec, env::block_time())?;
        let budget = env::value();
        ensure!(budget > 0, "attach the call's budget: it is held in escrow until paid to the winners");
        let id = LAST_CALL.get_or(0) + 1;
        LAST_CALL.set(&id);
        CALLS.set(&id, &CallForProjects { id, funder, budget, escrow: budget, status: CallStatus::Open, spec });
        env::emit(&TenderEvent::CallOpened { call: id, funder, budget });
        Ok(id)
    }

    /// A registered organisation bids in call `id` with a sealed commitment (see [`seal`]) and
    /// the call's deposit attached.
    #[message(payable)]
    pub fn bid(id: u64, commitment: Hash) -> Result<()> {
        let c = call_for(id)?;
        let bidder = env::caller();
        let now = env::block_time();
        ensure!(now < c.spec.bid_deadline, "bidding in call #{} closed at {} (now {})", id, c.spec.bid_deadline, now);
        ensure!(env::member_of(&bidder).is_some(), "{} is not an organisation the alliance registered", bidder);
        ensure!(bidder != c.funder && !c.spec.evaluators.contains(&bidder), "the funder and the committee do not bid");
        let penalties = PENALTIES_OF.len(&bidder);
        ensure!(
            penalties <= c.spec.max_penalties,
            "{} has {} entries in the penalty register; call #{} admits at most {}",
            bidder,
            penalties,
            id,
            c.spec.max_penalties
        );
        ensure!(!BIDS.contains(&(id, bidder)), "{} has a bid in call #{} already", bidder, id);
        ensure!(BIDDERS.len(&id) < MAX_BIDS, "call #{} has the most bids it takes ({})", id, MAX_BIDS);
        ensure!(
            env::value() == c.spec.deposit,
            "attach the deposit of {} fen (attached {})",
            c.spec.deposit,
            env::value()
        );
        let bid = Bid {
            bidder,
            commitment,
            deposit: c.spec.deposit,
            bid_at: now,
            amount: None,
            proposal: None,
            status: BidStatus::Sealed,
            milestones_paid: 0,
            paid: 0,
        };
        BIDS.set(&(id, bidder), &bid);
        BIDDERS.push(&id, &bidder)?;
        env::emit(&TenderEvent::BidSealed { call: id, bidder, commitment });
        Ok(())
    }

    /// The bidder reveals its sealed bid between the two deadlines.
    #[message]
    pub fn reveal(id: u64, amount: u64, proposal: Hash, salt: Hash) -> Result<()> {
        let c = call_for(id)?;
        let bidder = env::caller();
        let now = env::block_time();
        ensure!(
            now >= c.spec.bid_deadline,
            "bids in call #{} are revealed after the bidding deadline {} (now {}): revealing earlier would show it to the other bidders",
            id,
            c.spec.bid_deadline,
            now
        );
        ensure!(now < c.spec.reveal_deadline, "the reveal of call #{} closed at {}", id, c.spec.reveal_deadline);
        let mut bid = bid_of(id, &bidder)?;
        ensure!(bid.status == BidStatus::Sealed, "{}'s bid in call #{} is revealed already", bidder, id);
        ensure!(
            seal(id, &bidder, amount, &proposal, &salt) == bid.commitment,
            "this amount, proposal and salt do not match {}'s sealed bid in call #{}",
            bidder,
            id
        );
        ensure!(amount > 0, "a bid asks for some funding");
        ensure!(amount <= c.budget, "the bid asks for {} fen, over call #{}'s budget of {}", amount, id, c.budget);
        bid.amount = Some(amount);
        bid.proposal = Some(proposal);
        bid.status = BidStatus::Revealed;
        BIDS.set(&(id, bidder), &bid);
        env::emit(&TenderEvent::BidRevealed { call: id, bidder, amount });
        Ok(())
    }

    /// An evaluator of the call scores a revealed bid, 0–100 per criterion in the call's order.
    #[message]
    pub fn score(id: u64, bidder: AccountId, scores: Vec<u8>) -> Result<u32> {
        let c = call_for(id)?;
        let evaluator = env::caller();
        ensure!(c.spec.evaluators.contains(&evaluator), "{} is not on call #{}'s committee", evaluator, id);
        ensure!(c.status == CallStatus::Open, "call #{}'s results are published", id);
        ensure!(env::block_time() >= c.spec.reveal_deadline, "scoring starts after the reveal deadline");
        let bid = bid_of(id, &bidder)?;
        ensure!(bid.status == BidStatus::Revealed, "{}'s bid in call #{} was never revealed", bidder, id);
        ensure!(
            scores.len() == c.spec.criteria.len(),
            "call #{} has {} criteria, {} scores given",
            id,
            c.spec.criteria.len(),
            scores.len()
        );
        ensure!(scores.iter().all(|s| *s <= MAX_SCORE), "a score is 0 to {}", MAX_SCORE);
        ensure!(
            SCORECARDS.iter(&(id, bidder)).all(|card| card.evaluator != evaluator),
            "{} scored {}'s bid already",
            evaluator,
            bidder
        );
        let weighted = scores.iter().zip(&c.spec.criteria).map(|(s, cr)| u32::from(*s) * u32::from(cr.weight)).sum();
        SCORECARDS.push(&(id, bidder), &Scorecard { evaluator, scores, weighted })?;
        env::emit(&TenderEvent::Scored { call: id, bidder, evaluator, weighted });
        Ok(weighted)
    }

    /// The funder or an evaluator publishes the results once every revealed bid has the
    /// quorum's scores: funds the best bids within the budget, returns the losers' deposits,
    /// forfeits unrevealed bids' deposits and records their penalties, returns the unawarded
    /// budget. Returns the ranking.
    #[message]
    pub fn publish(id: u64) -> Result<Vec<Ranked>> {
        let mut c = call_for(id)?;
        let who = env::caller();
        ensure!(
            who == c.funder || c.spec.evaluators.contains(&who),
            "only call #{}'s funder or committee publishes its results",
            id
        );
        ensure!(c.status == CallStatus::Open, "call #{}'s results are published already", id);
        ensure!(env::block_time() >= c.spec.reveal_deadline, "call #{} is still revealing bids", id);
        let bidders = BIDDERS.iter(&id).collect::<Vec<_>>();
        let mut ranked = Vec::new();
        for (order, bidder) in bidders.iter().enumerate() {
            let mut bid = bid_of(id, bidder)?;
            match bid.amount {
                Some(amount) if bid.status == BidStatus::Revealed => {
                    let cards = SCORECARDS.len(&(id, *bidder));
                    ensure!(
                        cards >= u32::from(c.spec.quorum),
                        "{}'s bid has {} of the {} scores the committee's quorum needs",
                        bidder,
                        cards,
                        c.spec.quorum
                    );
                    ranked
                        .push((Ranked { bidder: *bidder, amount, score: score_of(id, bidder), funded: false }, order));
                }
                _ => {
                    // Never revealed: the deposit is forfeited and the register remembers.
                    bid.status = BidStatus::Forfeited;
                    BIDS.set(&(id, *bidder), &bid);
                    pay(&c.funder, bid.deposit)?;
                    penalise(
                        *bidder,
                        env::self_address(),
                        bid.deposit,
                        format!("did not reveal its bid in call #{id}"),
                    )?;
                }
            }
        }
        ranked.sort_by(|(a, ai), (b, bi)| b.score.cmp(&a.score).then(a.amount.cmp(&b.amount)).then(ai.cmp(bi)));
        let mut left = c.budget;
        let mut winners = 0u32;
        let mut results = Vec::with_capacity(ranked.len());
        for (mut r, _) in ranked {
            let mut bid = bid_of(id, &r.bidder)?;
            if winners < u32::from(c.spec.max_winners) && r.amount <= left {
                left -= r.amount;
                winners += 1;
                r.funded = true;
                bid.status = BidStatus::Won;
            } else {
                bid.status = BidStatus::Lost;
                pay(&r.bidder, bid.deposit)?;
            }
            BIDS.set(&(id, r.bidder), &bid);
            results.push(r);
        }
        pay(&c.funder, left)?;
        c.escrow = c.budget - left;
        c.status = CallStatus::Published;
        CALLS.set(&id, &c);
        RESULTS.set(&id, &results);
        env::emit(&TenderEvent::Published { call: id, funded: winners, awarded: c.escrow });
        Ok(results)
    }

    /// The funder accepts a winner's next milestone, which pays its share of the award; the
    /// last also returns the deposit. Returns the fen paid.
    #[message]
    pub fn accept_milestone(id: u64, bidder: AccountId) -> Result<u64> {
        let mut c = call_for(id)?;
        ensure!(env::caller() == c.funder, "only call #{}'s funder accepts milestones", id);
        let mut bid = bid_of(id, &bidder)?;
        ensure!(bid.status == BidStatus::Won, "{} has no award in progress in call #{}", bidder, id);
        let award = bid.amount.unwrap_or(0);
        let i = usize::from(bid.milestones_paid);
        let Some(share) = c.spec.milestones.get(i) else { fail!("every milestone of {}'s award is paid", bidder) };
        let last = i + 1 == c.spec.milestones.len();
        // The last milestone pays what is left, so rounding never strands a fen.
        let amount = if last { award - bid.paid } else { (u128::from(award) * u128::from(*share) / 100) as u64 };
        pay(&bidder, amount)?;
        bid.paid += amount;
        bid.milestones_paid += 1;
        c.escrow -= amount;
        if last {
            bid.status = BidStatus::Completed;
            pay(&bidder, bid.deposit)?;
        }
        BIDS.set(&(id, bidder), &bid);
        CALLS.set(&id, &c);
        env::emit(&TenderEvent::MilestonePaid { call: id, bidder, milestone: bid.milestones_paid, amount });
        Ok(amount)
    }

    /// The funder declares a winner in breach of its milestones: its deposit is forfeited, the
    /// unpaid award returns to the funder, and it enters the penalty register. Returns the
    /// penalty's id.
    #[message]
    pub fn declare_breach(id: u64, bidder: AccountId, reason: String) -> Result<u64> {
        let mut c = call_for(id)?;
        ensure!(env::caller() == c.funder, "only call #{}'s funder declares a breach", id);
        text("a breach's reason", &reason)?;
        let mut bid = bid_of(id, &bidder)?;
        ensure!(bid.status == BidStatus::Won, "{} has no award in progress in call #{}", bidder, id);
        let unpaid = bid.amount.unwrap_or(0) - bid.paid;
        c.escrow -= unpaid;
        pay(&c.funder, unpaid + bid.deposit)?;
        bid.status = BidStatus::Breached;
        BIDS.set(&(id, bidder), &bid);
        CALLS.set(&id, &c);
        env::emit(&TenderEvent::Breached { call: id, bidder });
        penalise(bidder, env::self_address(), bid.deposit, format!("breached its award in call #{id}: {reason}"))
    }

    /// An account or contract with the alliance role `penalty-recorder` enters a penalty
    /// against `subject` (e.g. a fine for pollution); returns its id.
    #[message]
    pub fn record_penalty(subject: AccountId, amount: u64, reason: String) -> Result<u64> {
        let recorder = env::caller();
        ensure!(
            env::has_role(&recorder, PENALTY_RECORDER),
            "{} lacks the alliance's role {}: only the bodies governance named enter penalties",
            recorder,
            PENALTY_RECORDER
        );
        text("a penalty's reason", &reason)?;
        penalise(subject, recorder, amount, reason)
    }

    #[message(query)]
    pub fn call_for_projects(id: u64) -> Result<Option<CallForProjects>> {
        Ok(CALLS.get(&id))
    }

    /// Call `id`'s bids in the order they came: before the reveal only their commitments.
    #[message(query)]
    pub fn bids(id: u64, start: u32, limit: u32) -> Result<Vec<Bid>> {
        Ok(BIDDERS.page(&id, start, limit.min(MAX_PAGE)).iter().filter_map(|b| BIDS.get(&(id, *b))).collect())
    }

    /// Every evaluator's scores of `bidder`'s bid in call `id`.
    #[message(query)]
    pub fn scorecards(id: u64, bidder: AccountId) -> Result<Vec<Scorecard>> {
        Ok(SCORECARDS.iter(&(id, bidder)).collect())
    }

    /// The published ranking of call `id`: scores and who is funded (empty before publication).
    #[message(query)]
    pub fn results(id: u64) -> Result<Vec<Ranked>> {
        Ok(RESULTS.get(&id).unwrap_or_default())
    }

    /// How many entries `subject` has in the penalty register: what a contract checks.
    #[message(query)]
    pub fn penalty_count(subject: AccountId) -> Result<u32> {
        Ok(PENALTIES_OF.len(&subject))
    }

    /// `subject`'s entries in the penalty register, oldest first.
    #[message(query)]
    pub fn penalties(subject: AccountId, start: u32, limit: u32) -> Result<Vec<Penalty>> {
        Ok(PENALTIES_OF.page(&subject, start, limit.min(MAX_PAGE)).iter().filter_map(|i| PENALTIES.get(i)).collect())
    }

    /// The whole register by id, from `first`: what governance reviews.
    #[message(query)]
    pub fn penalty_register(first: u64, limit: u32) -> Result<Vec<Penalty>> {
        let start = first.max(1);
        let end = LAST_PENALTY.get_or(0).min(start.saturating_add(u64::from(limit.min(MAX_PAGE))).saturating_sub(1));
        Ok((start..=end).filter_map(|i| PENALTIES.get(&i)).collect())
    }
}
