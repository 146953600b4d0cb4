//! Money: decimal amounts in US dollars, rounded half-up to cents at documented points only.
//!
//! Every premium, fee, surcharge and tax in the suite is a [`Money`]. The rating engine computes with
//! unrounded [`Decimal`]s and converts to [`Money`] exactly once per line of the breakdown; totals are
//! sums of already-rounded lines, so the parts always add up to the whole.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};

/// The rounding strategy for money: half-up (away from zero at the midpoint), as rating manuals state it.
pub const MONEY_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// A dollar amount with exactly two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[must_use]
pub struct Money(Decimal);

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Rounds `amount` half-up to cents. This is the one place where money is rounded.
    pub fn round(amount: Decimal) -> Money {
        let mut cents = amount.round_dp_with_strategy(2, MONEY_ROUNDING);
        cents.rescale(2);
        Money(cents)
    }

    /// Whole dollars, exact.
    pub fn from_dollars(dollars: u32) -> Money {
        let mut amount = Decimal::from(dollars);
        amount.rescale(2);
        Money(amount)
    }

    /// Reads an amount written by [`Money`]'s `Display` (as stored in DynamoDB); `None` unless it is a
    /// decimal with at most two decimal places.
    pub fn parse(text: &str) -> Option<Money> {
        // DynamoDB gives numbers back in plain notation, trailing zeros trimmed ("1234.5").
        if !text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return None;
        }
        let amount: Decimal = text.parse().ok()?;
        (amount.scale() <= 2).then(|| Money::round(amount))
    }

    /// The amount as a decimal with two decimal places.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Splits the amount into `parts` instalments of whole cents that add up to it exactly; the first
    /// carries the remainder. Returns `(first, each_other)`.
    pub fn split(self, parts: u32) -> (Money, Money) {
        if parts <= 1 {
            return (self, self);
        }
        let each =
            (self.0 / Decimal::from(parts)).round_dp_with_strategy(2, RoundingStrategy::ToZero);
        let first = self.0 - each * Decimal::from(parts - 1);
        (Money::round(first), Money::round(each))
    }

    /// The larger of two amounts.
    pub fn max(self, other: Money) -> Money {
        if other > self { other } else { self }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Money is read back from the decimal strings [`Money`] writes (as in the cache).
impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Money::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format_args!("{text:?} is not an amount in cents"))
        })
    }
}

/// Money goes on the wire as a decimal string (`"1234.50"`), never as a JSON number.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rounding_is_half_up_not_bankers() {
        assert_eq!(Money::round(dec!(0.125)).to_string(), "0.13");
        assert_eq!(Money::round(dec!(0.135)).to_string(), "0.14");
        assert_eq!(Money::round(dec!(2.5)).to_string(), "2.50");
        assert_eq!(Money::round(dec!(0.124999)).to_string(), "0.12");
    }

    #[test]
    fn whole_dollars_print_with_cents() {
        assert_eq!(Money::from_dollars(500).to_string(), "500.00");
        assert_eq!(
            serde_json::to_string(&Money::from_dollars(7)).unwrap(),
            "\"7.00\""
        );
    }

    #[test]
    fn split_parts_add_up_to_the_total() {
        let total = Money::round(dec!(1000.00));
        let (first, each) = total.split(12);
        assert_eq!(each.to_string(), "83.33");
        assert_eq!(first.to_string(), "83.37");
        assert_eq!(first.amount() + each.amount() * dec!(11), total.amount());
    }

    #[test]
    fn parse_reads_what_display_writes_and_nothing_finer() {
        assert_eq!(
            Money::parse("1234.50").map(|m| m.to_string()),
            Some("1234.50".to_owned())
        );
        assert_eq!(
            Money::parse("7").map(|m| m.to_string()),
            Some("7.00".to_owned())
        );
        assert_eq!(
            Money::parse("1234.5").map(|m| m.to_string()),
            Some("1234.50".to_owned())
        );
        assert_eq!(Money::parse("0.125"), None);
        assert_eq!(Money::parse("1e3"), None);
    }

    #[test]
    fn split_into_one_part_is_the_whole() {
        let total = Money::round(dec!(99.99));
        assert_eq!(total.split(1), (total, total));
    }
}
