//! Each state's rules for a policy's life after it is bound, from `rates/<state>/administration.toml`:
//! free look, reinstatement window, renewal notice and cap, and the short-rate table. Compiled in
//! and parsed once, like the rate tables; a malformed file fails the test suite, never a request.

use std::sync::OnceLock;

use rust_decimal::Decimal;
use serde::Deserialize;

use crate::domain::State;
use crate::rating::tables::ADMINISTRATION_FILES;

/// One state's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// The state they apply in.
    pub state: State,
    /// An insured's cancellation within this many days of inception is refunded in full (flat).
    pub free_look_days: u16,
    /// A non-payment cancellation can be reinstated within this many days after it takes effect.
    pub reinstatement_days: u16,
    /// A renewal is offered this many days before the term ends.
    pub renewal_notice_days: u16,
    /// The largest change of a renewal's premium against the expiring term's, as a fraction.
    pub renewal_cap: Decimal,
    /// Short rate: (percentage of the term elapsed from which, share of the premium earned).
    short_rate: Vec<(u8, Decimal)>,
}

impl Rules {
    /// The share of a term's written premium the company keeps when the insured cancels after
    /// `elapsed` of `term_days` days: the short-rate row for the whole percentage elapsed.
    pub fn short_rate_earned(&self, elapsed: i64, term_days: i64) -> Decimal {
        let percent = (elapsed.max(0) * 100)
            .checked_div(term_days)
            .unwrap_or(100)
            .clamp(0, 100);
        let at = self
            .short_rate
            .partition_point(|&(from, _)| i64::from(from) <= percent);
        self.short_rate
            .get(at.saturating_sub(1))
            .map_or(Decimal::ONE, |&(_, earned)| earned)
    }
}

/// A rules file that does not parse or breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("administration rules {file}: {detail}")]
pub struct RulesError {
    file: String,
    detail: String,
}

fn error(file: &str, detail: impl Into<String>) -> RulesError {
    RulesError {
        file: file.to_owned(),
        detail: detail.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    state: State,
    free_look_days: u16,
    reinstatement_days: u16,
    renewal_notice_days: u16,
    renewal_cap: String,
    short_rate: Vec<ShortRateRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShortRateRow {
    elapsed: u8,
    earned: String,
}

/// Every state's rules, by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRules(Vec<Rules>);

static BUILTIN: OnceLock<StateRules> = OnceLock::new();

impl StateRules {
    /// The rules compiled into this binary, parsed on first use.
    pub fn builtin() -> Result<&'static StateRules, RulesError> {
        if let Some(rules) = BUILTIN.get() {
            return Ok(rules);
        }
        let parsed = StateRules::parse(ADMINISTRATION_FILES)?;
        Ok(BUILTIN.get_or_init(|| parsed))
    }

    /// Parses `(path under rates/, text)` files, `<state>/administration.toml` each.
    pub fn parse(files: &[(&str, &str)]) -> Result<StateRules, RulesError> {
        let mut all: Vec<Rules> = Vec::with_capacity(files.len());
        for &(file, text) in files {
            let raw: RulesFile = toml::from_str(text).map_err(|e| error(file, e.to_string()))?;
            let expected = format!("{}/administration.toml", raw.state.code().to_lowercase());
            if file != expected {
                return Err(error(file, format!("declares state {}", raw.state)));
            }
            all.push(rules(file, &raw)?);
        }
        all.sort_by_key(|r| r.state);
        Ok(StateRules(all))
    }

    /// The rules of `state`, if it has any.
    pub fn of(&self, state: State) -> Option<&Rules> {
        self.0
            .binary_search_by_key(&state, |r| r.state)
            .ok()
            .map(|at| &self.0[at])
    }

    /// The states with rules.
    pub fn states(&self) -> impl Iterator<Item = State> + '_ {
        self.0.iter().map(|r| r.state)
    }

    /// The longest renewal notice of any state: how far ahead the renewal run looks.
    pub fn longest_notice_days(&self) -> u16 {
        self.0
            .iter()
            .map(|r| r.renewal_notice_days)
            .max()
            .unwrap_or(0)
    }
}

fn fraction(file: &str, key: &str, text: &str) -> Result<Decimal, RulesError> {
    text.parse::<Decimal>()
        .ok()
        .filter(|d| *d > Decimal::ZERO && *d <= Decimal::ONE)
        .ok_or_else(|| {
            error(
                file,
                format!("{key}: \"{text}\" is not a decimal above 0 and at most 1"),
            )
        })
}

fn rules(file: &str, raw: &RulesFile) -> Result<Rules, RulesError> {
    if raw.free_look_days > 60 {
        return Err(error(file, "free_look_days: at most 60"));
    }
    if !(1..=90).contains(&raw.reinstatement_days) {
        return Err(error(file, "reinstatement_days: 1 to 90"));
    }
    if !(1..=120).contains(&raw.renewal_notice_days) {
        return Err(error(file, "renewal_notice_days: 1 to 120"));
    }
    let renewal_cap = fraction(file, "renewal_cap", &raw.renewal_cap)?;
    let mut short_rate = Vec::with_capacity(raw.short_rate.len());
    for (i, row) in raw.short_rate.iter().enumerate() {
        let key = format!("short_rate[{i}]");
        let earned = fraction(file, &format!("{key}.earned"), &row.earned)?;
        let ordered = match short_rate.last() {
            None => row.elapsed == 0,
            Some(&(from, before)) => row.elapsed > from && row.elapsed < 100 && earned >= before,
        };
        if !ordered {
            return Err(error(
                file,
                format!(
                    "{key}: rows start at elapsed = 0, with elapsed rising below 100 and earned never falling"
                ),
            ));
        }
        short_rate.push((row.elapsed, earned));
    }
    if short_rate.is_empty() {
        return Err(error(file, "short_rate: at least one row"));
    }
    Ok(Rules {
        state: raw.state,
        free_look_days: raw.free_look_days,
        reinstatement_days: raw.reinstatement_days,
        renewal_notice_days: raw.renewal_notice_days,
        renewal_cap,
        short_rate,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;
    use crate::rating::RateTables;

    #[test]
    fn every_state_with_rate_tables_has_its_rules() {
        let rules = StateRules::builtin().unwrap();
        let tables = RateTables::builtin().unwrap();
        for table in tables.iter() {
            assert!(rules.of(table.state).is_some(), "{}", table.state);
        }
        assert!(rules.longest_notice_days() >= 30);
    }

    #[test]
    fn the_short_rate_row_is_the_last_one_reached() {
        let rules = StateRules::builtin().unwrap().of(State::CA).unwrap();
        assert_eq!(rules.short_rate_earned(0, 365), dec!(0.10));
        // 36 of 365 days is 9.86%: still the 5% row.
        assert_eq!(rules.short_rate_earned(36, 365), dec!(0.15));
        assert_eq!(rules.short_rate_earned(37, 365), dec!(0.20));
        assert_eq!(rules.short_rate_earned(364, 365), dec!(0.94));
        assert_eq!(rules.short_rate_earned(1, 0), dec!(0.94));
    }

    #[test]
    fn a_file_that_breaks_a_rule_is_refused_naming_it() {
        let good = ADMINISTRATION_FILES
            .iter()
            .find(|(file, _)| *file == "ca/administration.toml")
            .unwrap()
            .1;
        for (edit, named) in [
            (
                good.replace("renewal_cap = \"0.15\"", "renewal_cap = \"1.5\""),
                "renewal_cap",
            ),
            (
                good.replace("elapsed = 5,", "elapsed = 0,"),
                "short_rate[1]",
            ),
            (good.replace("\"0.15\" }", "\"0.05\" }"), "short_rate[1]"),
            (
                good.replace("reinstatement_days = 30", "reinstatement_days = 0"),
                "reinstatement_days",
            ),
            (format!("{good}\nextra = 1\n"), "extra"),
        ] {
            let err = StateRules::parse(&[("ca/administration.toml", &edit)]).unwrap_err();
            assert!(err.to_string().contains(named), "{named}: {err}");
        }
        let err = StateRules::parse(&[("tx/administration.toml", good)]).unwrap_err();
        assert!(err.to_string().contains("declares state CA"), "{err}");
    }
}
