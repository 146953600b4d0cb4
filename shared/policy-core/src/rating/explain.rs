//! The premium explained in dollars: how much each factor, discount, surcharge and the deductibles
//! moved it away from the base premium.
//!
//! Attribution is by Shapley value. The players are every applied factor, every discount earned,
//! every surcharge, and the deductible factors of all coverage lines together (one player). For a
//! set S of players, v(S) is the premium (coverage lines plus surcharges plus any minimum-premium
//! adjustment: before tax and fees) worked out exactly as [`rate`] does it, with the players in S
//! as the quote has them and every other player neutral (a factor of 1, no discount, no surcharge,
//! a deductible factor of 1): the combined factor clamped and rounded to 4 places, the discount
//! total capped, each coverage line pro-rated to the term and rounded half-up to cents, the
//! pro-rated minimum premium as a floor. A player's amount is what adding it changes, averaged
//! over every order in which the players could be added. The amounts add up to
//! v(all) - v(none) = premium - base premium; they do not depend on the order the players are
//! listed in; a player that changes nothing explains $0.00; players that act alike get the same.
//!
//! The base premium v(none) is the premium at the state's base rates alone: each coverage line's
//! limit / 1000 x rate per thousand, pro-rated to the term and rounded to cents, floored at the
//! pro-rated minimum premium.
//!
//! Discounts are players one by one. Where the earned total goes over the cap, the cap binds only
//! in the orders where enough other discounts came first, so each discount is credited with its
//! average effect under the cap and together they explain exactly the capped total's effect.
//!
//! Amounts are exact rationals (integer cents over the common denominator lcm(1, ..., n) of the
//! Shapley weights), rounded to cents by [`apportion`] so that they add up to
//! `premium - base_premium` exactly. The cost is 2^n premium evaluations, n the number of players
//! that can change anything: a factor of exactly 1 (credit where the state bans it, say), a zero
//! discount or surcharge, or deductibles all at factor 1 are listed at $0.00 and left out of the
//! enumeration, which does not change anyone else's amount.

use std::cmp::Reverse;
use std::num::NonZeroU64;

use rust_decimal::Decimal;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::Date;

use crate::domain::Term;
use crate::money::{Money, apportion};
use crate::rating::engine::{combined_factor, rate};
use crate::rating::error::RatingError;
use crate::rating::quote::{FactorName, RateQuote};
use crate::rating::request::RatingRequest;
use crate::rating::tables::{Common, DiscountKind, RateTables};

/// Most adverse action reasons given.
pub const MAX_ADVERSE_ACTION_REASONS: usize = 4;

/// Rates `request` as [`rate`] does and explains the premium: the quote comes back with
/// [`RateQuote::explanation`] and [`RateQuote::adverse_action_reasons`] filled in.
pub fn rate_explained<'t>(
    tables: &'t RateTables,
    request: &RatingRequest,
    today: Date,
) -> Result<RateQuote<'t>, RatingError> {
    let mut quote = rate(tables, request, today)?;
    let explanation = explain(&quote);
    quote.adverse_action_reasons = explanation.adverse_action_reasons();
    quote.explanation = Some(explanation);
    Ok(quote)
}

/// Explains `quote`: the premium split between the players by Shapley value (see the module
/// documentation), with the tables it was rated with.
pub fn explain<'t>(quote: &RateQuote<'t>) -> Explanation<'t> {
    let mut game = Game::new(quote.tables.common, quote);
    // Every player in listed order, with its bit in the game if it can change anything; the
    // game's bits follow the same order.
    let mut players: Vec<(Player<'t>, Option<usize>)> = Vec::with_capacity(
        quote.factors.len() + quote.discounts.applied.len() + quote.surcharges.len() + 1,
    );
    let mut next_bit = 0;
    let mut bit_if = |active: bool| {
        active.then(|| {
            next_bit += 1;
            next_bit - 1
        })
    };
    for factor in &quote.factors {
        let bit = bit_if(factor.applied != Decimal::ONE);
        if bit.is_some() {
            game.factors.push(factor.applied);
        }
        players.push((Player::Factor(factor.name), bit));
    }
    for discount in &quote.discounts.applied {
        let bit = bit_if(!discount.rate.is_zero());
        if bit.is_some() {
            game.discounts.push(discount.rate);
        }
        players.push((Player::Discount(discount.name), bit));
    }
    for surcharge in &quote.surcharges {
        let cents = surcharge.amount.cents();
        let bit = bit_if(cents != 0);
        if bit.is_some() {
            game.surcharges.push(cents);
        }
        players.push((Player::Surcharge(surcharge.name), bit));
    }
    if quote.coverages.iter().any(|c| c.deductible.is_some()) {
        game.deductible = quote
            .coverages
            .iter()
            .any(|c| c.deductible_factor != Decimal::ONE);
        players.push((Player::Deductible, bit_if(game.deductible)));
    }

    let shapley = game.shapley();
    let total = Money::from_cents(shapley.premium - shapley.base);
    let mut amounts = apportion(total, &shapley.numerators, shapley.denominator).into_iter();
    let lines = players
        .into_iter()
        .map(|(player, bit)| Contribution {
            player,
            amount: bit.and_then(|_| amounts.next()).unwrap_or(Money::ZERO),
        })
        .collect();
    Explanation {
        base_premium: Money::from_cents(shapley.base),
        premium: Money::from_cents(shapley.premium),
        method: Method::Shapley,
        lines,
    }
}

/// The premium split between what moved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation<'t> {
    /// The premium with every player neutral: base rates only, pro-rated to the term, floored at
    /// the minimum premium.
    pub base_premium: Money,
    /// The premium before tax and fees, as rated.
    pub premium: Money,
    /// How the difference was split.
    pub method: Method,
    /// Each player's share of `premium - base_premium`, in cents that add up to it exactly:
    /// factors in rating order, then discounts, surcharges and the deductibles.
    pub lines: Vec<Contribution<'t>>,
}

impl<'t> Explanation<'t> {
    /// Where a credit score raised the premium, the players that raised it most (at most
    /// [`MAX_ADVERSE_ACTION_REASONS`], largest first, ties in listed order); otherwise none.
    pub fn adverse_action_reasons(&self) -> Vec<Player<'t>> {
        let credit_raised = self.lines.iter().any(|line| {
            line.player == Player::Factor(FactorName::CreditScore) && line.amount > Money::ZERO
        });
        if !credit_raised {
            return Vec::new();
        }
        let mut raised: Vec<&Contribution<'t>> = self
            .lines
            .iter()
            .filter(|line| line.amount > Money::ZERO)
            .collect();
        // Stable: equal amounts keep their listed order.
        raised.sort_by_key(|line| Reverse(line.amount));
        raised
            .into_iter()
            .take(MAX_ADVERSE_ACTION_REASONS)
            .map(|line| line.player)
            .collect()
    }
}

/// How a premium was split between the players.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Shapley values of the premium as a game between the players.
    Shapley,
}

/// Something that moves the premium away from the base premium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Player<'t> {
    /// A rating factor as applied.
    Factor(FactorName),
    /// A discount earned.
    Discount(DiscountKind),
    /// A flat surcharge, by its name in the rate table.
    Surcharge(&'t str),
    /// The deductible factors of every coverage line that has a deductible, together.
    Deductible,
}

/// The kinds of [`Player`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum PlayerKind {
    Factor,
    Discount,
    Surcharge,
    Deductible,
}

impl<'t> Player<'t> {
    /// Its kind.
    pub fn kind(self) -> PlayerKind {
        match self {
            Player::Factor(_) => PlayerKind::Factor,
            Player::Discount(_) => PlayerKind::Discount,
            Player::Surcharge(_) => PlayerKind::Surcharge,
            Player::Deductible => PlayerKind::Deductible,
        }
    }

    /// Its name as the breakdown writes it, e.g. `driver_age`, `multi_policy`, `sr22_filing`.
    pub fn name(self) -> &'t str {
        match self {
            Player::Factor(name) => name.as_str(),
            Player::Discount(kind) => kind.as_str(),
            Player::Surcharge(name) => name,
            Player::Deductible => "deductible",
        }
    }
}

/// A player goes on the wire as its name.
impl Serialize for Player<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One player's share of the difference between the premium and the base premium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contribution<'t> {
    /// Who.
    pub player: Player<'t>,
    /// How much it moved the premium: positive raised it, negative lowered it.
    pub amount: Money,
}

/// `{"kind":"factor","name":"driver_age","amount":"123.45"}`.
impl Serialize for Contribution<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = serializer.serialize_struct("Contribution", 3)?;
        line.serialize_field("kind", &self.player.kind())?;
        line.serialize_field("name", self.player.name())?;
        line.serialize_field("amount", &self.amount)?;
        line.end()
    }
}

/// The premium as a function of which players are in, with what it needs precomputed.
struct Game<'c> {
    common: &'c Common,
    /// Applied factors of the factor players.
    factors: Vec<Decimal>,
    /// Rates of the discount players.
    discounts: Vec<Decimal>,
    cap: Decimal,
    /// Whether the deductibles are a player (some line's factor is not 1).
    deductible: bool,
    /// Surcharge players, in cents.
    surcharges: Vec<i128>,
    /// Per coverage line: annual base premium x term months, without and with its deductible
    /// factor. The line's premium is this x combined factor x (1 - discounts) / 12.
    lines: Vec<[Decimal; 2]>,
    /// The pro-rated minimum premium, in cents.
    minimum: i128,
}

/// Shapley values as exact fractions of a cent, and the premium with no player and with all.
struct Shapley {
    /// v(none), in cents.
    base: i128,
    /// v(all), in cents.
    premium: i128,
    /// Per player, in bit order: its value is `numerators[bit] / denominator` cents.
    numerators: Vec<i128>,
    denominator: NonZeroU64,
}

impl<'c> Game<'c> {
    fn new(common: &'c Common, quote: &RateQuote<'_>) -> Game<'c> {
        let months = Decimal::from(quote.term.months());
        Game {
            common,
            factors: Vec::with_capacity(quote.factors.len()),
            discounts: Vec::with_capacity(quote.discounts.applied.len()),
            cap: quote.discounts.cap,
            deductible: false,
            surcharges: Vec::with_capacity(quote.surcharges.len()),
            lines: quote
                .coverages
                .iter()
                .map(|line| {
                    let annual = line.base_premium * months;
                    [annual, annual * line.deductible_factor]
                })
                .collect(),
            minimum: quote.minimum_premium.minimum.cents(),
        }
    }

    /// Every player's Shapley value, from the premium of every set of players.
    ///
    /// ```text
    /// R(k)    = sum of v(S) over the sets S of k players
    /// R_i(k)  = the same over the sets that hold player i
    /// W(s)    = s! (n - 1 - s)! / n!, the weight of a set of s players without i
    /// value_i = sum over S holding i of W(|S| - 1) v(S) - sum over S without i of W(|S|) v(S)
    ///         = sum over k of W(k - 1) R_i(k) - W(k) (R(k) - R_i(k))
    /// ```
    ///
    /// `W(s) = 1 / (n C(n - 1, s))`, and `n C(n - 1, s)` divides `lcm(1, ..., n)`: over that
    /// denominator every weight is a whole number, and every value an exact fraction of a cent.
    ///
    /// A set is its factors and its others (discounts, surcharges, deductibles). Each v(S) is
    /// added to two running sums, by its factors and the number of others, and by its others and
    /// the number of factors; `R` and `R_i` follow from those without visiting every set again.
    fn shapley(&self) -> Shapley {
        let factors = self.factors.len();
        let discounts = self.discounts.len();
        let surcharges = self.surcharges.len();
        let deductibles = usize::from(self.deductible);
        let others = discounts + surcharges + deductibles;
        let players = factors + others;

        let combined: Vec<Decimal> = subset_products(&self.factors)
            .into_iter()
            .map(|product| combined_factor(self.common, product))
            .collect();
        let keep: Vec<Decimal> = subset_sums(&self.discounts, Decimal::ZERO)
            .into_iter()
            .map(|earned| Decimal::ONE - earned.min(self.cap))
            .collect();
        let multipliers = Multipliers::new(&combined, &keep);
        let lines: Vec<[LineRate; 2]> = self
            .lines
            .iter()
            .map(|line| line.map(|annual| LineRate::new(annual, &multipliers)))
            .collect();
        let extra = subset_sums(&self.surcharges, 0);

        // Sums of v(S): by factor set and number of others, and by other set and number of
        // factors. The bits of an other set: discounts, then surcharges, then the deductibles.
        let (by_factors_row, by_others_row) = (others + 1, factors + 1);
        let mut by_factors = vec![0_i128; combined.len() * by_factors_row];
        let mut by_others = vec![0_i128; (1 << others) * by_others_row];
        for with_deductibles in 0..=deductibles {
            for discount_set in 0..keep.len() {
                for factor_set in 0..combined.len() {
                    let multiplier = multipliers.get(factor_set, discount_set);
                    let lines: i128 = lines
                        .iter()
                        .map(|line| line[with_deductibles].cents(&multipliers, multiplier))
                        .sum();
                    let factor_count = popcount(factor_set);
                    for (surcharge_set, extra) in extra.iter().enumerate() {
                        let premium = (lines + extra).max(self.minimum);
                        let other_set = discount_set
                            | surcharge_set << discounts
                            | with_deductibles << (discounts + surcharges);
                        by_factors[factor_set * by_factors_row + popcount(other_set)] += premium;
                        by_others[other_set * by_others_row + factor_count] += premium;
                    }
                }
            }
        }

        // R(k) and R_i(k), players in bit order: factors first, then the others.
        let row = players + 1;
        let mut by_size = vec![0_i128; row];
        let mut by_player = vec![0_i128; players * row];
        for (factor_set, sums) in by_factors.chunks_exact(by_factors_row).enumerate() {
            let count = popcount(factor_set);
            for (other_count, sum) in sums.iter().enumerate() {
                by_size[count + other_count] += sum;
                for player in bits(factor_set) {
                    by_player[player * row + count + other_count] += sum;
                }
            }
        }
        for (other_set, sums) in by_others.chunks_exact(by_others_row).enumerate() {
            let count = popcount(other_set);
            for (factor_count, sum) in sums.iter().enumerate() {
                for player in bits(other_set) {
                    by_player[(factors + player) * row + count + factor_count] += sum;
                }
            }
        }

        let (weights, denominator) = weights(players);
        let numerators = by_player
            .chunks_exact(row)
            .map(|with| {
                let mut value = 0;
                for size in 0..row {
                    if size >= 1 {
                        value += weights[size - 1] * with[size];
                    }
                    if size < players {
                        value -= weights[size] * (by_size[size] - with[size]);
                    }
                }
                value
            })
            .collect();
        Shapley {
            base: by_size[0],
            premium: by_size[players],
            numerators,
            denominator,
        }
    }
}

/// What multiplies every line: the combined factor of each factor set times what each discount
/// set keeps, as decimals and, where they fit, as whole numbers at a fixed scale.
struct Multipliers<'v> {
    combined: &'v [Decimal],
    keep: &'v [Decimal],
    /// `combined x 10^4` (a combined factor has 4 decimal places) and `keep x 10^keep_scale`.
    whole: Option<(Vec<u64>, Vec<u64>)>,
    keep_scale: u32,
}

/// The multiplier of one factor set and one discount set.
#[derive(Clone, Copy)]
struct Multiplier {
    factor_set: usize,
    discount_set: usize,
    /// `combined x keep x 10^(4 + keep_scale)`, if it fits.
    whole: Option<u64>,
}

impl<'v> Multipliers<'v> {
    fn new(combined: &'v [Decimal], keep: &'v [Decimal]) -> Multipliers<'v> {
        let keep_scale = keep.iter().map(Decimal::scale).max().unwrap_or(0);
        let whole = |values: &[Decimal], scale: u32| -> Option<Vec<u64>> {
            values
                .iter()
                .map(|&value| {
                    let mut value = value;
                    value.rescale(scale);
                    u64::try_from(value.mantissa()).ok()
                })
                .collect()
        };
        Multipliers {
            combined,
            keep,
            whole: whole(combined, 4).zip(whole(keep, keep_scale)),
            keep_scale,
        }
    }

    fn get(&self, factor_set: usize, discount_set: usize) -> Multiplier {
        Multiplier {
            factor_set,
            discount_set,
            whole: self
                .whole
                .as_ref()
                .and_then(|(combined, keep)| combined[factor_set].checked_mul(keep[discount_set])),
        }
    }
}

/// One coverage line's annual base premium x term months (with or without its deductible
/// factor), ready to be priced for any set of players.
struct LineRate {
    annual: Decimal,
    /// The same as a whole number, and the divisor that turns it times a whole multiplier into
    /// cents (before rounding half-up); `None` where they do not fit.
    whole: Option<(u64, u64)>,
}

impl LineRate {
    fn new(annual: Decimal, multipliers: &Multipliers<'_>) -> LineRate {
        let annual = annual.normalize();
        // annual / 10^a x combined / 10^4 x keep / 10^k / 12 dollars, x 100 for cents.
        let divisor = (annual.scale() + 4 + multipliers.keep_scale)
            .checked_sub(2)
            .and_then(|exponent| 10_u64.checked_pow(exponent))
            .and_then(|power| power.checked_mul(u64::from(Term::Annual.months())));
        let whole = u64::try_from(annual.mantissa()).ok().zip(divisor);
        LineRate { annual, whole }
    }

    /// The line's premium in cents, exactly as the engine rounds it: half-up to the cent after
    /// pro-rating. Whole numbers where they fit, decimals where they do not.
    fn cents(&self, multipliers: &Multipliers<'_>, multiplier: Multiplier) -> i128 {
        if let (Some((annual, divisor)), Some(whole)) = (self.whole, multiplier.whole)
            && let Some(numerator) = annual.checked_mul(whole)
        {
            let (quotient, remainder) = (numerator / divisor, numerator % divisor);
            return i128::from(quotient) + i128::from(remainder >= divisor - remainder);
        }
        let multiplier =
            multipliers.combined[multiplier.factor_set] * multipliers.keep[multiplier.discount_set];
        twelfth_in_cents(self.annual * multiplier)
    }
}

/// `numerator / divisor` rounded half-up (away from zero); `divisor` is positive.
fn divide_half_up(numerator: i128, divisor: i128) -> i128 {
    let magnitude = numerator.unsigned_abs();
    let divisor = divisor.unsigned_abs();
    let (quotient, remainder) = (magnitude / divisor, magnitude % divisor);
    let rounded = quotient + u128::from(remainder >= divisor - remainder);
    // At most the magnitude of an i128, so it fits back.
    let rounded = i128::try_from(rounded).unwrap_or(i128::MAX);
    if numerator < 0 { -rounded } else { rounded }
}

fn popcount(set: usize) -> usize {
    // At most usize::BITS, which fits.
    set.count_ones() as usize
}

/// The positions of the bits set in `set`, lowest first.
fn bits(set: usize) -> impl Iterator<Item = usize> {
    let mut rest = set;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let bit = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            bit
        })
    })
}

/// The product of `factors` for every subset (bit i = factor i), each multiplied in the order
/// the factors are given, as the engine folds them.
fn subset_products(factors: &[Decimal]) -> Vec<Decimal> {
    let mut out = vec![Decimal::ONE; 1 << factors.len()];
    for set in 1..out.len() {
        let last = usize::BITS - 1 - set.leading_zeros();
        let bit = 1 << last;
        out[set] = out[set ^ bit] * factors[last as usize];
    }
    out
}

/// The sum of `amounts` for every subset (bit i = amount i).
fn subset_sums<T: Copy + std::ops::Add<Output = T>>(amounts: &[T], zero: T) -> Vec<T> {
    let mut out = vec![zero; 1 << amounts.len()];
    for set in 1..out.len() {
        let low = set.trailing_zeros() as usize;
        out[set] = out[set & (set - 1)] + amounts[low];
    }
    out
}

/// `amount / 12` in cents, rounded half-up, exactly: the engine's pro-rating of an annual amount
/// x months to the term and its rounding of a coverage line, without a decimal division that
/// would stop at 28 digits. (Where that division is not exact it does not end in a 5 either, so
/// both round the same way.)
fn twelfth_in_cents(amount: Decimal) -> i128 {
    let year = i128::from(Term::Annual.months());
    let scale = amount.scale();
    if scale >= 2 {
        divide_half_up(amount.mantissa(), year * 10_i128.pow(scale - 2))
    } else {
        divide_half_up(amount.mantissa() * 10_i128.pow(2 - scale), year)
    }
}

/// The Shapley weights of sets of size 0..n without a given player, as whole numbers over the
/// returned denominator lcm(1, ..., n).
fn weights(n: usize) -> (Vec<i128>, NonZeroU64) {
    let players = n as u64;
    let lcm = (1..=players).fold(1_u64, |lcm, k| lcm / gcd(lcm, k) * k);
    let mut binomial = 1_u64; // C(n - 1, s)
    let mut weights = Vec::with_capacity(n);
    for s in 0..players {
        weights.push(i128::from(lcm / (players * binomial)));
        binomial = binomial * (players - 1 - s) / (s + 1);
    }
    (weights, NonZeroU64::new(lcm).unwrap_or(NonZeroU64::MIN))
}

fn gcd(mut x: u64, mut y: u64) -> u64 {
    while y != 0 {
        (x, y) = (y, x % y);
    }
    x
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;
    use time::macros::date;

    use super::*;
    use crate::domain::{PolicyType, State};
    use crate::rating::request::{
        Age, Construction, Count, CreditScore, Deductible, Driver, Limit, Mileage, Property,
        ProtectionClass, SafetyFeature, Value, Vehicle, Year, Years, ZipCode,
    };

    const TODAY: Date = date!(2026 - 11 - 28);

    fn tables() -> &'static RateTables {
        RateTables::builtin().unwrap()
    }

    #[allow(clippy::unnecessary_wraps, reason = "fills an optional request field")]
    fn limit(dollars: i64) -> Option<Limit> {
        Some(Limit::try_from(dollars).unwrap())
    }

    #[allow(clippy::unnecessary_wraps, reason = "fills an optional request field")]
    fn zip(code: &str) -> Option<ZipCode> {
        Some(ZipCode::try_from(code.to_owned()).unwrap())
    }

    #[allow(clippy::unnecessary_wraps, reason = "fills an optional request field")]
    fn score(value: i64) -> Option<CreditScore> {
        Some(CreditScore::try_from(value).unwrap())
    }

    fn count(n: i64) -> Count {
        Count::try_from(n).unwrap()
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

    fn tx_auto(liability: i64) -> RatingRequest {
        let mut request = RatingRequest::minimal(State::TX, PolicyType::Auto);
        request.coverage.liability = limit(liability);
        request
    }

    fn explained(request: &RatingRequest) -> (RateQuote<'static>, Explanation<'static>) {
        let quote = rate(tables(), request, TODAY).unwrap();
        let explanation = explain(&quote);
        (quote, explanation)
    }

    /// `(name, amount)` of every line.
    fn amounts(explanation: &Explanation<'_>) -> Vec<(String, String)> {
        explanation
            .lines
            .iter()
            .map(|l| (l.player.name().to_owned(), l.amount.to_string()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|&(name, amount)| (name.to_owned(), amount.to_owned()))
            .collect()
    }

    #[test]
    fn two_factors_and_a_discount_split_as_worked_by_hand() {
        // Given TX auto, 500k liability (500 x 1.70 = 850.00 a year), one claim (x1.10), a credit
        // score of 780 (x0.85) and the multi-policy discount (10%)
        let mut request = tx_auto(500_000);
        request.claims = Some(count(1));
        request.credit_score = score(780);
        request.discounts.multi_policy = true;

        // When the premium is explained
        let (quote, explanation) = explained(&request);

        // Then, with v the premium with only some players in (the 400.00 minimum never binds):
        //   v()                     = 850.00
        //   v(claims)               = 850 x 1.10               = 935.00
        //   v(credit)               = 850 x 0.85               = 722.50
        //   v(multi)                = 850 x 0.90               = 765.00
        //   v(claims, credit)       = 850 x 0.935              = 794.75
        //   v(claims, multi)        = 850 x 1.10 x 0.90        = 841.50
        //   v(credit, multi)        = 850 x 0.85 x 0.90        = 650.25
        //   v(all)                  = 850 x 0.935 x 0.90       = 715.275 -> 715.28
        // Shapley with three players: 1/3 of the effect on nobody, 1/6 on each one other player,
        // 1/3 on both others.
        //   claims: 85.00/3 + 72.25/6 + 76.50/6 + 65.03/3         =   74.80166...
        //   credit: -127.50/3 - 140.25/6 - 114.75/6 - 126.22/3    = -127.07333...
        //   multi:  -85.00/3 - 93.50/6 - 72.25/6 - 79.47/3        =  -82.44833...
        // They add up to 715.28 - 850.00 = -134.72. Rounded down to cents: 74.80, -127.08 and
        // -82.45 make -134.73; the missing cent goes to the largest remainder, credit's 0.67.
        assert_eq!(quote.premium.to_string(), "715.28");
        assert_eq!(explanation.base_premium.to_string(), "850.00");
        assert_eq!(explanation.premium, quote.premium);
        assert_eq!(
            amounts(&explanation),
            pairs(&[
                ("claims", "74.80"),
                ("credit_score", "-127.07"),
                ("multi_policy", "-82.45"),
            ])
        );
        assert!(explanation.adverse_action_reasons().is_empty());
    }

    #[test]
    fn the_minimum_premium_absorbs_part_of_what_two_credits_would_take_off() {
        // Given TX auto, 300k liability (510.00), credit 780 (x0.85) and multi-policy (10%)
        let mut request = tx_auto(300_000);
        request.credit_score = score(780);
        request.discounts.multi_policy = true;

        let (quote, explanation) = explained(&request);

        // Then v() = 510.00, v(credit) = 433.50, v(multi) = 459.00, and together
        // 510 x 0.85 x 0.90 = 390.15, which the 400.00 minimum lifts to 400.00. So
        //   credit: (433.50 - 510.00)/2 + (400.00 - 459.00)/2 = -67.75
        //   multi:  (459.00 - 510.00)/2 + (400.00 - 433.50)/2 = -42.25
        // and the 9.85 the floor gave back is shared between them.
        assert_eq!(quote.minimum_premium.adjustment.to_string(), "9.85");
        assert_eq!(explanation.base_premium.to_string(), "510.00");
        assert_eq!(explanation.premium.to_string(), "400.00");
        assert_eq!(
            amounts(&explanation),
            pairs(&[("credit_score", "-67.75"), ("multi_policy", "-42.25")])
        );
    }

    #[test]
    fn when_the_minimum_binds_whatever_the_players_do_nobody_moved_the_price() {
        // Given CA auto at 100k liability (180.00): far below the 500.00 minimum with any factors
        let mut request = RatingRequest::minimal(State::CA, PolicyType::Auto);
        request.coverage.liability = limit(100_000);
        let mut young = driver(22, 4);
        young.violations = count(1);
        request.drivers.push(young);
        request.credit_score = score(820);
        request.discounts.paperless = true;

        let (quote, explanation) = explained(&request);

        // Then base and premium are both the minimum and every line explains 0.00
        assert_eq!(quote.premium.to_string(), "500.00");
        assert_eq!(explanation.base_premium.to_string(), "500.00");
        assert_eq!(explanation.premium.to_string(), "500.00");
        assert_eq!(explanation.lines.len(), quote.factors.len() + 1);
        assert!(
            explanation
                .lines
                .iter()
                .all(|l| l.amount.to_string() == "0.00"),
            "{explanation:?}"
        );
    }

    #[test]
    fn the_briefs_request_is_all_base_premium_with_its_neutral_deductible_listed() {
        // Given the brief's body: CA auto, 500k liability and 50k collision, nothing else
        let mut request = RatingRequest::minimal(State::CA, PolicyType::Auto);
        request.coverage.liability = limit(500_000);
        request.coverage.collision = limit(50_000);

        let (_, explanation) = explained(&request);

        // Then the default 500 deductible (x1.00) is listed and explains nothing
        assert_eq!(
            serde_json::to_value(&explanation).unwrap(),
            serde_json::json!({
                "base_premium": "1500.00",
                "premium": "1500.00",
                "method": "shapley",
                "lines": [{"kind": "deductible", "name": "deductible", "amount": "0.00"}]
            })
        );
    }

    #[test]
    fn factors_at_exactly_one_are_listed_at_zero_and_every_kind_is_named() {
        // Given a 40-year-old licensed 20 years (age and experience x1.00, no violations x0.95),
        // a 1,000 collision deductible (x0.85), an earned safe-driver discount and a lapse
        let mut request = tx_auto(500_000);
        request.coverage.collision = limit(50_000);
        request.deductibles.collision = Some(Deductible::try_from(1000).unwrap());
        request.drivers.push(driver(40, 20));
        request.prior_coverage_lapse = true;

        let (quote, explanation) = explained(&request);

        let json = serde_json::to_value(&explanation).unwrap();
        let lines: Vec<_> = json["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["kind"].as_str().unwrap(),
                    l["name"].as_str().unwrap(),
                    l["amount"].as_str().unwrap() == "0.00",
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("factor", "driver_age", true),
                ("factor", "years_licensed", true),
                ("factor", "violations", false),
                ("factor", "at_fault_accidents", true),
                ("factor", "dui", true),
                ("discount", "safe_driver", false),
                ("surcharge", "coverage_lapse", false),
                ("deductible", "deductible", false),
            ]
        );
        let sum: Money = explanation.lines.iter().map(|l| l.amount).sum();
        assert_eq!(explanation.base_premium + sum, quote.premium);
        // A flat surcharge the floor never touches explains exactly its amount.
        assert_eq!(explanation.lines[6].amount.to_string(), "100.00");
    }

    #[test]
    fn credit_that_raised_the_price_brings_the_four_largest_raisers_as_reasons() {
        // Given TX auto with a poor credit score (x1.25), two claims (x1.25), Houston (x1.35), a
        // 250 collision deductible (x1.15) and a lapse surcharge: five players that raise the price
        let mut request = tx_auto(500_000);
        request.coverage.collision = limit(50_000);
        request.deductibles.collision = Some(Deductible::try_from(250).unwrap());
        request.credit_score = score(550);
        request.claims = Some(count(2));
        request.zip_code = zip("77005");
        request.prior_coverage_lapse = true;
        request.discounts.paperless = true;

        let quote = rate_explained(tables(), &request, TODAY).unwrap();
        let explanation = quote.explanation.as_ref().unwrap();

        let positive: Vec<_> = explanation
            .lines
            .iter()
            .filter(|l| l.amount > Money::ZERO)
            .map(|l| (l.player.name(), l.amount.to_string()))
            .collect();
        assert_eq!(positive.len(), 5, "{positive:?}");
        // Claims and credit act alike (both x1.25): the same amount to the cent, or the odd cent
        // to claims, listed first; either way claims comes first.
        let names: Vec<_> = quote
            .adverse_action_reasons
            .iter()
            .map(|p| p.name())
            .collect();
        assert_eq!(
            names,
            ["territory", "claims", "credit_score", "deductible"],
            "{positive:?}"
        );
        let json = serde_json::to_value(&quote).unwrap();
        assert_eq!(
            json["adverse_action_reasons"],
            serde_json::json!(["territory", "claims", "credit_score", "deductible"])
        );
    }

    #[test]
    fn credit_where_the_state_bans_it_explains_nothing_and_gives_no_reasons() {
        let mut request = RatingRequest::minimal(State::CA, PolicyType::Auto);
        request.coverage.liability = limit(500_000);
        request.credit_score = score(400);
        request.claims = Some(count(3));

        let quote = rate_explained(tables(), &request, TODAY).unwrap();
        let explanation = quote.explanation.as_ref().unwrap();

        let credit = explanation
            .lines
            .iter()
            .find(|l| l.player == Player::Factor(FactorName::CreditScore))
            .unwrap();
        assert_eq!(credit.amount.to_string(), "0.00");
        assert!(quote.adverse_action_reasons.is_empty());
        assert!(
            serde_json::to_value(&quote)
                .unwrap()
                .get("adverse_action_reasons")
                .is_none()
        );
    }

    #[test]
    fn rate_leaves_the_explanation_out_and_rate_explained_puts_it_in() {
        let request = tx_auto(500_000);
        let quote = rate(tables(), &request, TODAY).unwrap();
        assert!(quote.explanation.is_none());
        assert!(
            serde_json::to_value(&quote)
                .unwrap()
                .get("explanation")
                .is_none()
        );
        let explained = rate_explained(tables(), &request, TODAY).unwrap();
        assert_eq!(explained.explanation, Some(explain(&quote)));
        assert_eq!(
            RateQuote {
                explanation: None,
                ..explained
            },
            quote
        );
    }

    /// The premium with only the players in `set` (bits in listed order, null players included),
    /// worked out as the engine does it, step by step.
    fn reference_value(quote: &RateQuote<'_>, set: usize) -> Money {
        let common = &tables().commons()[0];
        let mut bit = 0;
        let mut next = || {
            bit += 1;
            set & (1 << (bit - 1)) != 0
        };
        let product =
            quote.factors.iter().fold(
                Decimal::ONE,
                |acc, f| if next() { acc * f.applied } else { acc },
            );
        let earned: Decimal = quote
            .discounts
            .applied
            .iter()
            .filter(|_| next())
            .map(|d| d.rate)
            .sum();
        let surcharges: Money = quote
            .surcharges
            .iter()
            .filter(|_| next())
            .map(|s| s.amount)
            .sum();
        let deductibles = quote.coverages.iter().any(|c| c.deductible.is_some()) && next();
        let combined = combined_factor(common, product);
        let keep = Decimal::ONE - earned.min(quote.discounts.cap);
        let months = Decimal::from(quote.term.months());
        let lines: Money = quote
            .coverages
            .iter()
            .map(|c| {
                let deductible = if deductibles {
                    c.deductible_factor
                } else {
                    Decimal::ONE
                };
                Money::round(c.base_premium * combined * deductible * keep * months / dec!(12))
            })
            .sum();
        (lines + surcharges).max(quote.minimum_premium.minimum)
    }

    /// Shapley values by the textbook formula over every player, null ones too: numerators over
    /// n! of each player's weighted marginal contributions.
    fn reference_amounts(quote: &RateQuote<'_>, players: usize) -> (Money, Money, Vec<Money>) {
        let values: Vec<i128> = (0..1 << players)
            .map(|set| reference_value(quote, set).cents())
            .collect();
        let factorial = |k: usize| (1..=k).map(|i| i as i128).product::<i128>();
        let numerators: Vec<i128> = (0..players)
            .map(|i| {
                (0..1_usize << players)
                    .filter(|set| set & (1 << i) == 0)
                    .map(|set| {
                        let size = set.count_ones() as usize;
                        factorial(size)
                            * factorial(players - 1 - size)
                            * (values[set | 1 << i] - values[set])
                    })
                    .sum()
            })
            .collect();
        let (base, premium) = (values[0], values[(1 << players) - 1]);
        let denominator = NonZeroU64::new(u64::try_from(factorial(players)).unwrap()).unwrap();
        let amounts = apportion(Money::from_cents(premium - base), &numerators, denominator);
        (Money::from_cents(base), Money::from_cents(premium), amounts)
    }

    fn agrees_with_the_textbook(request: &RatingRequest) {
        let (quote, explanation) = explained(request);
        let players = explanation.lines.len();
        assert!(
            players <= 14,
            "{players} players: too many to check by brute force"
        );
        let (base, premium, amounts) = reference_amounts(&quote, players);
        assert_eq!(explanation.base_premium, base);
        assert_eq!(explanation.premium, premium);
        assert_eq!(premium, quote.premium);
        let got: Vec<Money> = explanation.lines.iter().map(|l| l.amount).collect();
        assert_eq!(got, amounts, "{explanation:?}");
    }

    #[test]
    fn the_fast_game_agrees_with_the_textbook_formula_on_every_kind_of_player() {
        // Auto: young driver with a violation, claims, territory, credit, two discounts, a lapse
        // and a 1,000 deductible; two factors at exactly 1 are players of the textbook game too.
        let mut auto = tx_auto(250_000);
        auto.coverage.collision = limit(40_000);
        auto.deductibles.collision = Some(Deductible::try_from(1000).unwrap());
        let mut young = driver(22, 4);
        young.violations = count(1);
        auto.drivers.push(young);
        auto.claims = Some(count(1));
        auto.zip_code = zip("77005");
        auto.credit_score = score(620);
        auto.discounts.multi_policy = true;
        auto.discounts.paperless = true;
        auto.prior_coverage_lapse = true;
        auto.term = Term::Monthly;
        agrees_with_the_textbook(&auto);

        // Home: discounts over the cap (0.41 earned, 0.40 allowed), semi-annual
        let mut home = RatingRequest::minimal(State::TX, PolicyType::Home);
        home.coverage.dwelling = limit(200_000);
        home.coverage.personal_property = limit(50_000);
        home.coverage.liability = limit(100_000);
        home.deductibles.all_perils = Some(Deductible::try_from(500).unwrap());
        home.property = Some(Property {
            dwelling_value: Some(Value::try_from(200_000).unwrap()),
            construction: Some(Construction::Frame),
            year_built: Some(Year::try_from(1960).unwrap()),
            protection_class: Some(ProtectionClass::try_from(9).unwrap()),
        });
        home.zip_code = zip("77005");
        home.credit_score = score(700);
        home.discounts.multi_policy = true;
        home.discounts.military = true;
        home.discounts.paperless = true;
        home.discounts.paid_in_full = true;
        home.discounts.loyalty_years = Years::try_from(20).unwrap();
        home.term = Term::SemiAnnual;
        agrees_with_the_textbook(&home);

        // Clamped: the factors multiply to far above 10, a DUI brings the SR-22 filing.
        let mut risky = tx_auto(100_000);
        let mut worst = driver(16, 0);
        worst.violations = count(8);
        worst.at_fault_accidents = count(6);
        worst.dui = count(2);
        risky.drivers.push(worst);
        risky.claims = Some(count(3));
        risky.vehicle = Some(Vehicle {
            year: Year::try_from(2026).unwrap(),
            annual_mileage: Some(Mileage::try_from(30_000).unwrap()),
            safety_features: vec![SafetyFeature::Airbags],
            anti_theft: false,
            value: None,
        });
        risky.term = Term::Quarterly;
        let quote = rate(tables(), &risky, TODAY).unwrap();
        assert_eq!(quote.combined_factor, dec!(10));
        agrees_with_the_textbook(&risky);
    }

    proptest::proptest! {
        #[test]
        fn a_line_priced_in_whole_numbers_is_priced_as_the_engine_prices_it(
            annual in 0_i64..=1_000_000_000_000,
            annual_scale in 0_u32..=8,
            combined in 1_000_i64..=100_000,
            keep in 0_i64..=10_000,
            keep_scale in 2_u32..=4,
        ) {
            let annual = Decimal::new(annual, annual_scale);
            let combined = [Decimal::new(combined, 4)];
            let keep = [Decimal::new(keep, keep_scale).min(Decimal::ONE)];
            let multipliers = Multipliers::new(&combined, &keep);
            let engine = Money::round(annual * combined[0] * keep[0] / dec!(12)).cents();
            let line = LineRate::new(annual, &multipliers);
            let multiplier = multipliers.get(0, 0);
            proptest::prop_assert!(line.whole.is_some() && multiplier.whole.is_some());
            proptest::prop_assert_eq!(line.cents(&multipliers, multiplier), engine);
            let decimal_only = LineRate { whole: None, ..line };
            proptest::prop_assert_eq!(decimal_only.cents(&multipliers, multiplier), engine);
        }
    }

    #[test]
    fn players_are_named_as_the_breakdown_names_them() {
        for kind in [
            DiscountKind::MultiPolicy,
            DiscountKind::SafeDriver,
            DiscountKind::GoodStudent,
            DiscountKind::Military,
            DiscountKind::Paperless,
            DiscountKind::PaidInFull,
            DiscountKind::Loyalty,
        ] {
            assert_eq!(
                serde_json::to_value(Player::Discount(kind)).unwrap(),
                serde_json::to_value(kind).unwrap()
            );
        }
    }

    #[test]
    fn a_twelfth_rounds_half_up_to_the_cent_exactly() {
        for (amount, cents) in [
            (dec!(0.06), 1),       // 0.005 -> 0.01
            (dec!(0.059), 0),      // 0.0049166 -> 0.00
            (dec!(-0.06), -1),     // half away from zero
            (dec!(1234.5), 10288), // 102.875 -> 102.88
            (dec!(100), 833),      // 8.3333 -> 8.33
            (dec!(200), 1667),     // 16.6666 -> 16.67
            (dec!(7), 58),         // 0.58333 -> 0.58
        ] {
            assert_eq!(twelfth_in_cents(amount), cents, "{amount}");
            assert_eq!(
                Money::round(amount / dec!(12)).cents(),
                cents,
                "the engine's way, {amount}"
            );
        }
    }

    #[test]
    fn shapley_weights_are_whole_over_the_lcm_and_sum_to_one() {
        for n in 1..=26_u64 {
            let (weights, denominator) = weights(usize::try_from(n).unwrap());
            let lcm = i128::from(denominator.get());
            let mut binomial = 1_i128;
            let mut total = 0;
            for (s, weight) in (0_i128..).zip(&weights) {
                // W(s) x n x C(n - 1, s) = lcm exactly
                assert_eq!(weight * i128::from(n) * binomial, lcm, "n = {n}, s = {s}");
                total += weight * binomial;
                binomial = binomial * (i128::from(n) - 1 - s) / (s + 1);
            }
            // Over the C(n - 1, s) sets of each size s without a player, its weights add up to 1.
            assert_eq!(total, lcm, "n = {n}");
        }
    }
}
