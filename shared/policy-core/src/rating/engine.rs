//! The rating algorithm. See the module docs of [`crate::rating`] for the formula and rounding points.

use rust_decimal::{Decimal, RoundingStrategy};
use time::{Date, Duration};

use crate::domain::{CoverageKind, PolicyType, Term};
use crate::money::Money;
use crate::rating::error::RatingError;
use crate::rating::quote::{
    AppliedDiscount, AppliedFactor, Assumption, Basis, Charge, CoverageLine, DiscountSummary,
    FactorName, Installments, MinimumPremium, PremiumTax, RateQuote, Step,
};
use crate::rating::request::{Construction, Deductible, Driver, Property, RatingRequest, Vehicle};
use crate::rating::tables::Tier;
use crate::rating::tables::{
    Business, Common, DiscountKind, Factors, RateTable, RateTables, TableSet,
};

/// Most drivers one policy lists.
pub const MAX_DRIVERS: usize = 10;
/// How far ahead a policy may start.
pub const MAX_DAYS_AHEAD: i64 = 365;
/// Earliest age at which a licence can be held, for checking years licensed against age.
const LICENSING_AGE: u8 = 14;

/// Rates `request` as new business as of `today` (the first day of cover when the request names
/// none), with the tables in force on its first day of cover.
pub fn rate<'t>(
    tables: &'t RateTables,
    request: &RatingRequest,
    today: Date,
) -> Result<RateQuote<'t>, RatingError> {
    check_written(tables, request)?;
    let effective = effective_date(request, today)?;
    let set = versions_in_force(tables, request, Business::NewBusiness, effective)?;
    rate_with(set, request, effective)
}

/// The tables in force for `business` on `date` for the request's state and product.
pub fn in_force<'t>(
    tables: &'t RateTables,
    request: &RatingRequest,
    business: Business,
    date: Date,
) -> Result<TableSet<'t>, RatingError> {
    check_written(tables, request)?;
    versions_in_force(tables, request, business, date)
}

/// [`in_force`] for a request already known to be for a product written in its state.
fn versions_in_force<'t>(
    tables: &'t RateTables,
    request: &RatingRequest,
    business: Business,
    date: Date,
) -> Result<TableSet<'t>, RatingError> {
    let (state, policy_type) = (request.state, request.policy_type);
    tables
        .in_force(state, policy_type, business, date)
        .ok_or_else(|| RatingError::NotInForce {
            state,
            policy_type,
            business,
            date,
            first: tables.first_in_force(state, policy_type, business),
        })
}

/// Rates `request` with the tables `set`, its first day of cover being `effective` (the request's
/// own date is not looked at, nor is any window around today): how a stored quote or policy is
/// rated again with the tables it was rated with, and how a candidate table is tried on the book.
pub fn rate_with<'t>(
    set: TableSet<'t>,
    request: &RatingRequest,
    effective: Date,
) -> Result<RateQuote<'t>, RatingError> {
    let (table, common) = (set.table, set.common);
    let Written {
        factors,
        combined,
        tier,
        discounts,
        coverages,
        surcharges,
        minimum,
        adjustment,
        premium,
    } = written(set, request, effective)?;
    let tax = Money::round(premium.amount() * table.premium_tax_rate);
    let fees: Vec<Charge<'t>> = table
        .fees
        .iter()
        .map(|fee| Charge {
            name: &fee.name,
            amount: Money::round(fee.amount),
        })
        .collect();
    let total_premium = premium + tax + fees.iter().map(|f| f.amount).sum();
    let (first, each) = total_premium.split(request.term.months());

    Ok(RateQuote {
        state: request.state,
        policy_type: request.policy_type,
        term: request.term,
        effective_date: Some(effective),
        rate_table_version: &set.identity.version,
        rate_table_sha256: &set.identity.sha256,
        tier,
        combined_factor: combined,
        factors,
        discounts,
        coverages,
        surcharges,
        minimum_premium: MinimumPremium {
            minimum,
            adjustment,
        },
        premium,
        premium_tax: PremiumTax {
            rate: table.premium_tax_rate,
            amount: tax,
        },
        fees,
        total_premium,
        installments: Installments {
            count: request.term.months(),
            first,
            each,
        },
        assumptions: assumptions(table, common, request),
        explanation: None,
        adverse_action_reasons: Vec::new(),
        tables: set,
    })
}

/// A rating up to the written premium: coverage lines, surcharges and the minimum premium, before
/// premium tax and fees. [`rate_with`] goes on from it; the book's impact compares it.
#[derive(Debug)]
pub struct Written<'t> {
    /// Each factor that applied, in rating order.
    pub factors: Vec<AppliedFactor>,
    /// Their product, clamped and rounded to 4 decimal places.
    pub combined: Decimal,
    /// The tier of the combined factor.
    pub tier: Tier,
    /// Discounts earned, their total and the cap.
    pub discounts: DiscountSummary,
    /// One line per coverage bought.
    pub coverages: Vec<CoverageLine>,
    /// Flat surcharges.
    pub surcharges: Vec<Charge<'t>>,
    /// The minimum premium for the term.
    pub minimum: Money,
    /// What was added to reach it.
    pub adjustment: Money,
    /// Lines plus surcharges plus the adjustment.
    pub premium: Money,
}

/// Rates `request` with `set` up to the written premium, its first day of cover being `effective`
/// (see [`rate_with`]).
pub fn written<'t>(
    set: TableSet<'t>,
    request: &RatingRequest,
    effective: Date,
) -> Result<Written<'t>, RatingError> {
    let (table, common) = (set.table, set.common);
    if (table.state, table.policy_type) != (request.state, request.policy_type) {
        return Err(RatingError::UnsupportedProduct {
            state: request.state,
            policy_type: request.policy_type,
        });
    }
    check_applicability(request)?;
    check_coverages(table, request)?;

    let factors = factors(common, table, request, effective)?;
    let product = factors.iter().fold(Decimal::ONE, |acc, f| acc * f.applied);
    let combined = combined_factor(common, product);
    let discounts = discounts(common, table, request);
    let keep = Decimal::ONE - discounts.total;
    let months = Decimal::from(request.term.months());
    // An annual term is its annual premium: the same value, without a division.
    let annual = request.term == Term::Annual;
    let pro_rate = |premium: Decimal| {
        if annual {
            premium
        } else {
            premium * months / Decimal::from(Term::Annual.months())
        }
    };

    let mut coverages = Vec::with_capacity(CoverageKind::COUNT);
    for (kind, limit) in request.coverage.iter() {
        let Some(rate) = table.coverage(kind) else {
            continue;
        };
        let base_premium =
            Decimal::from(limit.get()) * rate.rate_per_thousand / Decimal::ONE_THOUSAND;
        let (deductible, deductible_factor) = deductible(common, request, kind);
        coverages.push(CoverageLine {
            coverage: kind,
            limit: limit.get(),
            base_premium: base_premium.normalize(),
            deductible,
            deductible_factor,
            premium: Money::round(pro_rate(base_premium * combined * deductible_factor * keep)),
        });
    }

    let surcharges = surcharges(table, request);
    let before_minimum: Money = coverages
        .iter()
        .map(|c| c.premium)
        .chain(surcharges.iter().map(|s| s.amount))
        .sum();
    let minimum = Money::round(pro_rate(table.minimum_premium));
    let adjustment = minimum.max(before_minimum) - before_minimum;
    Ok(Written {
        factors,
        combined,
        tier: common.tier(combined),
        discounts,
        coverages,
        surcharges,
        minimum,
        adjustment,
        premium: before_minimum + adjustment,
    })
}

/// The product of the applied factors clamped to the table's range and rounded half-up to 4
/// decimal places: the one combined factor every coverage line is multiplied by.
pub(super) fn combined_factor(common: &Common, product: Decimal) -> Decimal {
    let mut combined = product
        .clamp(common.factor_min, common.factor_max)
        .round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
    combined.rescale(4);
    combined
}

/// Whether the request's product is written in its state at all, by any version.
fn check_written(tables: &RateTables, request: &RatingRequest) -> Result<(), RatingError> {
    let (state, policy_type) = (request.state, request.policy_type);
    if tables.writes(state, policy_type) {
        Ok(())
    } else if tables.writes_in(state) {
        Err(RatingError::UnsupportedProduct { state, policy_type })
    } else {
        Err(RatingError::UnsupportedState { state })
    }
}

/// Auto requests describe drivers and a vehicle; home and renters describe a property.
fn check_applicability(request: &RatingRequest) -> Result<(), RatingError> {
    let product = request.policy_type;
    let not_for = |field: &'static str| {
        Err(RatingError::invalid(
            field,
            format!("{field} does not apply to {product} policies"),
        ))
    };
    if product.is_auto() {
        if request.property.is_some() {
            return not_for("property");
        }
        if request.deductibles.all_perils.is_some() {
            return not_for("deductibles.all_perils");
        }
    } else {
        if !request.drivers.is_empty() {
            return not_for("drivers");
        }
        if request.vehicle.is_some() {
            return not_for("vehicle");
        }
        if request.deductibles.collision.is_some() {
            return not_for("deductibles.collision");
        }
        if request.deductibles.comprehensive.is_some() {
            return not_for("deductibles.comprehensive");
        }
    }
    if request.drivers.len() > MAX_DRIVERS {
        return Err(RatingError::invalid(
            "drivers",
            format!("at most {MAX_DRIVERS} drivers per policy"),
        ));
    }
    for (i, driver) in request.drivers.iter().enumerate() {
        let most = driver.age.get().saturating_sub(LICENSING_AGE);
        if driver.years_licensed.get() > most {
            return Err(RatingError::invalid(
                format!("drivers[{i}].years_licensed"),
                format!(
                    "a driver aged {} cannot have been licensed for more than {most} years",
                    driver.age
                ),
            ));
        }
    }
    Ok(())
}

fn check_coverages(table: &RateTable, request: &RatingRequest) -> Result<(), RatingError> {
    let (state, policy_type) = (request.state, request.policy_type);
    for (coverage, limit) in request.coverage.iter() {
        let Some(rate) = table.coverage(coverage) else {
            return Err(RatingError::UnsupportedCoverage {
                state,
                policy_type,
                coverage,
            });
        };
        let limit = limit.get();
        if limit < rate.min_limit {
            let statutory = table.minimum_limits.clone().filter(|_| rate.required);
            return Err(RatingError::LimitBelowMinimum {
                state,
                coverage,
                limit,
                minimum: rate.min_limit,
                statutory,
            });
        }
        if limit > rate.max_limit {
            return Err(RatingError::LimitAboveMaximum {
                coverage,
                limit,
                maximum: rate.max_limit,
            });
        }
    }
    if let Some(coverage) = table
        .required_coverages()
        .find(|&c| request.coverage.get(c).is_none())
    {
        return Err(RatingError::MissingRequiredCoverage { state, coverage });
    }
    let deductibles = [
        (
            "deductibles.collision",
            request.deductibles.collision,
            CoverageKind::Collision,
        ),
        (
            "deductibles.comprehensive",
            request.deductibles.comprehensive,
            CoverageKind::Comprehensive,
        ),
    ];
    for (field, deductible, coverage) in deductibles {
        if deductible.is_some() && request.coverage.get(coverage).is_none() {
            return Err(RatingError::invalid(
                field,
                format!("no {coverage} coverage is requested"),
            ));
        }
    }
    if let Some(zip) = request.zip_code
        && !table.serves_zip_prefix(zip.prefix())
    {
        return Err(RatingError::invalid(
            "zip_code",
            format!("the ZIP code is not in {state}"),
        ));
    }
    Ok(())
}

fn effective_date(request: &RatingRequest, today: Date) -> Result<Date, RatingError> {
    let Some(date) = request.effective_date else {
        return Ok(today);
    };
    let latest = today + Duration::days(MAX_DAYS_AHEAD);
    if date < today || date > latest {
        return Err(RatingError::invalid(
            "effective_date",
            format!(
                "must be between {today} and {latest} (today and up to {MAX_DAYS_AHEAD} days ahead)"
            ),
        ));
    }
    Ok(date)
}

/// Whole years from `year` to the year of `effective`; `field` is blamed if `year` is later.
fn age_in_years(
    year: u16,
    effective: Date,
    field: &'static str,
    grace: i32,
) -> Result<u32, RatingError> {
    let years = effective.year() - i32::from(year);
    if years < -grace {
        return Err(RatingError::invalid(
            field,
            format!("{year} is after the policy starts"),
        ));
    }
    Ok(u32::try_from(years.max(0)).unwrap_or(0))
}

/// Factors in rating order, each weighted as the state requires.
struct FactorList {
    /// The weight of secondary factors; `None` at full weight (written `1`), where a factor
    /// applies as filed: the same value and scale as 1 + (filed - 1) x 1, without the arithmetic.
    weight: Option<Decimal>,
    applied: Vec<AppliedFactor>,
}

impl FactorList {
    fn push(&mut self, name: FactorName, basis: Basis, filed: Decimal) {
        let applied = match self.weight {
            Some(weight) if !name.is_primary() => Decimal::ONE + (filed - Decimal::ONE) * weight,
            _ => filed,
        };
        self.applied.push(AppliedFactor {
            name,
            basis,
            filed,
            applied,
        });
    }
}

fn factors(
    common: &Common,
    table: &RateTable,
    request: &RatingRequest,
    effective: Date,
) -> Result<Vec<AppliedFactor>, RatingError> {
    let f = &common.factors;
    let weight = table.secondary_factor_weight;
    let mut list = FactorList {
        weight: (weight != Decimal::ONE || weight.scale() != 0).then_some(weight),
        applied: Vec::with_capacity(16),
    };
    driver_factors(f, &request.drivers, &mut list);
    if let Some(claims) = request.claims {
        let claims = claims.get();
        list.push(
            FactorName::Claims,
            Basis::Number(claims.into()),
            f.claims.lookup(claims),
        );
    }
    if let Some(vehicle) = &request.vehicle {
        vehicle_factors(f, vehicle, effective, &mut list)?;
    }
    if let Some(property) = &request.property {
        property_factors(f, property, request.policy_type, effective, &mut list)?;
    }
    if let Some(zip) = request.zip_code {
        let prefix = zip.prefix();
        list.push(
            FactorName::Territory,
            Basis::Number(prefix.into()),
            table.territory(prefix),
        );
    }
    if let Some(score) = request.credit_score {
        if table.credit_allowed {
            let score = u32::from(score.get());
            list.push(
                FactorName::CreditScore,
                Basis::Number(score),
                f.credit_score.lookup(score),
            );
        } else {
            list.push(
                FactorName::CreditScore,
                Basis::Text("not permitted in this state"),
                Decimal::ONE,
            );
        }
    }
    Ok(list.applied)
}

/// Youngest age and least experience among the drivers; incidents summed over all of them.
fn driver_factors(f: &Factors, drivers: &[Driver], list: &mut FactorList) {
    if let Some(youngest) = drivers.iter().map(|d| d.age.get()).min() {
        list.push(
            FactorName::DriverAge,
            Basis::Number(youngest.into()),
            f.driver_age.lookup(youngest.into()),
        );
    }
    if let Some(least) = drivers.iter().map(|d| d.years_licensed.get()).min() {
        list.push(
            FactorName::YearsLicensed,
            Basis::Number(least.into()),
            f.years_licensed.lookup(least.into()),
        );
    }
    if drivers.is_empty() {
        return;
    }
    let total = |count: fn(&Driver) -> u8| drivers.iter().map(count).fold(0, u8::saturating_add);
    let violations = total(|d| d.violations.get());
    list.push(
        FactorName::Violations,
        Basis::Number(violations.into()),
        f.violations.lookup(violations),
    );
    let accidents = total(|d| d.at_fault_accidents.get());
    list.push(
        FactorName::AtFaultAccidents,
        Basis::Number(accidents.into()),
        f.at_fault_accidents.lookup(accidents),
    );
    let dui = total(|d| d.dui.get());
    list.push(
        FactorName::Dui,
        Basis::Number(dui.into()),
        f.dui.lookup(dui),
    );
}

fn vehicle_factors(
    f: &Factors,
    vehicle: &Vehicle,
    effective: Date,
    list: &mut FactorList,
) -> Result<(), RatingError> {
    // A model year may run one year ahead of the calendar.
    let age = age_in_years(vehicle.year.get(), effective, "vehicle.year", 1)?;
    list.push(
        FactorName::VehicleAge,
        Basis::Number(age),
        f.vehicle_age.lookup(age),
    );
    if let Some(miles) = vehicle.annual_mileage {
        list.push(
            FactorName::AnnualMileage,
            Basis::Number(miles.get()),
            f.annual_mileage.lookup(miles.get()),
        );
    }
    let mut features = vehicle.safety_features.clone();
    features.sort_unstable();
    features.dedup();
    if !features.is_empty() {
        let credit = features
            .iter()
            .fold(Decimal::ONE, |acc, _| acc * f.safety_feature_credit);
        let n = u32::try_from(features.len()).unwrap_or(u32::MAX);
        list.push(
            FactorName::SafetyFeatures,
            Basis::Number(n),
            credit.max(f.safety_credit_floor),
        );
    }
    if vehicle.anti_theft {
        list.push(FactorName::AntiTheft, Basis::Text("fitted"), f.anti_theft);
    }
    Ok(())
}

fn property_factors(
    f: &Factors,
    property: &Property,
    product: PolicyType,
    effective: Date,
    list: &mut FactorList,
) -> Result<(), RatingError> {
    // A renter does not insure the building, so its value does not rate.
    if let Some(value) = property
        .dwelling_value
        .filter(|_| product == PolicyType::Home)
    {
        list.push(
            FactorName::DwellingValue,
            Basis::Number(value.get()),
            f.dwelling_value.lookup(value.get()),
        );
    }
    if let Some(construction) = property.construction {
        list.push(
            FactorName::Construction,
            Basis::Text(construction_name(construction)),
            f.construction(construction),
        );
    }
    if let Some(year) = property.year_built {
        let age = age_in_years(year.get(), effective, "property.year_built", 0)?;
        list.push(
            FactorName::HomeAge,
            Basis::Number(age),
            f.home_age.lookup(age),
        );
    }
    if let Some(class) = property.protection_class {
        let class = u32::from(class.get());
        list.push(
            FactorName::ProtectionClass,
            Basis::Number(class),
            f.protection_class.lookup(class),
        );
    }
    Ok(())
}

fn construction_name(construction: Construction) -> &'static str {
    match construction {
        Construction::Frame => "frame",
        Construction::MasonryVeneer => "masonry_veneer",
        Construction::Masonry => "masonry",
        Construction::FireResistive => "fire_resistive",
    }
}

fn deductible(
    common: &Common,
    request: &RatingRequest,
    kind: CoverageKind,
) -> (Option<u32>, Decimal) {
    let (curve, given) = match kind {
        CoverageKind::Collision => (&common.vehicle_deductible, request.deductibles.collision),
        CoverageKind::Comprehensive => (
            &common.vehicle_deductible,
            request.deductibles.comprehensive,
        ),
        CoverageKind::Dwelling
        | CoverageKind::OtherStructures
        | CoverageKind::PersonalProperty
        | CoverageKind::LossOfUse => (&common.property_deductible, request.deductibles.all_perils),
        CoverageKind::Liability
        | CoverageKind::UninsuredMotorist
        | CoverageKind::MedicalPayments
        | CoverageKind::Pip => return (None, Decimal::ONE),
    };
    let amount = given.map_or(curve.default, Deductible::get);
    (Some(amount), curve.bands.lookup(amount))
}

/// The discounts earned, each at the state table's rate where it sets one, else the common
/// matrix's for the product.
fn discounts(common: &Common, table: &RateTable, request: &RatingRequest) -> DiscountSummary {
    let matrix = &common.discounts;
    let product = request.policy_type;
    let rate_of = |kind| table.discount(kind).or_else(|| matrix.rate(kind, product));
    let claims = request.discounts;
    let drivers = &request.drivers;
    let clean =
        |d: &Driver| d.violations.get() == 0 && d.at_fault_accidents.get() == 0 && d.dui.get() == 0;
    let eligible = [
        (DiscountKind::MultiPolicy, claims.multi_policy),
        (
            DiscountKind::SafeDriver,
            !drivers.is_empty() && drivers.iter().all(clean),
        ),
        (
            DiscountKind::GoodStudent,
            drivers.iter().any(|d| d.good_student && d.age.get() < 25),
        ),
        (DiscountKind::Military, claims.military),
        (DiscountKind::Paperless, claims.paperless),
        (DiscountKind::PaidInFull, claims.paid_in_full),
        // No claims in the five years the request counts.
        (
            DiscountKind::ClaimsFree,
            request.claims.is_some_and(|c| c.get() == 0),
        ),
    ];
    let mut applied: Vec<AppliedDiscount> = eligible
        .into_iter()
        .filter(|&(_, earned)| earned)
        .filter_map(|(name, _)| rate_of(name).map(|rate| AppliedDiscount { name, rate }))
        .collect();
    let years = claims.loyalty_years.get();
    if years >= matrix.loyalty_from_year
        && let Some(per_year) = rate_of(DiscountKind::Loyalty)
    {
        let counted = Decimal::from(years - matrix.loyalty_from_year + 1);
        let rate = (per_year * counted).min(matrix.loyalty_max);
        applied.push(AppliedDiscount {
            name: DiscountKind::Loyalty,
            rate,
        });
    }
    let earned: Decimal = applied.iter().map(|d| d.rate).sum();
    DiscountSummary {
        applied,
        earned,
        cap: matrix.cap,
        total: earned.min(matrix.cap),
    }
}

/// Each step [`factors`] and [`discounts`] skip because the request does not give what they rate
/// on, in rating order. Steps that do not apply to the product, or that state law forbids (credit
/// where it is not allowed), are not assumptions.
fn assumptions(table: &RateTable, common: &Common, request: &RatingRequest) -> Vec<Assumption> {
    const DRIVER_FACTORS: [FactorName; 5] = [
        FactorName::DriverAge,
        FactorName::YearsLicensed,
        FactorName::Violations,
        FactorName::AtFaultAccidents,
        FactorName::Dui,
    ];
    const VEHICLE_FACTORS: [FactorName; 4] = [
        FactorName::VehicleAge,
        FactorName::AnnualMileage,
        FactorName::SafetyFeatures,
        FactorName::AntiTheft,
    ];
    let product = request.policy_type;
    let mut out = Vec::new();
    let mut skip = |step: Step, missing: &'static str| {
        if out.capacity() == 0 {
            // One allocation for a request that leaves most things out.
            out.reserve(16);
        }
        out.push(Assumption { step, missing });
    };
    if product.is_auto() && request.drivers.is_empty() {
        for factor in DRIVER_FACTORS {
            skip(Step::Factor(factor), "drivers");
        }
    }
    if request.claims.is_none() {
        skip(Step::Factor(FactorName::Claims), "claims");
    }
    if product.is_auto() {
        match &request.vehicle {
            None => {
                for factor in VEHICLE_FACTORS {
                    skip(Step::Factor(factor), "vehicle");
                }
            }
            Some(vehicle) if vehicle.annual_mileage.is_none() => {
                skip(
                    Step::Factor(FactorName::AnnualMileage),
                    "vehicle.annual_mileage",
                );
            }
            Some(_) => {}
        }
    } else {
        let home = product == PolicyType::Home;
        match &request.property {
            None => {
                if home {
                    skip(Step::Factor(FactorName::DwellingValue), "property");
                }
                skip(Step::Factor(FactorName::Construction), "property");
                skip(Step::Factor(FactorName::HomeAge), "property");
                skip(Step::Factor(FactorName::ProtectionClass), "property");
            }
            Some(property) => {
                if home && property.dwelling_value.is_none() {
                    skip(
                        Step::Factor(FactorName::DwellingValue),
                        "property.dwelling_value",
                    );
                }
                if property.construction.is_none() {
                    skip(
                        Step::Factor(FactorName::Construction),
                        "property.construction",
                    );
                }
                if property.year_built.is_none() {
                    skip(Step::Factor(FactorName::HomeAge), "property.year_built");
                }
                if property.protection_class.is_none() {
                    skip(
                        Step::Factor(FactorName::ProtectionClass),
                        "property.protection_class",
                    );
                }
            }
        }
    }
    if request.zip_code.is_none() {
        skip(Step::Factor(FactorName::Territory), "zip_code");
    }
    if request.credit_score.is_none() && table.credit_allowed {
        skip(Step::Factor(FactorName::CreditScore), "credit_score");
    }
    let offered =
        |kind| table.discount(kind).is_some() || common.discounts.rate(kind, product).is_some();
    if request.drivers.is_empty() {
        // Both are earned by what the drivers' records say.
        for discount in [DiscountKind::SafeDriver, DiscountKind::GoodStudent] {
            if offered(discount) {
                skip(Step::Discount(discount), "drivers");
            }
        }
    }
    if request.claims.is_none() && offered(DiscountKind::ClaimsFree) {
        skip(Step::Discount(DiscountKind::ClaimsFree), "claims");
    }
    out
}

fn surcharges<'t>(table: &'t RateTable, request: &RatingRequest) -> Vec<Charge<'t>> {
    let mut out = Vec::new();
    if let Some(amount) = table
        .sr22_filing
        .filter(|_| request.drivers.iter().any(|d| d.dui.get() > 0))
    {
        out.push(Charge {
            name: "sr22_filing",
            amount: Money::round(amount),
        });
    }
    if let Some(amount) = table
        .coverage_lapse
        .filter(|_| request.prior_coverage_lapse)
    {
        out.push(Charge {
            name: "coverage_lapse",
            amount: Money::round(amount),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use time::macros::date;

    use super::*;
    use crate::domain::State;
    use crate::rating::request::{Age, Count, CreditScore, Driver, Limit, Years, ZipCode};

    const TODAY: Date = date!(2026 - 11 - 28);

    fn tables() -> &'static RateTables {
        RateTables::builtin().unwrap()
    }

    #[test]
    fn a_date_before_any_version_is_in_force_is_refused_naming_the_date() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rates/");
        let read = |file: &str| std::fs::read_to_string(format!("{dir}{file}")).unwrap();
        let common = read("common/2026.11.0.toml");
        // CA auto as if it were first filed to take effect on 2027-06-01.
        let later = read("ca/auto/2026.11.0.toml").replace(
            "effective = { new_business = \"2024-01-01\", renewal = \"2024-01-01\" }",
            "effective = { new_business = \"2027-06-01\", renewal = \"2027-07-01\" }",
        );
        let tables = RateTables::parse(
            &[("common/2026.11.0.toml", &common)],
            &[("ca/auto/2026.11.0.toml", &later)],
        )
        .unwrap();
        let mut request = RatingRequest::minimal(State::CA, PolicyType::Auto);
        request.coverage.liability = limit(100_000);
        request.effective_date = Some(date!(2027 - 05 - 31));
        let err = rate(&tables, &request, TODAY).unwrap_err();
        assert_eq!(err.field(), "effective_date");
        assert_eq!(
            err.to_string(),
            "no CA auto rates are in force for new business on 2027-05-31; the first take effect on 2027-06-01"
        );
        request.effective_date = Some(date!(2027 - 06 - 01));
        assert!(rate(&tables, &request, TODAY).is_ok());
    }

    #[allow(clippy::unnecessary_wraps, reason = "fills an optional request field")]
    fn limit(dollars: i64) -> Option<Limit> {
        Some(Limit::try_from(dollars).unwrap())
    }

    fn driver(age: i64, years_licensed: i64) -> Driver {
        Driver {
            age: Age::try_from(age).unwrap(),
            years_licensed: Years::try_from(years_licensed).unwrap(),
            violations: Count::zero(),
            at_fault_accidents: Count::zero(),
            dui: Count::zero(),
            good_student: false,
            license_suspended: false,
        }
    }

    fn ca_auto(liability: i64) -> RatingRequest {
        let mut request = RatingRequest::minimal(State::CA, PolicyType::Auto);
        request.coverage.liability = limit(liability);
        request
    }

    #[test]
    fn the_briefs_quote_shape_rates_to_a_hand_checked_total() {
        // Given CA auto with 500k liability and 50k collision and nothing else known
        let mut request = ca_auto(500_000);
        request.coverage.collision = limit(50_000);

        // When it is rated
        let quote = rate(tables(), &request, TODAY).unwrap();

        // Then: 500 x 1.80 = 900.00 and 50 x 12.00 = 600.00 at factor 1; tax 2.35% of 1500.00 is
        // 35.25; the policy fee is 25.00.
        assert_eq!(quote.combined_factor, dec!(1));
        assert_eq!(quote.tier, Tier::Standard);
        let lines: Vec<_> = quote
            .coverages
            .iter()
            .map(|c| c.premium.to_string())
            .collect();
        assert_eq!(lines, ["900.00", "600.00"]);
        assert_eq!(quote.coverages[1].deductible, Some(500));
        assert_eq!(quote.premium.to_string(), "1500.00");
        assert_eq!(quote.premium_tax.amount.to_string(), "35.25");
        assert_eq!(quote.total_premium.to_string(), "1560.25");
        assert_eq!(quote.installments.count, 12);
        assert_eq!(quote.installments.each.to_string(), "130.02");
        assert_eq!(quote.installments.first.to_string(), "130.03");
        assert_eq!(
            quote.rate_table_version,
            "CA-auto-2026.11.0/common-2026.11.0"
        );
    }

    #[test]
    fn california_weights_secondary_factors_and_ignores_credit() {
        // Given a 22-year-old licensed 4 years with one violation, a credit score and paperless
        let mut request = ca_auto(100_000);
        let mut young = driver(22, 4);
        young.violations = Count::try_from(1).unwrap();
        request.drivers.push(young);
        request.credit_score = Some(CreditScore::try_from(820).unwrap());
        request.discounts.paperless = true;

        let quote = rate(tables(), &request, TODAY).unwrap();

        // Then age (secondary) 1.25 counts half: 1.125; years licensed 1.10 and violations 1.10 are
        // primary; DUI and accidents 1.00; credit is not used. 1.125 x 1.1 x 1.1 = 1.36125 -> 1.3613.
        let age = quote
            .factors
            .iter()
            .find(|f| f.name == FactorName::DriverAge)
            .unwrap();
        assert_eq!((age.filed, age.applied), (dec!(1.25), dec!(1.125)));
        let credit = quote
            .factors
            .iter()
            .find(|f| f.name == FactorName::CreditScore)
            .unwrap();
        assert_eq!(credit.applied, Decimal::ONE);
        assert_eq!(quote.combined_factor, dec!(1.3613));
        assert_eq!(quote.tier, Tier::HighRisk);
        // 180 x 1.3613 x 0.97 = 237.68298 -> 237.68, below the 500.00 minimum.
        assert_eq!(quote.coverages[0].premium.to_string(), "237.68");
        assert_eq!(quote.minimum_premium.adjustment.to_string(), "262.32");
        assert_eq!(quote.premium.to_string(), "500.00");
        assert_eq!(quote.total_premium.to_string(), "536.75");
    }

    #[test]
    fn credit_is_used_where_the_state_allows_it() {
        let mut request = RatingRequest::minimal(State::TX, PolicyType::Auto);
        request.coverage.liability = limit(100_000);
        request.credit_score = Some(CreditScore::try_from(780).unwrap());
        let quote = rate(tables(), &request, TODAY).unwrap();
        let credit = quote
            .factors
            .iter()
            .find(|f| f.name == FactorName::CreditScore)
            .unwrap();
        assert_eq!(credit.applied, dec!(0.85));
    }

    #[test]
    fn shorter_terms_pro_rate_each_line_and_the_minimum() {
        let mut request = ca_auto(500_000);
        request.term = Term::SemiAnnual;
        let quote = rate(tables(), &request, TODAY).unwrap();
        assert_eq!(quote.coverages[0].premium.to_string(), "450.00");
        assert_eq!(quote.minimum_premium.minimum.to_string(), "250.00");
        assert_eq!(quote.installments.count, 6);
    }

    #[test]
    fn discounts_add_up_to_the_cap_and_no_further() {
        let mut request = ca_auto(500_000);
        let mut student = driver(19, 2);
        student.good_student = true;
        request.drivers.push(student);
        request.discounts.multi_policy = true;
        request.discounts.military = true;
        request.discounts.paperless = true;
        request.discounts.paid_in_full = true;
        request.discounts.loyalty_years = Years::try_from(20).unwrap();
        let quote = rate(tables(), &request, TODAY).unwrap();
        // 0.10 + 0.15 + 0.08 + 0.05 + 0.03 + 0.05 + loyalty capped at 0.20 = 0.66
        assert_eq!(quote.discounts.earned, dec!(0.66));
        assert_eq!(quote.discounts.total, dec!(0.40));
    }

    #[test]
    fn a_dui_adds_the_sr22_surcharge_and_a_lapse_its_own() {
        let mut request = ca_auto(500_000);
        let mut dui = driver(40, 20);
        dui.dui = Count::try_from(1).unwrap();
        request.drivers.push(dui);
        request.prior_coverage_lapse = true;
        let quote = rate(tables(), &request, TODAY).unwrap();
        let names: Vec<_> = quote
            .surcharges
            .iter()
            .map(|s| (s.name, s.amount.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("sr22_filing", "150.00".to_owned()),
                ("coverage_lapse", "100.00".to_owned())
            ]
        );
    }

    #[test]
    fn a_limit_below_the_statutory_minimum_names_the_field_and_the_law() {
        let err = rate(tables(), &ca_auto(50_000), TODAY).unwrap_err();
        assert_eq!(err.field(), "coverage.liability");
        assert!(
            err.to_string()
                .contains("minimum of 75000 (statutory limits 30/60/15)"),
            "{err}"
        );
    }

    #[test]
    fn required_coverages_unsupported_states_and_products_are_refused() {
        let mut ny = RatingRequest::minimal(State::NY, PolicyType::Auto);
        ny.coverage.liability = limit(100_000);
        ny.coverage.uninsured_motorist = limit(50_000);
        let err = rate(tables(), &ny, TODAY).unwrap_err();
        assert_eq!(
            err,
            RatingError::MissingRequiredCoverage {
                state: State::NY,
                coverage: CoverageKind::Pip
            }
        );

        let wy = RatingRequest::minimal(State::WY, PolicyType::Auto);
        assert_eq!(rate(tables(), &wy, TODAY).unwrap_err().field(), "state");

        let mut home_collision = RatingRequest::minimal(State::CA, PolicyType::Home);
        home_collision.coverage.collision = limit(10_000);
        assert_eq!(
            rate(tables(), &home_collision, TODAY).unwrap_err().field(),
            "coverage.collision"
        );
    }

    #[test]
    fn inputs_that_do_not_fit_the_product_or_each_other_name_their_field() {
        let mut home = RatingRequest::minimal(State::CA, PolicyType::Home);
        home.coverage.dwelling = limit(400_000);
        home.coverage.liability = limit(300_000);
        home.drivers.push(driver(40, 20));
        assert_eq!(rate(tables(), &home, TODAY).unwrap_err().field(), "drivers");

        let mut request = ca_auto(100_000);
        request.drivers.push(driver(40, 20));
        request.drivers.push(driver(20, 10));
        assert_eq!(
            rate(tables(), &request, TODAY).unwrap_err().field(),
            "drivers[1].years_licensed"
        );

        let mut request = ca_auto(100_000);
        request.zip_code = Some(ZipCode::try_from("75001".to_owned()).unwrap());
        assert_eq!(
            rate(tables(), &request, TODAY).unwrap_err().field(),
            "zip_code"
        );

        let mut request = ca_auto(100_000);
        request.effective_date = Some(date!(2026 - 11 - 27));
        assert_eq!(
            rate(tables(), &request, TODAY).unwrap_err().field(),
            "effective_date"
        );

        let mut request = ca_auto(100_000);
        request.deductibles.collision = Some(Deductible::try_from(1000).unwrap());
        assert_eq!(
            rate(tables(), &request, TODAY).unwrap_err().field(),
            "deductibles.collision"
        );
    }

    fn assumed(quote: &RateQuote<'_>) -> Vec<(String, &'static str)> {
        quote
            .assumptions
            .iter()
            .map(|a| {
                let step = serde_json::to_value(a.step).unwrap();
                (step.as_str().unwrap().to_owned(), a.missing)
            })
            .collect()
    }

    #[test]
    fn the_briefs_request_lists_every_step_it_left_to_assumption() {
        // Given CA auto with a limit and nothing else
        let quote = rate(tables(), &ca_auto(500_000), TODAY).unwrap();

        // Then every driver, vehicle and territory step is an assumption, and so are the
        // discounts that only drivers can earn; credit is not, California does not use it
        let expected = [
            ("driver_age", "drivers"),
            ("years_licensed", "drivers"),
            ("violations", "drivers"),
            ("at_fault_accidents", "drivers"),
            ("dui", "drivers"),
            ("claims", "claims"),
            ("vehicle_age", "vehicle"),
            ("annual_mileage", "vehicle"),
            ("safety_features", "vehicle"),
            ("anti_theft", "vehicle"),
            ("territory", "zip_code"),
            ("safe_driver", "drivers"),
            ("good_student", "drivers"),
        ];
        let expected: Vec<_> = expected.iter().map(|&(s, m)| (s.to_owned(), m)).collect();
        assert_eq!(assumed(&quote), expected);
        assert_eq!(
            serde_json::to_value(&quote).unwrap()["assumptions"][0],
            serde_json::json!({"step": "driver_age", "missing": "drivers"})
        );
    }

    #[test]
    fn a_partly_described_home_names_the_fields_it_still_needs() {
        // Given TX home (credit allowed) with a property that gives only its construction, and a
        // vehicle-less, driver-less request as home always is
        let mut request = RatingRequest::minimal(State::TX, PolicyType::Home);
        request.coverage.dwelling = limit(300_000);
        request.coverage.liability = limit(300_000);
        request.claims = Some(Count::zero());
        request.property = Some(Property {
            dwelling_value: None,
            construction: Some(Construction::Masonry),
            year_built: None,
            protection_class: None,
        });
        let quote = rate(tables(), &request, TODAY).unwrap();

        let expected = [
            ("dwelling_value", "property.dwelling_value"),
            ("home_age", "property.year_built"),
            ("protection_class", "property.protection_class"),
            ("territory", "zip_code"),
            ("credit_score", "credit_score"),
        ];
        let expected: Vec<_> = expected.iter().map(|&(s, m)| (s.to_owned(), m)).collect();
        assert_eq!(assumed(&quote), expected);
    }

    #[test]
    fn a_fully_described_request_assumes_nothing_and_says_nothing_about_it() {
        let mut request = ca_auto(500_000);
        request.drivers.push(driver(40, 20));
        request.claims = Some(Count::zero());
        request.vehicle = Some(Vehicle {
            year: crate::rating::request::Year::try_from(2020).unwrap(),
            annual_mileage: Some(crate::rating::request::Mileage::try_from(9000).unwrap()),
            safety_features: Vec::new(),
            anti_theft: false,
            value: None,
        });
        request.zip_code = Some(ZipCode::try_from("94105".to_owned()).unwrap());
        let quote = rate(tables(), &request, TODAY).unwrap();
        assert!(quote.assumptions.is_empty(), "{:?}", quote.assumptions);
        assert!(
            serde_json::to_value(&quote)
                .unwrap()
                .get("assumptions")
                .is_none()
        );

        // A vehicle without its mileage leaves only the mileage to assumption.
        request.vehicle.as_mut().unwrap().annual_mileage = None;
        let quote = rate(tables(), &request, TODAY).unwrap();
        assert_eq!(
            assumed(&quote),
            [("annual_mileage".to_owned(), "vehicle.annual_mileage")]
        );
    }

    #[test]
    fn territory_comes_from_the_zip_prefix() {
        let mut request = ca_auto(100_000);
        request.zip_code = Some(ZipCode::try_from("90012".to_owned()).unwrap());
        let quote = rate(tables(), &request, TODAY).unwrap();
        let territory = quote
            .factors
            .iter()
            .find(|f| f.name == FactorName::Territory)
            .unwrap();
        // Los Angeles files 1.45; as a secondary factor in California it counts half.
        assert_eq!(
            (territory.filed, territory.applied),
            (dec!(1.45), dec!(1.225))
        );
    }
}
