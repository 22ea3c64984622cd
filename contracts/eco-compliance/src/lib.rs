//! Eco-compliance (生态环境联防联控 and 竞争激励): enterprises graded every month from their
//! monitoring stations' signed readings, serious polluters fined and entered in the penalty
//! register, good performers rewarded, and cross-region alerts the other regions acknowledge.
//!
//! 1. **The agreement.** The three regions' environment bureaus (accounts with the alliance's
//!    role `environment-agency`) deploy one instance: the constructor takes the joint-prevention
//!    thresholds per pollutant (the region-wide alert levels they agreed), the fine per percent
//!    over a permit limit, the rewards of grades A and B, and the penalty register (the `tender`
//!    contract) or none. There is no admin: the alliance's roles say who acts.
//! 2. **Registration.** A bureau registers an enterprise of its own region (the region of the
//!    member that registered the enterprise's account) with its permit limits per pollutant and
//!    its monitoring stations (accounts; a station serves one enterprise); later stations are
//!    added the same way. The enterprise posts a deposit, from which fines are taken. There is no
//!    withdrawal: the deposit is the permit's security for as long as the contract runs.
//! 3. **Readings.** A registered station submits, signed by its own key, one reading per
//!    pollutant of its enterprise's permit and period (`YYYY-MM`): the period's value and the
//!    hash of the raw record. A second reading of the same station, pollutant and period is
//!    refused, and so is any reading of a period already graded (a grade never goes stale).
//! 4. **Grading.** Once a period is over, anyone grades an enterprise for it. The grade follows
//!    from the recorded readings alone: per pollutant the worst reading as a ratio of its limit
//!    (basis points, rounded up), then A (every pollutant ≤ 50 % of its limit), B (≤ 80 %),
//!    C (≤ 100 %), D (a pollutant over its limit, **or a pollutant of the permit without any
//!    reading**: an enterprise cannot escape grading by staying silent). A grade is final;
//!    `recompute_grade` recomputes it from the stored readings so anyone can check it.
//! 5. **Fines.** A D grade costs `fine_per_percent_over` fen for every started percent by which a
//!    pollutant's worst reading exceeds its limit, summed over the pollutants over their limits,
//!    plus [`MISSING_DATA_PERCENT`] percent for each pollutant without a reading; it is taken from
//!    the deposit (at most what the deposit holds) into the reward fund, and the enterprise is
//!    entered in the penalty register (`record_penalty`, which requires this contract's address
//!    to hold the alliance role [`PENALTY_RECORDER`]). Grade, fine and entry happen together or
//!    not at all.
//! 6. **Rewards.** The reward fund holds the fines and whatever anyone adds (`fund_rewards`).
//!    An enterprise graded A or B claims its tier's reward for that period itself, once; a claim
//!    the fund cannot cover in full is refused (claim again once the fund is topped up).
//! 7. **Alerts.** A reading over the joint-prevention threshold of its pollutant raises an alert
//!    naming the enterprise's region; a bureau of each of the other two regions acknowledges it,
//!    and the second acknowledgement closes it.
//! 8. Readings, grades, fines, rewards and alerts are public environmental information.
//!
//! Concentrations (limits, thresholds, readings) are integers in µg/m³ (1 mg/m³ = 1 000).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use jjj_sdk::prelude::*;

/// The bureaus' role, an existing role of the alliance.
pub const ENVIRONMENT_AGENCY: &str = roles::ENVIRONMENT_AGENCY;
/// The role the penalty register requires of this contract's address before it records a fine.
pub const PENALTY_RECORDER: &str = "penalty-recorder";
/// Most pollutants one permit limits.
pub const MAX_POLLUTANTS: usize = 8;
/// Most joint-prevention thresholds of the agreement.
pub const MAX_THRESHOLDS: usize = 16;
/// Most monitoring stations of one enterprise.
pub const MAX_STATIONS: usize = 16;
/// Most readings of one enterprise in one period: one per station and pollutant.
pub const MAX_READINGS_PER_PERIOD: u32 = (MAX_STATIONS * MAX_POLLUTANTS) as u32;
/// Longest pollutant name (`SO2`, `NOx`, `PM2.5`…), in bytes.
pub const MAX_POLLUTANT_LEN: usize = 16;
/// Longest enterprise name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most entries one query returns.
pub const MAX_PAGE: u32 = 100;
/// Ratios are in basis points of the limit: 10 000 = the limit itself.
pub const BPS: u64 = 10_000;
/// Grade A: every pollutant's worst reading at most 50 % of its limit.
pub const GRADE_A_MAX_BPS: u64 = 5_000;
/// Grade B: at most 80 %.
pub const GRADE_B_MAX_BPS: u64 = 8_000;
/// Grade C: at most the limit. Above it, D.
pub const GRADE_C_MAX_BPS: u64 = BPS;
/// A pollutant of the permit without any reading in the period is fined as this many percent
/// over its limit (as if measured at twice the limit).
pub const MISSING_DATA_PERCENT: u64 = 100;

/// The three regions of 京津冀, in the order of `env::member_region`'s codes.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Region {
    Beijing,
    Tianjin,
    Hebei,
}

pub const REGIONS: [Region; 3] = [Region::Beijing, Region::Tianjin, Region::Hebei];

impl Region {
    pub fn from_code(code: u8) -> Option<Region> {
        REGIONS.get(usize::from(code)).copied()
    }
    pub fn name(self) -> &'static str {
        match self {
            Region::Beijing => "Beijing",
            Region::Tianjin => "Tianjin",
            Region::Hebei => "Hebei",
        }
    }
}

/// A region is an event topic as its `member_region` code.
impl Topic for Region {
    fn topic(&self) -> Option<Hash> {
        (*self as u8).topic()
    }
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    A,
    B,
    C,
    D,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::A => "A",
            Level::B => "B",
            Level::C => "C",
            Level::D => "D",
        }
    }
}

/// What the bureaus agreed when deploying.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Joint-prevention alert level per pollutant, µg/m³: a reading above it raises an alert.
    pub thresholds: Vec<(String, u64)>,
    /// Fen per started percent over a limit, for a D grade.
    pub fine_per_percent_over: u64,
    /// Reward in fen of an A grade, of a B grade.
    pub reward_a: u64,
    pub reward_b: u64,
    /// The `tender` contract whose `record_penalty` enters fined enterprises, if any.
    pub penalty_register: Option<AccountId>,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    pub account: AccountId,
    pub name: String,
    pub region: Region,
    pub registered_by: AccountId,
    /// The first period (YYYYMM) of its permit.
    pub since: u32,
    /// Permit limit per pollutant, µg/m³.
    pub limits: Vec<(String, u64)>,
    pub stations: Vec<AccountId>,
    /// Fen held as security for fines.
    pub deposit: u64,
    /// Fen taken from the deposit in fines so far.
    pub fined: u64,
}

/// One signed reading of a station.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub station: AccountId,
    pub pollutant: String,
    /// The period's value, µg/m³.
    pub value: u64,
    pub period: String,
    /// Hash of the raw monitoring record kept by the station.
    pub record: Hash,
    pub height: u64,
    pub time: u64,
}

/// What the readings of a period say: everything a grade computes, reproducible by anyone.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub level: Level,
    pub readings: u32,
    /// The pollutant whose worst reading is the highest share of its limit (the first in permit
    /// order on a tie); `None` without any reading.
    pub worst_pollutant: Option<String>,
    /// That share, basis points of the limit rounded up (10 000 = at the limit).
    pub worst_ratio_bps: u64,
    /// Started percents over the limits, summed over the pollutants over their limits, plus
    /// `MISSING_DATA_PERCENT` per pollutant without a reading: what a D grade is fined for.
    pub percent_over: u64,
    /// Pollutants of the permit without any reading in the period.
    pub missing: Vec<String>,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Grade {
    pub enterprise: AccountId,
    pub period: String,
    pub region: Region,
    pub assessment: Assessment,
    /// Fen the D grade costs (`percent_over × fine_per_percent_over`); 0 for A to C.
    pub fine_due: u64,
    /// Fen taken from the deposit: the fine due, at most the deposit.
    pub fine_taken: u64,
    /// The penalty register's id of the entry, for a D grade with a register.
    pub penalty: Option<u64>,
    pub graded_by: AccountId,
    pub graded_at: u64,
    /// Fen of reward paid for this grade, once claimed.
    pub reward: Option<u64>,
}

/// Grades of one region in one period, by level.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegionSummary {
    pub a: u32,
    pub b: u32,
    pub c: u32,
    pub d: u32,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub region: Region,
    pub bureau: AccountId,
    pub time: u64,
}

#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: u64,
    /// The region of the enterprise whose reading raised it.
    pub region: Region,
    pub enterprise: AccountId,
    pub station: AccountId,
    pub pollutant: String,
    pub value: u64,
    pub threshold: u64,
    pub period: String,
    pub raised_at: u64,
    pub acknowledgements: Vec<Acknowledgement>,
    /// Block time of the second acknowledgement.
    pub closed_at: Option<u64>,
}

/// An alert with the regions whose acknowledgement it still waits for.
#[derive(Encode, Decode, TypeInfo, Debug, Clone, PartialEq, Eq)]
pub struct AlertStatus {
    pub alert: Alert,
    pub pending: Vec<Region>,
}

#[derive(Encode, Decode, TypeInfo, ContractEvent, Debug, Clone, PartialEq, Eq)]
pub enum EcoEvent {
    EnterpriseRegistered {
        #[topic]
        enterprise: AccountId,
        #[topic]
        region: Region,
        #[topic]
        bureau: AccountId,
        name: String,
    },
    StationRegistered {
        #[topic]
        station: AccountId,
        #[topic]
        enterprise: AccountId,
    },
    Deposited {
        #[topic]
        enterprise: AccountId,
        amount: u64,
        deposit: u64,
    },
    RewardsFunded {
        #[topic]
        from: AccountId,
        amount: u64,
        fund: u64,
    },
    Reading {
        #[topic]
        enterprise: AccountId,
        #[topic]
        station: AccountId,
        /// YYYYMM.
        #[topic]
        period: u32,
        pollutant: String,
        value: u64,
        record: Hash,
    },
    Graded {
        #[topic]
        enterprise: AccountId,
        #[topic]
        period: u32,
        #[topic]
        region: Region,
        level: Level,
        worst_pollutant: Option<String>,
        worst_ratio_bps: u64,
    },
    Fined {
        #[topic]
        enterprise: AccountId,
        #[topic]
        period: u32,
        due: u64,
        taken: u64,
        penalty: Option<u64>,
    },
    Rewarded {
        #[topic]
        enterprise: AccountId,
        #[topic]
        period: u32,
        level: Level,
        amount: u64,
    },
    AlertRaised {
        #[topic]
        alert: u64,
        #[topic]
        region: Region,
        #[topic]
        enterprise: AccountId,
        pollutant: String,
        value: u64,
        threshold: u64,
    },
    AlertAcknowledged {
        #[topic]
        alert: u64,
        #[topic]
        region: Region,
        #[topic]
        bureau: AccountId,
    },
    AlertClosed {
        #[topic]
        alert: u64,
    },
}

jjj_sdk::storage! {
    static CONFIG: Item<Config> = b"config";
    static ENTERPRISES: Map<AccountId, Enterprise> = b"enterprises";
    /// Registered enterprises, in order.
    static ENTERPRISE_LIST: List<AccountId> = b"enterprise_list";
    /// Each station's enterprise.
    static STATIONS: Map<AccountId, AccountId> = b"stations";
    /// Readings per (enterprise, period YYYYMM), in order.
    static READINGS: ListMap<(AccountId, u32), Reading> = b"readings";
    /// (station, pollutant, period) → its reading's index in READINGS.
    static SEEN: Map<(AccountId, String, u32), u32> = b"seen";
    static GRADES: Map<(AccountId, u32), Grade> = b"grades";
    static SUMMARIES: Map<(Region, u32), RegionSummary> = b"summaries";
    /// (enterprise, period) of every D grade, in order.
    static FINES: List<(AccountId, u32)> = b"fines";
    /// Fen of the reward fund (the rest of the contract's balance is deposits).
    static FUND: Item<u64> = b"fund";
    static LAST_ALERT: Item<u64> = b"last_alert";
    static ALERTS: Map<u64, Alert> = b"alerts";
}

pub struct EcoCompliance;

fn config() -> Result<Config> {
    CONFIG.get().ok_or_else(|| Error::new("the contract was not set up"))
}

fn enterprise(account: &AccountId) -> Result<Enterprise> {
    ENTERPRISES.get(account).ok_or_else(|| Error::new(format!("{account} is not a registered enterprise")))
}

/// Pollutant-value pairs: 1 to `max`, named 1 to `MAX_POLLUTANT_LEN` printable ASCII bytes,
/// distinct, values above zero.
fn check_pollutants(what: &str, list: &[(String, u64)], max: usize) -> Result<()> {
    ensure!(!list.is_empty() && list.len() <= max, "{} name 1 to {} pollutants, got {}", what, max, list.len());
    for (i, (p, v)) in list.iter().enumerate() {
        ensure!(
            !p.is_empty() && p.len() <= MAX_POLLUTANT_LEN && p.bytes().all(|b| b.is_ascii_graphic()),
            "pollutant \"{}\" is not 1 to {} printable ASCII bytes",
            p,
            MAX_POLLUTANT_LEN
        );
        ensure!(*v > 0, "{} give {} a value above zero", what, p);
        ensure!(!list[..i].iter().any(|(q, _)| q == p), "{} name {} twice", what, p);
    }
    Ok(())
}

/// `YYYY-MM` → YYYYMM.
fn parse_period(period: &str) -> Result<u32> {
    let b = period.as_bytes();
    let digits = |r: core::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(*d - b'0'));
    let well_formed = b.len() == 7 && b[4] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
    ensure!(well_formed, "period \"{}\" is not a month written YYYY-MM (e.g. 2026-11)", period);
    let (year, month) = (digits(0..4), digits(5..7));
    ensure!(year >= 1970 && (1..=12).contains(&month), "period \"{}\" is not a month from 1970-01 on", period);
    Ok(year * 100 + month)
}

fn period_text(p: u32) -> String {
    format!("{:04}-{:02}", p / 100, p % 100)
}

/// The month (YYYYMM, UTC) of a block time in ms: Howard Hinnant's civil-from-days.
pub fn month_of(time_ms: u64) -> u32 {
    let z = time_ms / 86_400_000 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year * 100 + month) as u32
}

fn next_month(p: u32) -> u32 {
    if p % 100 == 12 {
        (p / 100 + 1) * 100 + 1
    } else {
        p + 1
    }
}

/// The caller as a bureau: holds `environment-agency` and was registered by a member of one of
/// the three regions.
fn bureau(what: &str) -> Result<(AccountId, Region)> {
    let caller = env::caller();
    ensure!(
        env::has_role(&caller, ENVIRONMENT_AGENCY),
        "{} lacks the alliance's role {}: only an environment bureau {}",
        caller,
        ENVIRONMENT_AGENCY,
        what
    );
    let Some(region) = env::member_region(&caller).and_then(Region::from_code) else {
        fail!("bureau {} is not registered by a member of Beijing, Tianjin or Hebei", caller)
    };
    Ok((caller, region))
}

/// Adds `station` to `e` (not yet stored), checking it is free.
fn add_station(e: &mut Enterprise, station: AccountId) -> Result<()> {
    ensure!(
        e.stations.len() < MAX_STATIONS,
        "enterprise {} has {} stations, the most allowed",
        e.account,
        MAX_STATIONS
    );
    ensure!(station != e.account, "a station has an account of its own, not the enterprise's {}", e.account);
    ensure!(env::member_of(&station).is_some(), "station {} is not an account the alliance registered", station);
    if let Some(owner) = STATIONS.get(&station) {
        fail!("station {} already serves enterprise {}", station, owner);
    }
    ensure!(!e.stations.contains(&station), "station {} is listed twice", station);
    e.stations.push(station);
    Ok(())
}

/// Basis points of `limit` that `value` is, rounded up, so that `value > limit` ⇔ `> BPS`. A
/// value too large to scale (over 1.8 × 10¹⁵ µg/m³) is `u64::MAX`: far over any limit. (No
/// `u128` here: its division would add kilobytes of wasm.)
fn ratio_bps(value: u64, limit: u64) -> u64 {
    value.checked_mul(BPS).map_or(u64::MAX, |v| v.div_ceil(limit.max(1)))
}

/// The grade of `e` in `period` from its recorded readings alone.
fn assess(e: &Enterprise, period: u32) -> Assessment {
    let mut worst: Vec<Option<u64>> = vec![None; e.limits.len()];
    let mut readings = 0u32;
    for r in READINGS.iter(&(e.account, period)) {
        readings += 1;
        if let Some(i) = e.limits.iter().position(|(p, _)| *p == r.pollutant) {
            let ratio = ratio_bps(r.value, e.limits[i].1);
            worst[i] = Some(worst[i].map_or(ratio, |w| w.max(ratio)));
        }
    }
    let mut top: Option<(usize, u64)> = None;
    let mut percent_over = 0u64;
    let mut missing = Vec::new();
    for (i, w) in worst.iter().enumerate() {
        match w {
            None => {
                missing.push(e.limits[i].0.clone());
                percent_over = percent_over.saturating_add(MISSING_DATA_PERCENT);
            }
            Some(ratio) => {
                if *ratio > GRADE_C_MAX_BPS {
                    percent_over = percent_over.saturating_add((ratio - GRADE_C_MAX_BPS).div_ceil(100));
                }
                if top.is_none_or(|(_, t)| *ratio > t) {
                    top = Some((i, *ratio));
                }
            }
        }
    }
    let worst_ratio_bps = top.map_or(0, |(_, r)| r);
    let level = if !missing.is_empty() || worst_ratio_bps > GRADE_C_MAX_BPS {
        Level::D
    } else if worst_ratio_bps > GRADE_B_MAX_BPS {
        Level::C
    } else if worst_ratio_bps > GRADE_A_MAX_BPS {
        Level::B
    } else {
        Level::A
    };
    Assessment {
        level,
        readings,
        worst_pollutant: top.map(|(i, _)| e.limits[i].0.clone()),
        worst_ratio_bps,
        percent_over,
        missing,
    }
}

/// Enters `subject` in the penalty register: `record_penalty(subject, amount, reason)`, encoded
/// here (a contract cannot link another contract's crate); returns the register's id.
fn enter_penalty(register: AccountId, subject: AccountId, amount: u64, reason: String) -> Result<u64> {
    let mut input = env::selector("record_penalty").to_vec();
    (&subject, &amount, &reason).encode_to(&mut input);
    CallBuilder::new(register)
        .input(input)
        .invoke_decode()
        .map_err(|e| Error::new(format!("the penalty register {register} did not record the fine: {e}")))
}

fn status(alert: Alert) -> AlertStatus {
    let pending = REGIONS
        .into_iter()
        .filter(|r| *r != alert.region && !alert.acknowledgements.iter().any(|a| a.region == *r))
        .collect();
    AlertStatus { alert, pending }
}

fn fund_add(amount: u64) -> u64 {
    let fund = FUND.get_or(0).saturating_add(amount);
    FUND.set(&fund);
    fund
}

#[jjj_sdk::contract(events = EcoEvent)]
impl EcoCompliance {
    /// The agreement of the three bureaus: joint-prevention `thresholds` per pollutant (µg/m³),
    /// the fine per started percent over a limit (fen, above zero), the rewards of grades A and
    /// B (fen, A at least B), and the penalty register (`tender`), or `None` to keep no register.
    #[constructor]
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        thresholds: Vec<(String, u64)>,
        fine_per_percent_over: u64,
        reward_a: u64,
        reward_b: u64,
        penalty_register: Option<AccountId>,
    ) -> Result<()> {
        check_pollutants("the joint-prevention thresholds", &thresholds, MAX_THRESHOLDS)?;
        ensure!(fine_per_percent_over > 0, "a D grade is fined: the fine per percent over a limit is above zero");
        ensure!(reward_a >= reward_b, "an A grade earns at least a B grade's reward: {} < {}", reward_a, reward_b);
        CONFIG.set(&Config { thresholds, fine_per_percent_over, reward_a, reward_b, penalty_register });
        Ok(())
    }

    /// A bureau (role `environment-agency`) registers `enterprise`, an account registered by a
    /// member of the bureau's own region, with its permit: in force from month `permit_from`
    /// (`YYYY-MM`, not after the current month: a permit issued earlier is registered with its
    /// own start, so the months it already covers are reported and graded), its `limits`
    /// (pollutant, µg/m³), and its monitoring `stations` (accounts the alliance registered, each
    /// serving no other enterprise).
    #[message]
    pub fn register_enterprise(
        enterprise: AccountId,
        name: String,
        permit_from: String,
        limits: Vec<(String, u64)>,
        stations: Vec<AccountId>,
    ) -> Result<()> {
        let (bureau, region) = bureau("registers enterprises")?;
        ensure!(
            env::member_region(&enterprise) == Some(region as u8),
            "enterprise {} is not registered by a member of {}: the {} bureau registers its own region's enterprises",
            enterprise,
            region.name(),
            region.name()
        );
        ensure!(!ENTERPRISES.contains(&enterprise), "enterprise {} is registered already", enterprise);
        ensure!(
            !name.trim().is_empty() && name.len() <= MAX_NAME_LEN,
            "an enterprise's name has 1 to {} bytes",
            MAX_NAME_LEN
        );
        let since = parse_period(&permit_from)?;
        ensure!(
            since <= month_of(env::block_time()),
            "a permit from {} is not in force yet: register it in its first month",
            permit_from
        );
        check_pollutants("permit limits", &limits, MAX_POLLUTANTS)?;
        ensure!(!stations.is_empty(), "an enterprise has at least one monitoring station");
        ensure!(!STATIONS.contains(&enterprise), "{} is a monitoring station, not an enterprise", enterprise);
        let mut e = Enterprise {
            account: enterprise,
            name: name.clone(),
            region,
            registered_by: bureau,
            since,
            limits,
            stations: Vec::new(),
            deposit: 0,
            fined: 0,
        };
        for s in stations {
            add_station(&mut e, s)?;
        }
        for s in &e.stations {
            STATIONS.set(s, &enterprise);
        }
        ENTERPRISES.set(&enterprise, &e);
        ENTERPRISE_LIST.push(&enterprise)?;
        env::emit(&EcoEvent::EnterpriseRegistered { enterprise, region, bureau, name });
        for station in &e.stations {
            env::emit(&EcoEvent::StationRegistered { station: *station, enterprise });
        }
        Ok(())
    }

    /// A bureau of the enterprise's region adds a monitoring station.
    #[message]
    pub fn register_station(enterprise: AccountId, station: AccountId) -> Result<()> {
        let (_, region) = bureau("registers stations")?;
        let mut e = self::enterprise(&enterprise)?;
        ensure!(
            e.region == region,
            "enterprise {} is in {}: only a {} bureau registers its stations",
            enterprise,
            e.region.name(),
            e.region.name()
        );
        ensure!(!ENTERPRISES.contains(&station), "{} is an enterprise, not a station", station);
        add_station(&mut e, station)?;
        STATIONS.set(&station, &enterprise);
        ENTERPRISES.set(&enterprise, &e);
        env::emit(&EcoEvent::StationRegistered { station, enterprise });
        Ok(())
    }

    /// The enterprise itself adds the attached fen to its deposit; returns the deposit.
    #[message(payable)]
    pub fn deposit(enterprise: AccountId) -> Result<u64> {
        let mut e = self::enterprise(&enterprise)?;
        ensure!(env::caller() == enterprise, "only enterprise {} posts its own deposit", enterprise);
        let amount = env::value();
        ensure!(amount > 0, "attach the fen to deposit");
        e.deposit = e.deposit.saturating_add(amount);
        ENTERPRISES.set(&enterprise, &e);
        env::emit(&EcoEvent::Deposited { enterprise, amount, deposit: e.deposit });
        Ok(e.deposit)
    }

    /// Anyone (a government…) adds the attached fen to the reward fund; returns the fund.
    #[message(payable)]
    pub fn fund_rewards() -> Result<u64> {
        let amount = env::value();
        ensure!(amount > 0, "attach the fen to add to the reward fund");
        let fund = fund_add(amount);
        env::emit(&EcoEvent::RewardsFunded { from: env::caller(), amount, fund });
        Ok(fund)
    }

    /// A registered station (the caller, whose signature the transaction carries) records its
    /// enterprise's `value` (µg/m³) of `pollutant` for `period` (YYYY-MM, begun, not before the
    /// permit, not graded yet) with the hash of the raw record; once per station, pollutant and
    /// period. Returns the id of the alert the reading raised, if it is over the joint threshold.
    #[message]
    pub fn submit_reading(pollutant: String, value: u64, period: String, record: Hash) -> Result<Option<u64>> {
        let station = env::caller();
        let Some(owner) = STATIONS.get(&station) else {
            fail!(
                "{} is not a registered monitoring station: a bureau registers stations with their enterprise",
                station
            )
        };
        let e = enterprise(&owner)?;
        let p = parse_period(&period)?;
        ensure!(p >= e.since, "period {} precedes the permit of {} (from {})", period, owner, period_text(e.since));
        let now = month_of(env::block_time());
        ensure!(p <= now, "period {} has not begun (it is {})", period, period_text(now));
        ensure!(!GRADES.contains(&(owner, p)), "period {} of {} is graded already: no more readings", period, owner);
        ensure!(
            e.limits.iter().any(|(q, _)| *q == pollutant),
            "{} is not a pollutant of the permit of {}",
            pollutant,
            owner
        );
        let seen = (station, pollutant.clone(), p);
        if let Some(i) = SEEN.get(&seen) {
            fail!("station {} has read {} for period {} already (reading #{})", station, pollutant, period, i);
        }
        let key = (owner, p);
        ensure!(
            READINGS.len(&key) < MAX_READINGS_PER_PERIOD,
            "{} has {} readings for period {}, the most allowed",
            owner,
            MAX_READINGS_PER_PERIOD,
            period
        );
        let reading = Reading {
            station,
            pollutant: pollutant.clone(),
            value,
            period: period.clone(),
            record,
            height: env::block_height(),
            time: env::block_time(),
        };
        let i = READINGS.push(&key, &reading)?;
        SEEN.set(&seen, &i);
        env::emit(&EcoEvent::Reading {
            enterprise: owner,
            station,
            period: p,
            pollutant: pollutant.clone(),
            value,
            record,
        });
        let threshold = config()?.thresholds.into_iter().find(|(q, _)| *q == pollutant).map(|(_, t)| t);
        let Some(threshold) = threshold.filter(|t| value > *t) else { return Ok(None) };
        let id = LAST_ALERT.get_or(0) + 1;
        LAST_ALERT.set(&id);
        let alert = Alert {
            id,
            region: e.region,
            enterprise: owner,
            station,
            pollutant: pollutant.clone(),
            value,
            threshold,
            period,
            raised_at: env::block_time(),
            acknowledgements: Vec::new(),
            closed_at: None,
        };
        ALERTS.set(&id, &alert);
        env::emit(&EcoEvent::AlertRaised {
            alert: id,
            region: e.region,
            enterprise: owner,
            pollutant,
            value,
            threshold,
        });
        Ok(Some(id))
    }

    /// Anyone grades `enterprise` for `period` once the period is over: from its recorded
    /// readings alone (see the crate's doc); final. A D grade is fined from the deposit into the
    /// reward fund and entered in the penalty register.
    #[message]
    pub fn grade(enterprise: AccountId, period: String) -> Result<Grade> {
        let mut e = self::enterprise(&enterprise)?;
        let p = parse_period(&period)?;
        ensure!(
            p >= e.since,
            "period {} precedes the permit of {} (from {})",
            period,
            enterprise,
            period_text(e.since)
        );
        let now = month_of(env::block_time());
        ensure!(p < now, "period {} is not over: it is graded from {} on", period, period_text(next_month(p)));
        ensure!(
            !GRADES.contains(&(enterprise, p)),
            "{} is graded for period {} already: a grade is final",
            enterprise,
            period
        );
        let cfg = config()?;
        let assessment = assess(&e, p);
        let level = assessment.level;
        let mut grade = Grade {
            enterprise,
            period: period.clone(),
            region: e.region,
            fine_due: 0,
            fine_taken: 0,
            penalty: None,
            graded_by: env::caller(),
            graded_at: env::block_time(),
            reward: None,
            assessment,
        };
        SUMMARIES.update(&(e.region, p), |s| match level {
            Level::A => s.a += 1,
            Level::B => s.b += 1,
            Level::C => s.c += 1,
            Level::D => s.d += 1,
        });
        if level == Level::D {
            grade.fine_due = cfg.fine_per_percent_over.saturating_mul(grade.assessment.percent_over);
            grade.fine_taken = grade.fine_due.min(e.deposit);
            e.deposit -= grade.fine_taken;
            e.fined = e.fined.saturating_add(grade.fine_taken);
            ENTERPRISES.set(&enterprise, &e);
            fund_add(grade.fine_taken);
            FINES.push(&(enterprise, p))?;
            if let Some(register) = cfg.penalty_register {
                let why = match &grade.assessment.worst_pollutant {
                    Some(w) if grade.assessment.missing.is_empty() => {
                        format!("{w} at {}% of its limit", grade.assessment.worst_ratio_bps.div_ceil(100))
                    }
                    _ => format!("no readings of {}", grade.assessment.missing.join(", ")),
                };
                let reason = format!("eco-compliance grade D for {period}: {why}");
                grade.penalty = Some(enter_penalty(register, enterprise, grade.fine_due, reason)?);
            }
        }
        GRADES.set(&(enterprise, p), &grade);
        env::emit(&EcoEvent::Graded {
            enterprise,
            period: p,
            region: e.region,
            level,
            worst_pollutant: grade.assessment.worst_pollutant.clone(),
            worst_ratio_bps: grade.assessment.worst_ratio_bps,
        });
        if level == Level::D {
            env::emit(&EcoEvent::Fined {
                enterprise,
                period: p,
                due: grade.fine_due,
                taken: grade.fine_taken,
                penalty: grade.penalty,
            });
        }
        Ok(grade)
    }

    /// The enterprise itself claims the reward of its A or B grade for `period`, once, paid
    /// from the reward fund if it covers the whole reward; returns the fen paid.
    #[message]
    pub fn claim_reward(period: String) -> Result<u64> {
        let caller = env::caller();
        ensure!(
            ENTERPRISES.contains(&caller),
            "{} is not a registered enterprise: only an enterprise claims its reward",
            caller
        );
        let p = parse_period(&period)?;
        let Some(mut grade) = GRADES.get(&(caller, p)) else {
            fail!("{} is not graded for period {} yet", caller, period)
        };
        let cfg = config()?;
        let level = grade.assessment.level;
        let amount = match level {
            Level::A => cfg.reward_a,
            Level::B => cfg.reward_b,
            Level::C => fail!("grade C for period {} earns no reward", period),
            Level::D => fail!("grade D for period {} earns no reward: it was fined", period),
        };
        if let Some(paid) = grade.reward {
            fail!("the reward for period {} was claimed already ({} fen)", period, paid);
        }
        ensure!(amount > 0, "this agreement pays no reward for grade {}", level.name());
        let fund = FUND.get_or(0);
        ensure!(
            fund >= amount,
            "the reward fund holds {} fen, the grade {} reward is {}: claim again once it is topped up",
            fund,
            level.name(),
            amount
        );
        FUND.set(&(fund - amount));
        grade.reward = Some(amount);
        GRADES.set(&(caller, p), &grade);
        env::transfer(&caller, amount)?;
        env::emit(&EcoEvent::Rewarded { enterprise: caller, period: p, level, amount });
        Ok(amount)
    }

    /// A bureau of a region other than the alert's acknowledges it, once per region; the second
    /// region's acknowledgement closes it.
    #[message]
    pub fn acknowledge(alert: u64) -> Result<AlertStatus> {
        let (bureau, region) = bureau("acknowledges alerts")?;
        let Some(mut a) = ALERTS.get(&alert) else { fail!("no alert #{}", alert) };
        ensure!(
            region != a.region,
            "alert #{} is {}'s own: the bureaus of the other two regions acknowledge it",
            alert,
            a.region.name()
        );
        if let Some(ack) = a.acknowledgements.iter().find(|x| x.region == region) {
            fail!("{} acknowledged alert #{} already (by {})", region.name(), alert, ack.bureau);
        }
        let time = env::block_time();
        a.acknowledgements.push(Acknowledgement { region, bureau, time });
        env::emit(&EcoEvent::AlertAcknowledged { alert, region, bureau });
        let mut s = status(a);
        if s.pending.is_empty() {
            s.alert.closed_at = Some(time);
            env::emit(&EcoEvent::AlertClosed { alert });
        }
        ALERTS.set(&alert, &s.alert);
        Ok(s)
    }

    #[message(query)]
    pub fn config() -> Result<Config> {
        config()
    }

    #[message(query)]
    pub fn enterprise(account: AccountId) -> Result<Option<Enterprise>> {
        Ok(ENTERPRISES.get(&account))
    }

    /// Registered enterprises from the `start`-th.
    #[message(query)]
    pub fn enterprises(start: u32, limit: u32) -> Result<Vec<Enterprise>> {
        Ok(ENTERPRISE_LIST.page(start, limit.min(MAX_PAGE)).iter().filter_map(|a| ENTERPRISES.get(a)).collect())
    }

    /// The enterprise a station serves.
    #[message(query)]
    pub fn station(account: AccountId) -> Result<Option<AccountId>> {
        Ok(STATIONS.get(&account))
    }

    /// The readings of `enterprise` for `period`, in the order recorded, from the `start`-th.
    #[message(query)]
    pub fn readings(enterprise: AccountId, period: String, start: u32, limit: u32) -> Result<Vec<Reading>> {
        let p = parse_period(&period)?;
        Ok(READINGS.page(&(enterprise, p), start, limit.min(MAX_PAGE)))
    }

    #[message(query)]
    pub fn grade_of(enterprise: AccountId, period: String) -> Result<Option<Grade>> {
        let p = parse_period(&period)?;
        Ok(GRADES.get(&(enterprise, p)))
    }

    /// What the recorded readings of `enterprise` for `period` grade it now: for a graded period,
    /// equal to the stored grade's assessment (the readings are closed once graded).
    #[message(query)]
    pub fn recompute_grade(enterprise: AccountId, period: String) -> Result<Assessment> {
        let e = self::enterprise(&enterprise)?;
        let p = parse_period(&period)?;
        Ok(assess(&e, p))
    }

    /// How many enterprises of `region` were graded A, B, C and D for `period`.
    #[message(query)]
    pub fn region_summary(region: Region, period: String) -> Result<RegionSummary> {
        let p = parse_period(&period)?;
        Ok(SUMMARIES.get(&(region, p)).unwrap_or_default())
    }

    /// The D grades (fines), in order, from the `start`-th.
    #[message(query)]
    pub fn fines(start: u32, limit: u32) -> Result<Vec<Grade>> {
        Ok(FINES.page(start, limit.min(MAX_PAGE)).iter().filter_map(|k| GRADES.get(k)).collect())
    }

    /// Fen in the reward fund.
    #[message(query)]
    pub fn reward_fund() -> Result<u64> {
        Ok(FUND.get_or(0))
    }

    #[message(query)]
    pub fn alert(id: u64) -> Result<Option<AlertStatus>> {
        Ok(ALERTS.get(&id).map(status))
    }

    /// Alerts by id from the `start`-th (id `start + 1`), with the regions still to acknowledge.
    #[message(query)]
    pub fn alerts(start: u32, limit: u32) -> Result<Vec<AlertStatus>> {
        let last = LAST_ALERT.get_or(0);
        let from = u64::from(start) + 1;
        let to = last.min(u64::from(start) + u64::from(limit.min(MAX_PAGE)));
        Ok((from..=to).filter_map(|id| ALERTS.get(&id)).map(status).collect())
    }
}
