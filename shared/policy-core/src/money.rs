//! Money: decimal amounts in US dollars, rounded half-up to cents at documented points only.
//!
//! Every premium, fee, surcharge and tax in the suite is a [`Money`]. The rating engine computes with
//! unrounded [`Decimal`]s and converts to [`Money`] exactly once per line of the breakdown; totals are
//! sums of already-rounded lines, so the parts always add up to the whole.

use std::cmp::Reverse;
use std::fmt;
use std::iter::Sum;
use std::num::NonZeroU64;
use std::ops::{Add, Sub};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Serialize, Serializer};

/// The rounding strategy for money: half-up (away from zero at the midpoint), as rating manuals state it.
pub const MONEY_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// A dollar amount with exactly two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[must_use]
pub struct Money(Decimal);

impl Default for Money {
    fn default() -> Money {
        Money::ZERO
    }
}

impl Money {
    /// Zero dollars (`0.00`).
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

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

    /// The amount in whole cents.
    pub fn cents(self) -> i128 {
        let mut amount = self.0;
        amount.rescale(2);
        amount.mantissa()
    }

    /// A whole number of cents (beyond what a decimal holds, about 7.9e26 dollars either way, the
    /// nearest amount it holds).
    pub fn from_cents(cents: i128) -> Money {
        const LARGEST: i128 = (1 << 96) - 1;
        Money(Decimal::from_i128_with_scale(
            cents.clamp(-LARGEST, LARGEST),
            2,
        ))
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

    /// The smaller of two amounts.
    pub fn min(self, other: Money) -> Money {
        if other < self { other } else { self }
    }

    /// The larger of two amounts.
    pub fn max(self, other: Money) -> Money {
        if other > self { other } else { self }
    }
}

/// Rounds exact shares of `total` to whole cents that add up to `total` exactly, by largest
/// remainder (Hamilton's method): each share is rounded down to a cent, and the cents still missing
/// go one each to the shares that lost the most in rounding, the earlier share first on a tie.
///
/// Share `i` is `numerators[i] / denominator` cents, so shares that are not whole decimals (thirds,
/// say) stay exact. Shares that do not add up to `total` still come out adding up to it: the
/// difference is spread evenly over all of them, the odd cents in the same order (a cent taken
/// away comes from the smallest remainder). No shares, nothing to split: the result is empty.
pub fn apportion(total: Money, numerators: &[i128], denominator: NonZeroU64) -> Vec<Money> {
    let denominator = i128::from(denominator.get());
    let mut cents: Vec<i128> = numerators
        .iter()
        .map(|n| n.div_euclid(denominator))
        .collect();
    let Ok(count) = i128::try_from(cents.len()) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let missing = total.cents() - cents.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..cents.len()).collect();
    // Stable: among equal remainders the earlier share stays first.
    order.sort_by_key(|&i| Reverse(numerators[i].rem_euclid(denominator)));
    let (each, first) = (missing.div_euclid(count), missing.rem_euclid(count));
    for (rank, i) in (0..).zip(order) {
        cents[i] += each + i128::from(rank < first);
    }
    cents.into_iter().map(Money::from_cents).collect()
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
    fn zero_prints_with_cents() {
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::default().to_string(), "0.00");
        assert_eq!([].into_iter().sum::<Money>().to_string(), "0.00");
        assert_eq!(Money::ZERO, Money::round(dec!(0)));
        assert_eq!(Money::from_cents(-1205).to_string(), "-12.05");
        assert_eq!(Money::round(dec!(-12.05)).cents(), -1205);
    }

    fn thirds() -> NonZeroU64 {
        NonZeroU64::new(3).unwrap()
    }

    fn strings(amounts: &[Money]) -> Vec<String> {
        amounts.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_dollar_in_thirds_gives_the_odd_cent_to_the_first_share() {
        // Given three equal shares of 100/3 cents each
        let shares = apportion(Money::round(dec!(1.00)), &[100, 100, 100], thirds());
        // Then they round to whole cents that still make the dollar; the tie goes to the first
        assert_eq!(strings(&shares), ["0.34", "0.33", "0.33"]);
    }

    #[test]
    fn the_missing_cents_go_to_the_largest_remainders() {
        // Given thirds of a cent that make 10.00: 1001/3 = 333.67, 1000/3 = 333.33, 999/3 = 333.00
        let shares = apportion(Money::round(dec!(10.00)), &[1001, 1000, 999], thirds());
        // Then the floors make 9.99 and the missing cent goes to the largest remainder (2/3)
        assert_eq!(strings(&shares), ["3.34", "3.33", "3.33"]);
        let shares = apportion(Money::round(dec!(10.00)), &[999, 1000, 1001], thirds());
        assert_eq!(strings(&shares), ["3.33", "3.33", "3.34"]);
    }

    #[test]
    fn negative_shares_round_down_and_still_add_up() {
        // Given -40.005 and +20.005 dollars in tenths of a cent making -20.00
        let tenths = NonZeroU64::new(10).unwrap();
        let shares = apportion(Money::round(dec!(-20.00)), &[-40_005, 20_005], tenths);
        // Floors -40.01 (remainder 0.5 cent) and 20.00 (remainder 0.5 cent): -20.01, one cent
        // short; the tie goes to the first.
        assert_eq!(strings(&shares), ["-40.00", "20.00"]);
    }

    #[test]
    fn shares_that_miss_the_total_are_still_made_to_add_up() {
        // Given whole-cent shares of 1.00 each and a total of 5.00
        let one = NonZeroU64::new(1).unwrap();
        let shares = apportion(Money::round(dec!(5.00)), &[100, 100], one);
        assert_eq!(strings(&shares), ["2.50", "2.50"]);
        // A cent too many is taken from the share that lost least in rounding, the later on a tie.
        let shares = apportion(Money::round(dec!(-0.01)), &[0, 0], one);
        assert_eq!(strings(&shares), ["0.00", "-0.01"]);
        assert!(apportion(Money::ZERO, &[], one).is_empty());
    }

    #[test]
    fn split_into_one_part_is_the_whole() {
        let total = Money::round(dec!(99.99));
        assert_eq!(total.split(1), (total, total));
    }
}
