//! Why a request cannot be rated. Every variant names the request field at fault.

use std::borrow::Cow;

use time::Date;

use crate::domain::{CoverageKind, PolicyType, State};
use crate::rating::tables::Business;

/// A request the engine refuses to rate; the client can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RatingError {
    /// No product is written in the state.
    #[error("policies are not written in {state}")]
    UnsupportedState {
        /// The state asked for.
        state: State,
    },
    /// The state has tables, but not for this product.
    #[error("{policy_type} policies are not offered in {state}")]
    UnsupportedProduct {
        /// The state asked for.
        state: State,
        /// The product asked for.
        policy_type: PolicyType,
    },
    /// The product does not include this coverage in the state.
    #[error("{coverage} coverage is not offered for {policy_type} in {state}")]
    UnsupportedCoverage {
        /// The state asked for.
        state: State,
        /// The product asked for.
        policy_type: PolicyType,
        /// The coverage asked for.
        coverage: CoverageKind,
    },
    /// A limit below the smallest the state allows or the product sells.
    #[error(
        "{coverage} limit {limit} is below the {state} minimum of {minimum}{}",
        statutory.as_ref().map(|s| format!(" (statutory limits {s})")).unwrap_or_default()
    )]
    LimitBelowMinimum {
        /// The state asked for.
        state: State,
        /// The coverage line.
        coverage: CoverageKind,
        /// The limit asked for.
        limit: u32,
        /// The smallest limit sold.
        minimum: u32,
        /// The statutory split limits, where the state has them.
        statutory: Option<String>,
    },
    /// A limit above the largest the product sells.
    #[error("{coverage} limit {limit} is above the largest we write, {maximum}")]
    LimitAboveMaximum {
        /// The coverage line.
        coverage: CoverageKind,
        /// The limit asked for.
        limit: u32,
        /// The largest limit sold.
        maximum: u32,
    },
    /// A coverage the state requires was not requested.
    #[error("{coverage} coverage is required in {state}")]
    MissingRequiredCoverage {
        /// The state asked for.
        state: State,
        /// The missing coverage.
        coverage: CoverageKind,
    },
    /// No version of the tables is in force on the first day of cover.
    #[error(
        "no {state} {policy_type} rates are in force for {} on {date}{}",
        business_name(*business),
        first.map(|d| format!("; the first take effect on {d}")).unwrap_or_default()
    )]
    NotInForce {
        /// The state asked for.
        state: State,
        /// The product asked for.
        policy_type: PolicyType,
        /// New business or renewal.
        business: Business,
        /// The first day of cover asked for.
        date: Date,
        /// The first day any version is in force, if one ever is.
        first: Option<Date>,
    },
    /// A value that is out of range or does not apply to the product.
    #[error("{detail}")]
    Invalid {
        /// The request field, e.g. `drivers[1].years_licensed`.
        field: Cow<'static, str>,
        /// What is wrong with it.
        detail: String,
    },
}

impl RatingError {
    /// The request field the error is about, as a path such as `coverage.liability`.
    pub fn field(&self) -> &str {
        match self {
            RatingError::UnsupportedState { .. } => "state",
            RatingError::UnsupportedProduct { .. } => "policy_type",
            RatingError::UnsupportedCoverage { coverage, .. }
            | RatingError::LimitBelowMinimum { coverage, .. }
            | RatingError::LimitAboveMaximum { coverage, .. }
            | RatingError::MissingRequiredCoverage { coverage, .. } => coverage.field(),
            RatingError::NotInForce { .. } => "effective_date",
            RatingError::Invalid { field, .. } => field,
        }
    }

    pub(crate) fn invalid(
        field: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> RatingError {
        RatingError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

fn business_name(business: Business) -> &'static str {
    match business {
        Business::NewBusiness => "new business",
        Business::Renewal => "renewals",
    }
}
