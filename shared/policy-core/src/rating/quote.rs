//! The result of rating: a premium with every step that produced it.

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use time::Date;

use crate::domain::{CoverageKind, PolicyType, State, Term};
use crate::money::Money;
use crate::rating::explain::{Explanation, Player};
use crate::rating::tables::{DiscountKind, TableSet, Tier};

/// A rated premium and its breakdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateQuote<'t> {
    /// Where the risk is.
    pub state: State,
    /// The product.
    pub policy_type: PolicyType,
    /// The term the premium covers.
    pub term: Term,
    /// First day of cover.
    #[serde(with = "crate::rating::request::iso_date")]
    pub effective_date: Option<Date>,
    /// The exact tables used, e.g. `CA-auto-2026.11.0/common-2026.11.0`.
    pub rate_table_version: &'t str,
    /// SHA-256 of those tables' files: see [`crate::rating::tables::content_sha256`].
    pub rate_table_sha256: &'t str,
    /// Rating tier from the combined factor.
    pub tier: Tier,
    /// Product of every factor, clamped and rounded to 4 decimal places.
    #[serde(with = "rust_decimal::serde::str")]
    pub combined_factor: Decimal,
    /// Each factor that applied, in rating order.
    pub factors: Vec<AppliedFactor>,
    /// Discounts earned, their total and the cap.
    pub discounts: DiscountSummary,
    /// One line per coverage bought.
    pub coverages: Vec<CoverageLine>,
    /// Flat surcharges for the term.
    pub surcharges: Vec<Charge<'t>>,
    /// The state's minimum premium for the term and what was added to reach it.
    pub minimum_premium: MinimumPremium,
    /// Coverage lines plus surcharges plus any minimum-premium adjustment: the taxable premium.
    pub premium: Money,
    /// State premium tax on [`RateQuote::premium`].
    pub premium_tax: PremiumTax,
    /// Flat fees for the term (not taxed).
    pub fees: Vec<Charge<'t>>,
    /// Premium plus tax plus fees: what the policyholder pays for the term.
    pub total_premium: Money,
    /// The total as monthly instalments over the term.
    pub installments: Installments,
    /// Rating steps skipped because the request does not give what they rate on: until it does,
    /// the price is provisional.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assumptions: Vec<Assumption>,
    /// How each factor, discount, surcharge and the deductibles moved the premium; filled in by
    /// [`crate::rating::rate_explained`], not by [`crate::rating::rate`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation<'t>>,
    /// Where a credit score raised the premium: the (up to four) players that raised it most,
    /// largest first, as state law asks of insurers that use credit. Filled in with the explanation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub adverse_action_reasons: Vec<Player<'t>>,
    /// The tables it was rated with.
    #[serde(skip)]
    pub tables: TableSet<'t>,
}

/// A rating step skipped because the request does not give the fact it rates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Assumption {
    /// The step not applied: it counts as neutral (a factor of 1, no discount).
    pub step: Step,
    /// The request field that would let it apply, e.g. `drivers` or `vehicle.annual_mileage`.
    pub missing: &'static str,
}

/// A step of rating that depends on what the request says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Step {
    /// A rating factor.
    Factor(FactorName),
    /// A discount that needs a fact to be earned.
    Discount(DiscountKind),
}

/// A rating factor; on the wire, its [`FactorName::as_str`] name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum FactorName {
    DriverAge,
    YearsLicensed,
    Violations,
    AtFaultAccidents,
    Dui,
    Claims,
    VehicleAge,
    AnnualMileage,
    SafetyFeatures,
    AntiTheft,
    Territory,
    CreditScore,
    DwellingValue,
    Construction,
    HomeAge,
    ProtectionClass,
}

impl FactorName {
    /// The name as it appears in the breakdown, e.g. `driver_age`.
    pub fn as_str(self) -> &'static str {
        match self {
            FactorName::DriverAge => "driver_age",
            FactorName::YearsLicensed => "years_licensed",
            FactorName::Violations => "violations",
            FactorName::AtFaultAccidents => "at_fault_accidents",
            FactorName::Dui => "dui",
            FactorName::Claims => "claims",
            FactorName::VehicleAge => "vehicle_age",
            FactorName::AnnualMileage => "annual_mileage",
            FactorName::SafetyFeatures => "safety_features",
            FactorName::AntiTheft => "anti_theft",
            FactorName::Territory => "territory",
            FactorName::CreditScore => "credit_score",
            FactorName::DwellingValue => "dwelling_value",
            FactorName::Construction => "construction",
            FactorName::HomeAge => "home_age",
            FactorName::ProtectionClass => "protection_class",
        }
    }

    /// Whether California's Proposition 103 counts it as a mandatory (primary) factor: driving
    /// safety record, miles driven and years of experience. Every other factor is secondary.
    pub fn is_primary(self) -> bool {
        matches!(
            self,
            FactorName::Violations
                | FactorName::AtFaultAccidents
                | FactorName::Dui
                | FactorName::AnnualMileage
                | FactorName::YearsLicensed
        )
    }
}

impl Serialize for FactorName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// What a factor was looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Basis {
    /// A number: an age, a count, a value.
    Number(u32),
    /// A category, e.g. a construction type or a ZIP prefix.
    Text(&'static str),
}

/// One factor as applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppliedFactor {
    /// Which factor.
    pub name: FactorName,
    /// What it was looked up by.
    pub basis: Basis,
    /// The factor from the table.
    #[serde(with = "rust_decimal::serde::str")]
    pub filed: Decimal,
    /// The factor used: the filed one, or pulled toward 1 where state law weights it down.
    #[serde(with = "rust_decimal::serde::str")]
    pub applied: Decimal,
}

/// A discount earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AppliedDiscount {
    /// Which discount.
    pub name: DiscountKind,
    /// Its rate as a fraction of premium.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
}

/// Discounts and the cap on their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiscountSummary {
    /// Each discount earned.
    pub applied: Vec<AppliedDiscount>,
    /// Sum of the earned rates.
    #[serde(with = "rust_decimal::serde::str")]
    pub earned: Decimal,
    /// The cap on the total.
    #[serde(with = "rust_decimal::serde::str")]
    pub cap: Decimal,
    /// What applies: the earned total, or the cap if lower.
    #[serde(with = "rust_decimal::serde::str")]
    pub total: Decimal,
}

/// One coverage line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CoverageLine {
    /// Which coverage.
    pub coverage: CoverageKind,
    /// Its limit in whole dollars.
    pub limit: u32,
    /// Annual base premium: limit / 1000 x the state's rate per thousand.
    #[serde(with = "rust_decimal::serde::str")]
    pub base_premium: Decimal,
    /// The deductible, for lines that have one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deductible: Option<u32>,
    /// The deductible's factor (1 for lines without one).
    #[serde(with = "rust_decimal::serde::str")]
    pub deductible_factor: Decimal,
    /// base x combined factor x deductible factor x (1 - discounts) x term months / 12, in cents.
    pub premium: Money,
}

/// A named flat amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Charge<'t> {
    /// Name as filed.
    pub name: &'t str,
    /// Amount for the term.
    pub amount: Money,
}

/// The minimum premium check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinimumPremium {
    /// The state's minimum, pro-rated to the term.
    pub minimum: Money,
    /// Added so the premium reaches the minimum (zero when it already does).
    pub adjustment: Money,
}

/// State premium tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PremiumTax {
    /// Rate as a fraction of premium.
    #[serde(with = "rust_decimal::serde::str")]
    pub rate: Decimal,
    /// Tax for the term.
    pub amount: Money,
}

/// The total in monthly instalments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Installments {
    /// Number of monthly payments (the months in the term).
    pub count: u32,
    /// The first payment, which carries any remainder cents.
    pub first: Money,
    /// Each later payment.
    pub each: Money,
}
