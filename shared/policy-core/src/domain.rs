//! The vocabulary every part of the suite shares: states, products, terms and coverages.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

macro_rules! us_states {
    ($($code:ident),+ $(,)?) => {
        /// A US state or the District of Columbia, by its USPS code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(clippy::upper_case_acronyms)]
        pub enum State { $(
            #[doc = concat!("The USPS code `", stringify!($code), "`.")]
            $code,
        )+ }

        impl State {
            /// Every state and DC, in a fixed order; `State::ALL[s.index()] == s`.
            pub const ALL: &'static [State] = &[$(State::$code),+];

            /// The USPS code, e.g. `"CA"`.
            pub fn code(self) -> &'static str {
                match self { $(State::$code => stringify!($code),)+ }
            }
        }

        impl FromStr for State {
            type Err = UnknownState;
            fn from_str(code: &str) -> Result<Self, UnknownState> {
                match code { $(stringify!($code) => Ok(State::$code),)+ _ => Err(UnknownState) }
            }
        }
    };
}

us_states!(
    AL, AK, AZ, AR, CA, CO, CT, DE, DC, FL, GA, HI, ID, IL, IN, IA, KS, KY, LA, ME, MD, MA, MI, MN,
    MS, MO, MT, NE, NV, NH, NJ, NM, NY, NC, ND, OH, OK, OR, PA, RI, SC, SD, TN, TX, UT, VT, VA, WA,
    WV, WI, WY,
);

impl State {
    /// Position in [`State::ALL`], for dense per-state tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The text is not a USPS state code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("is not a US state code (two upper-case letters, e.g. \"CA\")")]
pub struct UnknownState;

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for State {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StateVisitor;
        impl Visitor<'_> for StateVisitor {
            type Value = State;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a US state code such as \"CA\"")
            }
            fn visit_str<E: de::Error>(self, code: &str) -> Result<State, E> {
                code.parse()
                    .map_err(|_| E::custom(format_args!("\"{code}\" {UnknownState}")))
            }
        }
        deserializer.deserialize_str(StateVisitor)
    }
}

/// A product line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyType {
    /// Personal auto.
    Auto,
    /// Homeowners (HO-3).
    Home,
    /// Renters (HO-4).
    Renters,
}

impl PolicyType {
    /// Every product, in a fixed order; `PolicyType::ALL[p.index()] == p`.
    pub const ALL: [PolicyType; 3] = [PolicyType::Auto, PolicyType::Home, PolicyType::Renters];

    /// Position in [`PolicyType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The wire name, e.g. `"auto"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Auto => "auto",
            PolicyType::Home => "home",
            PolicyType::Renters => "renters",
        }
    }

    /// Whether the product insures a vehicle and its drivers (rather than a dwelling or contents).
    pub fn is_auto(self) -> bool {
        self == PolicyType::Auto
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The length of a policy term. Premiums are rated annually and pro-rated to the term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Twelve months.
    #[default]
    Annual,
    /// Six months.
    SemiAnnual,
    /// Three months.
    Quarterly,
    /// One month.
    Monthly,
}

impl Term {
    /// Length of the term in months.
    pub fn months(self) -> u32 {
        match self {
            Term::Annual => 12,
            Term::SemiAnnual => 6,
            Term::Quarterly => 3,
            Term::Monthly => 1,
        }
    }
}

macro_rules! coverage_kinds {
    ($($kind:ident => $name:literal: $doc:literal),+ $(,)?) => {
        /// A coverage line that can be rated.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CoverageKind { $(#[doc = $doc] $kind,)+ }

        impl CoverageKind {
            /// Every coverage line, in breakdown order; `CoverageKind::ALL[c.index()] == c`.
            pub const ALL: &'static [CoverageKind] = &[$(CoverageKind::$kind),+];
            /// How many coverage lines exist.
            pub const COUNT: usize = Self::ALL.len();

            /// The wire name, e.g. `"liability"`.
            pub fn as_str(self) -> &'static str {
                match self { $(CoverageKind::$kind => $name,)+ }
            }

            /// The request field that carries this coverage's limit, e.g. `"coverage.liability"`.
            pub fn field(self) -> &'static str {
                match self { $(CoverageKind::$kind => concat!("coverage.", $name),)+ }
            }
        }
    };
}

coverage_kinds!(
    Liability => "liability": "Bodily injury and property damage liability, as a combined single limit.",
    Collision => "collision": "Damage to the insured vehicle from a collision.",
    Comprehensive => "comprehensive": "Damage to the insured vehicle from theft, fire, weather and the like.",
    UninsuredMotorist => "uninsured_motorist": "Injury caused by an uninsured or underinsured driver.",
    MedicalPayments => "medical_payments": "Medical expenses of the insured and passengers or guests.",
    Pip => "pip": "Personal injury protection (no-fault).",
    Dwelling => "dwelling": "The insured house (coverage A).",
    OtherStructures => "other_structures": "Detached structures such as garages and fences (coverage B).",
    PersonalProperty => "personal_property": "Contents and belongings (coverage C).",
    LossOfUse => "loss_of_use": "Additional living expenses while the home is uninhabitable (coverage D).",
);

impl CoverageKind {
    /// Position in [`CoverageKind::ALL`], for dense per-coverage tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CoverageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_index_round_trips_through_all() {
        for &state in State::ALL {
            assert_eq!(State::ALL[state.index()], state);
            assert_eq!(state.code().parse::<State>(), Ok(state));
        }
        assert_eq!(State::ALL.len(), 51);
    }

    #[test]
    fn lower_case_or_unknown_state_codes_are_rejected_with_a_hint() {
        let err = serde_json::from_str::<State>("\"ca\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"ca\" is not a US state code"), "{err}");
        assert!(serde_json::from_str::<State>("\"ZZ\"").is_err());
    }

    #[test]
    fn coverage_fields_name_the_request_path() {
        assert_eq!(CoverageKind::Liability.field(), "coverage.liability");
        for (i, kind) in CoverageKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(kind.field(), format!("coverage.{kind}"));
        }
    }
}
