//! Waste transfer manifests (危险废物/固体废物转移联单) for Beijing, Tianjin and Hebei.
//!
//! A manifest follows one load of waste from the place it was produced to the facility that
//! disposes of it, and holds the disposal fee in escrow until the end:
//!
//! 1. The **generator** (any account: a waste producer needs no registration, it pays) creates
//!    the manifest with the category, declared weight, origin and destination region, the
//!    transporter, the facility and the transporter's share of the fee; the value attached is the
//!    fee, held by the contract. The facility must be registered in the destination region.
//! 2. A **cross-region** manifest (origin ≠ destination) waits for the **destination region's
//!    environment agency** to approve (or reject, which refunds the generator) before pickup.
//! 3. The named **transporter** confirms pickup.
//! 4. The named **facility** confirms receipt with the weight it measured. When the measured
//!    weight differs from the declared one by more than the tolerance (basis points of the
//!    declared weight), the manifest is **flagged**: it is listed by `flagged_manifests()`, a
//!    `Flagged` event names the origin and destination agencies, and the manifest cannot be
//!    disposed until one of those two agencies clears it (`clear_flag`) with a note. The escrow
//!    stays in the contract meanwhile.
//! 5. The facility confirms disposal; the escrow is split: the transporter receives
//!    `fee × share_bps / 10 000` (rounded down) and the facility the rest, so no fen is lost.
//!
//! Before pickup the generator may cancel, which refunds the fee. Every step is recorded in the
//! manifest's history (`history(id)`): what happened, by whom, when, with a note.
//!
//! Who may take part is the alliance's call, not a contract admin's (there is none): an
//! account registers here as its region's environment agency, a transporter or a facility only
//! if the alliance gave it that role (`environment-agency`, `transporter`, `facility`), and only
//! by itself or through a `member-admin` of its member, and an agency or facility only in the
//! region of the member that registered it. One agency per region (re-registering
//! replaces it); re-registering a transporter or facility updates its name/region; manifests
//! already created keep the parties they named. A manifest names only a transporter and a
//! facility that still hold their roles; the tolerance is set by an environment agency.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// 100 % in basis points.
pub const BPS: u32 = 10_000;
/// Longest note, rejection reason or clearance note, in bytes.
pub const MAX_NOTE_LEN: usize = 256;
/// Longest transporter or facility name, in bytes.
pub const MAX_NAME_LEN: usize = 64;

// ---------------------------------------------------------------- types

/// The three regions of 京津冀.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    Beijing,
    Tianjin,
    Hebei,
}

impl Region {
    pub fn name(self) -> &'static str {
        match self {
            Region::Beijing => "Beijing",
            Region::Tianjin => "Tianjin",
            Region::Hebei => "Hebei",
        }
    }
}

/// What kind of waste travels on the manifest.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasteCategory {
    Household,
    Construction,
    Industrial,
    Hazardous,
    Medical,
}

/// Where a manifest is in its life.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Same-region manifest, waiting for pickup.
    Created,
    /// Cross-region manifest, waiting for the destination agency.
    AwaitingApproval,
    /// Cross-region manifest approved, waiting for pickup.
    Approved,
    /// Refused by the destination agency; the fee went back to the generator.
    Rejected,
    /// Withdrawn by the generator before pickup; the fee went back.
    Cancelled,
    /// On the road.
    PickedUp,
    /// At the facility, weight within tolerance (or flag cleared).
    Received,
    /// At the facility, weight off by more than the tolerance; needs an agency's clearance.
    Flagged,
    /// Disposed; the escrow was paid out.
    Disposed,
}

impl Status {
    fn describe(self) -> &'static str {
        match self {
            Status::Created => "created and not yet picked up",
            Status::AwaitingApproval => "awaiting the destination agency's approval",
            Status::Approved => "approved and not yet picked up",
            Status::Rejected => "rejected by the destination agency",
            Status::Cancelled => "cancelled by the generator",
            Status::PickedUp => "picked up and not yet received",
            Status::Received => "received and not yet disposed",
            Status::Flagged => "flagged for a weight discrepancy and not yet cleared by an agency",
            Status::Disposed => "already disposed",
        }
    }
}

/// One step of a manifest's history.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Created,
    Approved,
    Rejected,
    Cancelled,
    PickedUp,
    Received,
    Flagged,
    FlagCleared,
    Disposed,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub step: Step,
    /// Who took the step (the contract itself never does).
    pub by: AccountId,
    /// Block time, ms since the Unix epoch.
    pub at: u64,
    pub note: String,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub id: u64,
    pub generator: AccountId,
    pub category: WasteCategory,
    pub declared_weight_kg: u64,
    /// Set by the facility at receipt.
    pub measured_weight_kg: Option<u64>,
    pub origin: Region,
    pub destination: Region,
    pub transporter: AccountId,
    pub facility: AccountId,
    /// Escrowed fee, fen.
    pub fee: u64,
    /// Transporter's share of the fee, basis points; the facility gets the rest.
    pub transporter_share_bps: u32,
    pub status: Status,
    /// Whether the receipt weight was ever out of tolerance (stays true after clearance).
    pub flagged: bool,
    /// Paid out at disposal (0 before).
    pub transporter_paid: u64,
    pub facility_paid: u64,
    pub created_at: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Transporter {
    pub name: String,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Facility {
    pub name: String,
    pub region: Region,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum WasteEvent {
    AgencyRegistered {
        region: Region,
        #[topic]
        agency: AccountId,
    },
    TransporterRegistered {
        #[topic]
        transporter: AccountId,
        name: String,
    },
    FacilityRegistered {
        #[topic]
        facility: AccountId,
        name: String,
        region: Region,
    },
    ToleranceChanged {
        tolerance_bps: u32,
    },
    ManifestCreated {
        #[topic]
        id: u64,
        generator: AccountId,
        category: WasteCategory,
        weight_kg: u64,
        origin: Region,
        destination: Region,
        #[topic]
        transporter: AccountId,
        #[topic]
        facility: AccountId,
        fee: u64,
        needs_approval: bool,
    },
    Approved {
        #[topic]
        id: u64,
        #[topic]
        agency: AccountId,
    },
    Rejected {
        #[topic]
        id: u64,
        #[topic]
        agency: AccountId,
        reason: String,
        refunded: u64,
    },
    Cancelled {
        #[topic]
        id: u64,
        refunded: u64,
    },
    PickedUp {
        #[topic]
        id: u64,
        #[topic]
        transporter: AccountId,
    },
    Received {
        #[topic]
        id: u64,
        #[topic]
        facility: AccountId,
        declared_kg: u64,
        measured_kg: u64,
    },
    /// A receipt weight out of tolerance, for the agencies of both ends (None: none registered).
    /// Each agency is a topic once, even when one agency serves both ends.
    Flagged {
        #[topic]
        id: u64,
        declared_kg: u64,
        measured_kg: u64,
        origin: Region,
        destination: Region,
        #[topic]
        origin_agency: Option<AccountId>,
        #[topic(distinct)]
        destination_agency: Option<AccountId>,
    },
    FlagCleared {
        #[topic]
        id: u64,
        #[topic]
        agency: AccountId,
    },
    Disposed {
        #[topic]
        id: u64,
        #[topic]
        transporter: AccountId,
        transporter_amount: u64,
        #[topic]
        facility: AccountId,
        facility_amount: u64,
    },
}

// ---------------------------------------------------------------- storage

jjj_sdk::storage! {
    static TOLERANCE_BPS: Item<u32> = b"tolerance";
    static NEXT_ID: Item<u64> = b"next_id";
    static AGENCIES: Map<Region, AccountId> = b"agency";
    static TRANSPORTERS: Map<AccountId, Transporter> = b"transporter";
    static FACILITIES: Map<AccountId, Facility> = b"facility";
    static MANIFESTS: Map<u64, Manifest> = b"manifest";
    static HISTORY: Map<u64, Vec<HistoryEntry>> = b"history";
    /// Cross-region manifests awaiting approval, per destination region (small: removed when decided).
    static PENDING: Map<Region, Vec<u64>> = b"pending";
    /// Ids of the manifests each account is generator, transporter or facility of, oldest first.
    static BY_ACCOUNT: ListMap<AccountId, u64> = b"by_account";
    /// Ids of every manifest ever flagged, oldest first.
    static FLAGGED: List<u64> = b"flagged";
}

// ---------------------------------------------------------------- helpers

/// The caller acts for `account` (itself, or a member-admin of its member) and the alliance
/// gave `account` the role `role`; `region`, when the registration names one, is the region of
/// the member that registered `account` (a Beijing agency cannot make itself Hebei's).
fn may_register(account: &AccountId, role: &str, what: &str, region: Option<Region>) -> Result<()> {
    ensure!(
        env::caller_acts_for(account),
        "only {} itself or a member-admin of its member may register it as {}",
        account,
        what
    );
    ensure!(env::has_role(account, role), "{} lacks the alliance's role {}, so it cannot be {}", account, role, what);
    if let Some(region) = region {
        ensure!(
            env::member_region(account) == Some(region as u8),
            "{} is not registered by a member of {}, so it cannot be {} there",
            account,
            region.name(),
            what
        );
    }
    Ok(())
}

fn check_tolerance(bps: u32) -> Result<()> {
    ensure!(bps <= BPS, "tolerance of {} bps is over 100% ({} bps)", bps, BPS);
    Ok(())
}

fn check_name(name: &str) -> Result<()> {
    ensure!(!name.trim().is_empty(), "a name is required");
    ensure!(name.len() <= MAX_NAME_LEN, "name of {} bytes is over the limit of {} bytes", name.len(), MAX_NAME_LEN);
    Ok(())
}

fn check_note(note: &str, what: &str) -> Result<()> {
    ensure!(!note.trim().is_empty(), "a {} is required", what);
    ensure!(note.len() <= MAX_NOTE_LEN, "{} of {} bytes is over the limit of {} bytes", what, note.len(), MAX_NOTE_LEN);
    Ok(())
}

fn load(id: u64) -> Result<Manifest> {
    MANIFESTS.get(&id).ok_or_else(|| Error::new(format!("manifest {} does not exist", id)))
}

fn expect_status(m: &Manifest, allowed: &[Status], action: &str) -> Result<()> {
    ensure!(allowed.contains(&m.status), "manifest {} cannot be {}: it is {}", m.id, action, m.status.describe());
    Ok(())
}

fn record(id: u64, step: Step, note: String) {
    let entry = HistoryEntry { step, by: env::caller(), at: env::block_time(), note };
    HISTORY.update(&id, |h| h.push(entry));
}

/// A list position or count from a `u64` argument: lists have `u32` indexes, and anything past
/// `u32::MAX` is past their end.
fn index(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn agency_of(region: Region) -> Option<AccountId> {
    AGENCIES.get(&region)
}

/// The read policy of a manifest and its history: its generator, transporter and facility, the
/// agencies of its origin and destination, and the alliance's auditors.
fn check_manifest_reader(m: &Manifest) -> Result<()> {
    let reader = env::caller();
    let party = reader == m.generator || reader == m.transporter || reader == m.facility;
    let agency = agency_of(m.origin) == Some(reader) || agency_of(m.destination) == Some(reader);
    ensure!(
        party || agency || env::has_role(&reader, roles::AUDITOR),
        "read refused: manifest {} is read by its parties, the agencies of its regions and auditors",
        m.id
    );
    Ok(())
}

/// The read policy of an account's manifest list: the account itself, an agency, auditors.
fn check_list_reader(account: &AccountId) -> Result<()> {
    let reader = env::caller();
    let agency = [Region::Beijing, Region::Tianjin, Region::Hebei].into_iter().any(|r| agency_of(r) == Some(reader));
    ensure!(
        reader == *account || agency || env::has_role(&reader, roles::AUDITOR),
        "read refused: an account's manifests are listed for the account, agencies and auditors"
    );
    Ok(())
}

fn unpend(m: &Manifest) {
    if m.origin != m.destination {
        PENDING.update(&m.destination, |v| v.retain(|x| *x != m.id));
    }
}

/// Pays the generator back its fee; used by reject and cancel.
fn refund(m: &Manifest) -> Result<()> {
    if m.fee > 0 {
        env::transfer(&m.generator, m.fee)?;
    }
    Ok(())
}

/// Transporter's part of a fee: fee × share / 10 000, rounded down (≤ fee as share ≤ 10 000).
pub fn transporter_amount(fee: u64, share_bps: u32) -> u64 {
    ((fee as u128 * share_bps as u128) / BPS as u128) as u64
}

/// Whether `measured` differs from `declared` by more than `tolerance_bps` of `declared`.
pub fn out_of_tolerance(declared: u64, measured: u64, tolerance_bps: u32) -> bool {
    let diff = declared.abs_diff(measured) as u128;
    diff * BPS as u128 > tolerance_bps as u128 * declared as u128
}

// ---------------------------------------------------------------- contract

pub struct WasteDisposal;

#[jjj_sdk::contract(events = WasteEvent)]
impl WasteDisposal {
    /// Sets the weight tolerance at receipt, in basis points of the declared weight (500 = 5 %,
    /// at most 10 000). There is no admin: the alliance's roles say who takes part.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new(tolerance_bps: u32) -> Result<()> {
        check_tolerance(tolerance_bps)?;
        TOLERANCE_BPS.set(&tolerance_bps);
        NEXT_ID.set(&1);
        Ok(())
    }

    /// Makes `account` (role `environment-agency`; by itself or a member-admin of its member)
    /// the environment agency of `region`, replacing any previous one.
    #[message]
    pub fn register_agency(region: Region, account: AccountId) -> Result<()> {
        may_register(&account, roles::ENVIRONMENT_AGENCY, "an environment agency", Some(region))?;
        AGENCIES.set(&region, &account);
        env::emit(&WasteEvent::AgencyRegistered { region, agency: account });
        Ok(())
    }

    /// Registers (or renames) a licensed transporter: `account` holds the role `transporter`;
    /// by itself or a member-admin of its member.
    #[message]
    pub fn register_transporter(account: AccountId, name: String) -> Result<()> {
        may_register(&account, roles::TRANSPORTER, "a transporter", None)?;
        check_name(&name)?;
        TRANSPORTERS.set(&account, &Transporter { name: name.clone() });
        env::emit(&WasteEvent::TransporterRegistered { transporter: account, name });
        Ok(())
    }

    /// Registers (or updates) a licensed disposal facility located in `region`: `account`
    /// holds the role `facility`; by itself or a member-admin of its member.
    #[message]
    pub fn register_facility(account: AccountId, name: String, region: Region) -> Result<()> {
        may_register(&account, roles::FACILITY, "a facility", Some(region))?;
        check_name(&name)?;
        FACILITIES.set(&account, &Facility { name: name.clone(), region });
        env::emit(&WasteEvent::FacilityRegistered { facility: account, name, region });
        Ok(())
    }

    /// An environment agency (role `environment-agency`): changes the weight tolerance (basis
    /// points, at most 10 000) for future receipts.
    #[message]
    pub fn set_tolerance(tolerance_bps: u32) -> Result<()> {
        let caller = env::caller();
        ensure!(
            env::has_role(&caller, roles::ENVIRONMENT_AGENCY),
            "only an environment agency may change the tolerance; {} is not one",
            caller
        );
        check_tolerance(tolerance_bps)?;
        TOLERANCE_BPS.set(&tolerance_bps);
        env::emit(&WasteEvent::ToleranceChanged { tolerance_bps });
        Ok(())
    }

    /// Generator (any account): creates a manifest; the value attached is the fee, held in
    /// escrow. The transporter must be registered, the facility registered in `destination`;
    /// `transporter_share_bps` (≤ 10 000) is the transporter's part of the fee. A cross-region
    /// manifest needs the destination agency (which must be registered) to approve it before
    /// pickup. Returns the manifest id.
    #[message(payable)]
    pub fn create_manifest(
        category: WasteCategory,
        weight_kg: u64,
        origin: Region,
        destination: Region,
        transporter: AccountId,
        facility: AccountId,
        transporter_share_bps: u32,
    ) -> Result<u64> {
        let fee = env::value();
        ensure!(fee > 0, "attach the disposal fee: a manifest needs a fee in escrow (0 fen attached)");
        ensure!(weight_kg > 0, "the declared weight must be positive");
        ensure!(
            transporter_share_bps <= BPS,
            "transporter share of {} bps is over 100% ({} bps)",
            transporter_share_bps,
            BPS
        );
        ensure!(TRANSPORTERS.contains(&transporter), "{} is not a registered transporter", transporter);
        let f = FACILITIES
            .get(&facility)
            .ok_or_else(|| Error::new(format!("{} is not a registered facility", facility)))?;
        // A licence the alliance withdrew stops new manifests at once.
        ensure!(
            env::has_role(&transporter, roles::TRANSPORTER),
            "transporter {} no longer holds the alliance's role {}",
            transporter,
            roles::TRANSPORTER
        );
        ensure!(
            env::has_role(&facility, roles::FACILITY),
            "facility {} no longer holds the alliance's role {}",
            f.name,
            roles::FACILITY
        );
        ensure!(
            f.region == destination,
            "facility {} is in {}, not in the destination region {}",
            f.name,
            f.region.name(),
            destination.name()
        );
        let cross = origin != destination;
        if cross {
            ensure!(
                agency_of(destination).is_some(),
                "no environment agency is registered for {} to approve a cross-region manifest",
                destination.name()
            );
        }

        let generator = env::caller();
        let id = NEXT_ID.get_or(1);
        NEXT_ID.set(&id.checked_add(1).ok_or_else(|| Error::new("manifest id overflow"))?);
        let m = Manifest {
            id,
            generator,
            category,
            declared_weight_kg: weight_kg,
            measured_weight_kg: None,
            origin,
            destination,
            transporter,
            facility,
            fee,
            transporter_share_bps,
            status: if cross { Status::AwaitingApproval } else { Status::Created },
            flagged: false,
            transporter_paid: 0,
            facility_paid: 0,
            created_at: env::block_time(),
        };
        MANIFESTS.set(&id, &m);
        BY_ACCOUNT.push(&generator, &id)?;
        if transporter != generator {
            BY_ACCOUNT.push(&transporter, &id)?;
        }
        if facility != generator && facility != transporter {
            BY_ACCOUNT.push(&facility, &id)?;
        }
        if cross {
            PENDING.update(&destination, |v| v.push(id));
        }
        record(
            id,
            Step::Created,
            format!("{} kg {} → {}, fee {} fen", weight_kg, origin.name(), destination.name(), fee),
        );
        env::emit(&WasteEvent::ManifestCreated {
            id,
            generator,
            category,
            weight_kg,
            origin,
            destination,
            transporter,
            facility,
            fee,
            needs_approval: cross,
        });
        Ok(id)
    }

    /// Destination agency: approves a cross-region manifest awaiting approval; pickup may follow.
    #[message]
    pub fn approve(manifest_id: u64) -> Result<()> {
        let mut m = load(manifest_id)?;
        Self::destination_agency_only(&m, "approve")?;
        expect_status(&m, &[Status::AwaitingApproval], "approved")?;
        m.status = Status::Approved;
        MANIFESTS.set(&manifest_id, &m);
        unpend(&m);
        record(manifest_id, Step::Approved, String::new());
        env::emit(&WasteEvent::Approved { id: manifest_id, agency: env::caller() });
        Ok(())
    }

    /// Destination agency: refuses a cross-region manifest awaiting approval, with a reason;
    /// the whole fee goes back to the generator.
    #[message]
    pub fn reject(manifest_id: u64, reason: String) -> Result<()> {
        let mut m = load(manifest_id)?;
        Self::destination_agency_only(&m, "reject")?;
        expect_status(&m, &[Status::AwaitingApproval], "rejected")?;
        check_note(&reason, "reason")?;
        m.status = Status::Rejected;
        MANIFESTS.set(&manifest_id, &m);
        unpend(&m);
        record(manifest_id, Step::Rejected, reason.clone());
        refund(&m)?;
        env::emit(&WasteEvent::Rejected { id: manifest_id, agency: env::caller(), reason, refunded: m.fee });
        Ok(())
    }

    /// Generator: withdraws a manifest before pickup; the whole fee goes back.
    #[message]
    pub fn cancel(manifest_id: u64) -> Result<()> {
        let mut m = load(manifest_id)?;
        ensure!(env::caller() == m.generator, "only the generator of manifest {} may cancel it", manifest_id);
        expect_status(&m, &[Status::Created, Status::AwaitingApproval, Status::Approved], "cancelled")?;
        m.status = Status::Cancelled;
        MANIFESTS.set(&manifest_id, &m);
        unpend(&m);
        record(manifest_id, Step::Cancelled, String::new());
        refund(&m)?;
        env::emit(&WasteEvent::Cancelled { id: manifest_id, refunded: m.fee });
        Ok(())
    }

    /// Transporter named on the manifest: confirms pickup (only once created, or approved when
    /// cross-region).
    #[message]
    pub fn confirm_pickup(manifest_id: u64) -> Result<()> {
        let mut m = load(manifest_id)?;
        ensure!(env::caller() == m.transporter, "only the transporter of manifest {} may confirm pickup", manifest_id);
        expect_status(&m, &[Status::Created, Status::Approved], "picked up")?;
        m.status = Status::PickedUp;
        MANIFESTS.set(&manifest_id, &m);
        record(manifest_id, Step::PickedUp, String::new());
        env::emit(&WasteEvent::PickedUp { id: manifest_id, transporter: m.transporter });
        Ok(())
    }

    /// Facility named on the manifest: confirms receipt with the weight it measured. Beyond the
    /// tolerance the manifest is flagged to the origin and destination agencies and cannot be
    /// disposed until one of them clears it. Returns whether it was flagged.
    #[message]
    pub fn confirm_receipt(manifest_id: u64, measured_weight_kg: u64) -> Result<bool> {
        let mut m = load(manifest_id)?;
        ensure!(env::caller() == m.facility, "only the facility of manifest {} may confirm receipt", manifest_id);
        expect_status(&m, &[Status::PickedUp], "received")?;
        let declared = m.declared_weight_kg;
        let tolerance = TOLERANCE_BPS.get_or(0);
        let flagged = out_of_tolerance(declared, measured_weight_kg, tolerance);
        m.measured_weight_kg = Some(measured_weight_kg);
        m.status = if flagged { Status::Flagged } else { Status::Received };
        m.flagged = flagged;
        MANIFESTS.set(&manifest_id, &m);
        record(manifest_id, Step::Received, format!("measured {} kg, declared {} kg", measured_weight_kg, declared));
        env::emit(&WasteEvent::Received {
            id: manifest_id,
            facility: m.facility,
            declared_kg: declared,
            measured_kg: measured_weight_kg,
        });
        if flagged {
            FLAGGED.push(&manifest_id)?;
            let off_bps = declared.abs_diff(measured_weight_kg) as u128 * BPS as u128 / declared as u128;
            record(
                manifest_id,
                Step::Flagged,
                format!("weight off by {} bps, over the tolerance of {} bps", off_bps, tolerance),
            );
            env::emit(&WasteEvent::Flagged {
                id: manifest_id,
                declared_kg: declared,
                measured_kg: measured_weight_kg,
                origin: m.origin,
                destination: m.destination,
                origin_agency: agency_of(m.origin),
                destination_agency: agency_of(m.destination),
            });
        }
        Ok(flagged)
    }

    /// Agency of the manifest's origin or destination region: clears a flagged manifest with a
    /// note (the finding); it returns to Received and may then be disposed. It stays listed in
    /// `flagged_manifests()`.
    #[message]
    pub fn clear_flag(manifest_id: u64, note: String) -> Result<()> {
        let mut m = load(manifest_id)?;
        let caller = env::caller();
        ensure!(
            agency_of(m.origin) == Some(caller) || agency_of(m.destination) == Some(caller),
            "only the environment agency of {} or {} may clear manifest {}",
            m.origin.name(),
            m.destination.name(),
            manifest_id
        );
        expect_status(&m, &[Status::Flagged], "cleared")?;
        check_note(&note, "note")?;
        m.status = Status::Received;
        MANIFESTS.set(&manifest_id, &m);
        record(manifest_id, Step::FlagCleared, note);
        env::emit(&WasteEvent::FlagCleared { id: manifest_id, agency: caller });
        Ok(())
    }

    /// Facility named on the manifest: confirms disposal (only after receipt, and after an
    /// agency cleared a flag); pays the transporter fee × share / 10 000 and the facility the
    /// rest. Returns (transporter amount, facility amount).
    #[message]
    pub fn confirm_disposal(manifest_id: u64) -> Result<(u64, u64)> {
        let mut m = load(manifest_id)?;
        ensure!(env::caller() == m.facility, "only the facility of manifest {} may confirm disposal", manifest_id);
        expect_status(&m, &[Status::Received], "disposed")?;
        let to_transporter = transporter_amount(m.fee, m.transporter_share_bps);
        let to_facility =
            m.fee.checked_sub(to_transporter).ok_or_else(|| Error::new("transporter share exceeds the fee"))?;
        m.status = Status::Disposed;
        m.transporter_paid = to_transporter;
        m.facility_paid = to_facility;
        MANIFESTS.set(&manifest_id, &m);
        record(
            manifest_id,
            Step::Disposed,
            format!("paid {} fen to the transporter, {} fen to the facility", to_transporter, to_facility),
        );
        if to_transporter > 0 {
            env::transfer(&m.transporter, to_transporter)?;
        }
        if to_facility > 0 {
            env::transfer(&m.facility, to_facility)?;
        }
        env::emit(&WasteEvent::Disposed {
            id: manifest_id,
            transporter: m.transporter,
            transporter_amount: to_transporter,
            facility: m.facility,
            facility_amount: to_facility,
        });
        Ok((to_transporter, to_facility))
    }

    // ------------------------------------------------------------ queries

    /// A manifest, or None if there is no such id. Read policy: its parties, the agencies of
    /// its regions, auditors.
    #[message(query, protected)]
    pub fn manifest(manifest_id: u64) -> Result<Option<Manifest>> {
        let m = MANIFESTS.get(&manifest_id);
        if let Some(m) = &m {
            check_manifest_reader(m)?;
        }
        Ok(m)
    }

    /// Every step of a manifest, oldest first (fails for an unknown id). Read policy: the
    /// manifest's.
    #[message(query, protected)]
    pub fn history(manifest_id: u64) -> Result<Vec<HistoryEntry>> {
        check_manifest_reader(&load(manifest_id)?)?;
        Ok(HISTORY.get(&manifest_id).unwrap_or_default())
    }

    /// Ids of the manifests where `account` is generator, transporter or facility, oldest first.
    /// (For accounts with thousands of manifests use `manifests_of_page`.) Read policy: the
    /// account, agencies, auditors.
    #[message(query, protected)]
    pub fn manifests_of(account: AccountId) -> Result<Vec<u64>> {
        check_list_reader(&account)?;
        Ok(BY_ACCOUNT.iter(&account).collect())
    }

    /// Up to `limit` ids of `manifests_of(account)` starting at position `start`. Read policy
    /// as `manifests_of`.
    #[message(query, protected)]
    pub fn manifests_of_page(account: AccountId, start: u64, limit: u64) -> Result<Vec<u64>> {
        check_list_reader(&account)?;
        Ok(BY_ACCOUNT.page(&account, index(start), index(limit)))
    }

    /// Ids of every manifest ever flagged for a weight discrepancy (cleared ones included),
    /// oldest first.
    #[message(query)]
    pub fn flagged_manifests() -> Result<Vec<u64>> {
        Ok(FLAGGED.iter().collect())
    }

    /// Up to `limit` ids of `flagged_manifests()` starting at position `start`.
    #[message(query)]
    pub fn flagged_manifests_page(start: u64, limit: u64) -> Result<Vec<u64>> {
        Ok(FLAGGED.page(index(start), index(limit)))
    }

    /// Cross-region manifests bound for `region` that await its agency's approval.
    #[message(query)]
    pub fn pending_approvals(region: Region) -> Result<Vec<u64>> {
        Ok(PENDING.get(&region).unwrap_or_default())
    }

    /// The environment agency registered for a region.
    #[message(query)]
    pub fn agency(region: Region) -> Result<Option<AccountId>> {
        Ok(agency_of(region))
    }

    /// A registered transporter.
    #[message(query)]
    pub fn transporter(account: AccountId) -> Result<Option<Transporter>> {
        Ok(TRANSPORTERS.get(&account))
    }

    /// A registered facility.
    #[message(query)]
    pub fn facility(account: AccountId) -> Result<Option<Facility>> {
        Ok(FACILITIES.get(&account))
    }

    /// The weight tolerance at receipt, basis points of the declared weight.
    #[message(query)]
    pub fn tolerance_bps() -> Result<u32> {
        Ok(TOLERANCE_BPS.get_or(0))
    }

    /// How many manifests were created.
    #[message(query)]
    pub fn manifest_count() -> Result<u64> {
        Ok(NEXT_ID.get_or(1) - 1)
    }
}

impl WasteDisposal {
    fn destination_agency_only(m: &Manifest, action: &str) -> Result<()> {
        ensure!(
            agency_of(m.destination) == Some(env::caller()),
            "only the environment agency of {} may {} manifest {}",
            m.destination.name(),
            action,
            m.id
        );
        ensure!(
            m.origin != m.destination,
            "manifest {} stays within {} and needs no approval",
            m.id,
            m.destination.name()
        );
        Ok(())
    }
}
