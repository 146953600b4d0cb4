//! Invariants of the rating engine over generated valid requests for every state and product.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code"
)]

use policy_core::domain::{CoverageKind, PolicyType, State, Term};
use policy_core::money::Money;
use policy_core::rating::request::{
    Age, Construction, Count, CreditScore, Deductible, Driver, Limit, Mileage, Property,
    ProtectionClass, SafetyFeature, Value, Vehicle, Year, Years, ZipCode,
};
use policy_core::rating::tables::Business;
use policy_core::rating::{
    FactorName, Player, RateQuote, RateTables, RatingRequest, rate, rate_explained, rate_with,
};
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 11 - 28);

fn tables() -> &'static RateTables {
    RateTables::builtin().expect("builtin tables parse")
}

/// A limit `share` thousandths of the way from the line's minimum to its maximum.
fn limit_within(min: u32, max: u32, share: u32) -> Limit {
    let span = u64::from(max - min) * u64::from(share) / 1000;
    Limit::try_from(i64::from(min) + i64::try_from(span).unwrap()).unwrap()
}

fn arb_driver() -> impl Strategy<Value = Driver> {
    (
        16i64..=90,
        0i64..=60,
        0i64..=4,
        0i64..=3,
        0i64..=2,
        any::<bool>(),
    )
        .prop_map(
            |(age, years, violations, accidents, dui, good_student)| Driver {
                age: Age::try_from(age).unwrap(),
                years_licensed: Years::try_from(years.min(age - 14)).unwrap(),
                violations: Count::try_from(violations).unwrap(),
                at_fault_accidents: Count::try_from(accidents).unwrap(),
                dui: Count::try_from(dui).unwrap(),
                good_student,
                license_suspended: false,
            },
        )
}

fn arb_request() -> impl Strategy<Value = RatingRequest> {
    arb_request_for(|_| true)
}

fn arb_request_for(product_filter: fn(PolicyType) -> bool) -> impl Strategy<Value = RatingRequest> {
    let products: Vec<(State, PolicyType)> = tables()
        .iter()
        .filter(|t| product_filter(t.policy_type))
        .map(|t| (t.state, t.policy_type))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    (
        select(products),
        prop::collection::vec((any::<bool>(), 0u32..=1000), CoverageKind::COUNT),
        prop::collection::vec(arb_driver(), 1..=3),
        prop::option::of((1990i64..=2027, 0i64..=40_000, any::<bool>())),
        prop::option::of((50_000i64..=3_000_000, 1900i64..=2026, 1i64..=10)),
        prop::option::of(300i64..=850),
        prop::option::of(0i64..=5),
        select(vec![
            Term::Annual,
            Term::SemiAnnual,
            Term::Quarterly,
            Term::Monthly,
        ]),
        (any::<[bool; 4]>(), 0i64..=30),
    )
        .prop_map(
            |(
                (state, product),
                lines,
                drivers,
                vehicle,
                property,
                credit,
                claims,
                term,
                discounts,
            )| {
                let table = tables().versions(state, product).first().unwrap();
                let mut request = RatingRequest::minimal(state, product);
                for (&kind, &(wanted, share)) in CoverageKind::ALL.iter().zip(&lines) {
                    if let Some(c) = table.coverage(kind)
                        && (wanted || c.required)
                    {
                        request
                            .coverage
                            .set(kind, Some(limit_within(c.min_limit, c.max_limit, share)));
                    }
                }
                if product.is_auto() {
                    request.drivers = drivers;
                    request.vehicle = vehicle.map(|(year, miles, anti_theft)| Vehicle {
                        year: Year::try_from(year).unwrap(),
                        annual_mileage: Some(Mileage::try_from(miles).unwrap()),
                        safety_features: Vec::new(),
                        anti_theft,
                        value: None,
                    });
                } else {
                    request.property = property.map(|(value, built, class)| Property {
                        dwelling_value: Some(Value::try_from(value).unwrap()),
                        construction: None,
                        year_built: Some(Year::try_from(built).unwrap()),
                        protection_class: Some(ProtectionClass::try_from(class).unwrap()),
                    });
                }
                request.credit_score = credit.map(|s| CreditScore::try_from(s).unwrap());
                request.claims = claims.map(|n| Count::try_from(n).unwrap());
                request.term = term;
                let [multi, paperless, paid, military] = discounts.0;
                request.discounts.multi_policy = multi;
                request.discounts.paperless = paperless;
                request.discounts.paid_in_full = paid;
                request.discounts.military = military;
                request.discounts.loyalty_years = Years::try_from(discounts.1).unwrap();
                request
            },
        )
}

/// A ZIP code in a rated territory of `state`.
fn zip_in(state: State) -> ZipCode {
    let code = match state {
        State::CA => "90012",
        State::TX => "77005",
        State::NY => "11201",
        State::FL => "33101",
        State::PA => "19103",
        State::IL => "60601",
        State::MI => "48201",
        other => panic!("no ZIP code known in {other}"),
    };
    ZipCode::try_from(code.to_owned()).unwrap()
}

/// [`arb_request`] with what it leaves out for the explanation's sake: a ZIP code, a coverage
/// lapse, safety features, construction and deductibles, so that every kind of player appears.
fn arb_explained_request() -> impl Strategy<Value = RatingRequest> {
    (
        arb_request(),
        any::<[bool; 3]>(),
        prop::collection::vec(
            select(vec![
                SafetyFeature::Airbags,
                SafetyFeature::AntiLockBrakes,
                SafetyFeature::BlindSpotMonitoring,
            ]),
            0..=3,
        ),
        prop::option::of(select(vec![
            Construction::Frame,
            Construction::Masonry,
            Construction::FireResistive,
        ])),
        prop::option::of(select(vec![0i64, 250, 500, 1000, 2500, 10_000])),
    )
        .prop_map(
            |(mut request, [zip, lapse, _], features, construction, deductible)| {
                if zip {
                    request.zip_code = Some(zip_in(request.state));
                }
                request.prior_coverage_lapse = lapse;
                if let Some(vehicle) = &mut request.vehicle {
                    vehicle.safety_features = features;
                }
                if let Some(property) = &mut request.property {
                    property.construction = construction;
                }
                let deductible = deductible.map(|d| Deductible::try_from(d).unwrap());
                if request.policy_type.is_auto() {
                    if request.coverage.collision.is_some() {
                        request.deductibles.collision = deductible;
                    }
                } else {
                    request.deductibles.all_perils = deductible;
                }
                request
            },
        )
}

fn rated(request: &RatingRequest) -> RateQuote<'static> {
    rate(tables(), request, TODAY).unwrap_or_else(|err| panic!("{err} for {request:?}"))
}

fn cents(amount: Decimal) -> bool {
    amount.scale() == 2
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        // Integration tests have no lib.rs beside them; keep regressions next to this file.
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_total_is_the_sum_of_the_rounded_lines(request in arb_request()) {
        let quote = rated(&request);
        let lines: Decimal = quote.coverages.iter().map(|c| c.premium.amount()).sum();
        let surcharges: Decimal = quote.surcharges.iter().map(|s| s.amount.amount()).sum();
        let fees: Decimal = quote.fees.iter().map(|f| f.amount.amount()).sum();
        let premium = lines + surcharges + quote.minimum_premium.adjustment.amount();
        prop_assert_eq!(quote.premium.amount(), premium);
        prop_assert_eq!(quote.total_premium.amount(), premium + quote.premium_tax.amount.amount() + fees);
        let i = quote.installments;
        prop_assert_eq!(i.first.amount() + i.each.amount() * Decimal::from(i.count - 1), quote.total_premium.amount());
        prop_assert!(quote.coverages.iter().all(|c| cents(c.premium.amount())));
        prop_assert!(cents(quote.total_premium.amount()) && cents(quote.premium_tax.amount.amount()));
        prop_assert!(quote.premium >= quote.minimum_premium.minimum);
    }

    #[test]
    fn discounts_never_exceed_the_cap(request in arb_request()) {
        let d = rated(&request).discounts;
        prop_assert!(d.total <= d.cap);
        prop_assert_eq!(d.total, d.earned.min(d.cap));
    }

    #[test]
    fn raising_a_limit_never_lowers_the_premium(request in arb_request(), pick in any::<prop::sample::Index>(), step in 1u32..=1_000_000) {
        let before = rated(&request);
        let bought: Vec<_> = request.coverage.iter().collect();
        let (kind, limit) = bought[pick.index(bought.len())];
        let max = tables().versions(request.state, request.policy_type).first().unwrap().coverage(kind).unwrap().max_limit;
        let mut raised = request.clone();
        raised.coverage.set(kind, Some(Limit::try_from(i64::from(limit.get().saturating_add(step).min(max))).unwrap()));
        prop_assert!(rated(&raised).total_premium >= before.total_premium);
    }

    #[test]
    fn a_violation_accident_or_dui_never_lowers_the_premium(request in arb_request_for(PolicyType::is_auto), which in 0usize..3) {
        let before = rated(&request);
        let mut worse = request.clone();
        let driver = &mut worse.drivers[0];
        let slot = match which { 0 => &mut driver.violations, 1 => &mut driver.at_fault_accidents, _ => &mut driver.dui };
        *slot = Count::try_from(i64::from(slot.get()) + 1).unwrap();
        prop_assert!(rated(&worse).total_premium >= before.total_premium);
    }
}

fn explained(request: &RatingRequest) -> RateQuote<'static> {
    rate_explained(tables(), request, TODAY).unwrap_or_else(|err| panic!("{err} for {request:?}"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(prop::test_runner::FileFailurePersistence::WithSource("regressions"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_explanation_adds_up_to_the_premium_to_the_cent(request in arb_explained_request()) {
        let quote = explained(&request);
        let explanation = quote.explanation.as_ref().unwrap();
        // The explanation's own premium is the engine's, recomputed player by player.
        prop_assert_eq!(explanation.premium, quote.premium);
        let sum: Money = explanation.lines.iter().map(|l| l.amount).sum();
        prop_assert_eq!(sum, quote.premium - explanation.base_premium);
        prop_assert_eq!(explanation.base_premium + sum, quote.premium);
        prop_assert!(explanation.lines.iter().all(|l| cents(l.amount.amount())));
        // Every factor, discount and surcharge of the breakdown is listed, in its order.
        let listed = quote.factors.len() + quote.discounts.applied.len() + quote.surcharges.len()
            + usize::from(quote.coverages.iter().any(|c| c.deductible.is_some()));
        prop_assert_eq!(explanation.lines.len(), listed);
    }

    #[test]
    fn the_base_premium_is_the_premium_of_the_bare_request(request in arb_explained_request()) {
        // The bare request keeps only what prices at base rates: the coverage, the term and the
        // start; every factor, discount and surcharge is gone, deductibles are the defaults.
        let mut bare = RatingRequest::minimal(request.state, request.policy_type);
        bare.coverage = request.coverage.clone();
        bare.term = request.term;
        bare.effective_date = request.effective_date;
        let bare = rated(&bare);
        prop_assume!(bare.coverages.iter().all(|c| c.deductible_factor == Decimal::ONE));
        let quote = explained(&request);
        prop_assert_eq!(quote.explanation.as_ref().unwrap().base_premium, bare.premium);
    }

    #[test]
    fn a_factor_applied_at_exactly_one_explains_nothing(request in arb_explained_request()) {
        let quote = explained(&request);
        let explanation = quote.explanation.as_ref().unwrap();
        for factor in quote.factors.iter().filter(|f| f.applied == Decimal::ONE) {
            let line = explanation.lines.iter().find(|l| l.player == Player::Factor(factor.name)).unwrap();
            prop_assert_eq!(line.amount, Money::ZERO, "{:?}", factor);
        }
    }

    #[test]
    fn where_credit_is_banned_it_explains_nothing_and_gives_no_reasons(
        request in arb_explained_request().prop_filter("a state that bans credit", |r| {
            !tables().versions(r.state, r.policy_type).first().unwrap().credit_allowed
        }),
        score in 300i64..=850,
    ) {
        let mut request = request;
        request.credit_score = Some(CreditScore::try_from(score).unwrap());
        let quote = explained(&request);
        let credit = quote.explanation.as_ref().unwrap().lines.iter()
            .find(|l| l.player == Player::Factor(FactorName::CreditScore))
            .unwrap();
        prop_assert_eq!(credit.amount, Money::ZERO);
        prop_assert!(quote.adverse_action_reasons.is_empty());
    }

    #[test]
    fn adverse_action_reasons_are_the_largest_raisers_when_credit_raised_the_price(request in arb_explained_request()) {
        let quote = explained(&request);
        let lines = &quote.explanation.as_ref().unwrap().lines;
        let amount = |player: Player<'_>| lines.iter().find(|l| l.player == player).map(|l| l.amount);
        let credit_raised = amount(Player::Factor(FactorName::CreditScore)).is_some_and(|a| a > Money::ZERO);
        let reasons = &quote.adverse_action_reasons;
        if credit_raised {
            let raisers = lines.iter().filter(|l| l.amount > Money::ZERO).count();
            prop_assert_eq!(reasons.len(), raisers.min(4));
            let amounts: Vec<Money> = reasons.iter().map(|&p| amount(p).unwrap()).collect();
            prop_assert!(amounts.windows(2).all(|w| w[0] >= w[1]), "{:?}", amounts);
            // Nothing left out raised the price more than the last reason.
            let last = *amounts.last().unwrap();
            prop_assert!(lines.iter().filter(|l| !reasons.contains(&l.player)).all(|l| l.amount <= last));
        } else {
            prop_assert!(reasons.is_empty());
        }
    }
}

#[test]
fn every_state_and_product_rates_its_minimal_valid_request() {
    let mut rated_tables = 0;
    for table in tables().iter() {
        let mut request = RatingRequest::minimal(table.state, table.policy_type);
        for kind in table.required_coverages() {
            let min = table.coverage(kind).unwrap().min_limit;
            request
                .coverage
                .set(kind, Some(Limit::try_from(i64::from(min)).unwrap()));
        }
        // Each version on the first day it rates new business.
        let on = table.effective.new_business;
        let set = tables()
            .in_force(table.state, table.policy_type, Business::NewBusiness, on)
            .unwrap();
        assert!(std::ptr::eq(set.table, table), "{}", set.identity.version);
        let quote = rate_with(set, &request, on).unwrap();
        assert!(
            quote.total_premium.amount() > Decimal::ZERO,
            "{}",
            quote.rate_table_version
        );
        rated_tables += 1;
    }
    // 21 markets, three of them with a second version.
    assert_eq!(rated_tables, 24);
}

/// Table files as `(path under rates/, text)`.
type Files = Vec<(String, String)>;

/// The files under `rates/`, read from disk: the common tables, then the state tables.
fn rate_files() -> (Files, Files) {
    fn walk(dir: &std::path::Path, prefix: &str, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            if path.is_dir() {
                walk(&path, &format!("{prefix}{name}/"), out);
            } else {
                out.push((
                    format!("{prefix}{name}"),
                    std::fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    let mut all = Vec::new();
    walk(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rates")),
        "",
        &mut all,
    );
    all.into_iter()
        .partition(|(name, _)| name.starts_with("common/"))
}

/// The version of `state` and `product` whose new-business window holds `date`, read off the
/// files' dates alone: the latest that took effect on or before it.
fn version_by_dates(state: State, product: PolicyType, date: Date) -> Option<String> {
    tables()
        .versions(state, product)
        .iter()
        .filter(|t| t.effective.new_business <= date)
        .max_by_key(|t| t.effective.new_business)
        .map(|t| t.label.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Rating on a day inside a version's window always rates with that version, and says so with
    /// the version and hash of the tables used.
    #[test]
    fn a_date_inside_a_versions_window_picks_that_version(
        mut request in arb_request(),
        days in 0i64..=1500,
        ahead in 0i64..=365,
    ) {
        let on = date!(2024 - 01 - 01) + time::Duration::days(days);
        request.effective_date = Some(on);
        let today = on - time::Duration::days(ahead);
        let label = version_by_dates(request.state, request.policy_type, on).unwrap();
        let quote = match rate(tables(), &request, today) {
            Ok(quote) => quote,
            // A vehicle or house newer than the date drawn: not this property's business.
            Err(e) if e.field().ends_with("year") || e.field().ends_with("year_built") => return Ok(()),
            Err(e) => panic!("{e} for {request:?}"),
        };
        let expected = format!("{}-{}-{label}/common-2026.11.0", request.state, request.policy_type);
        prop_assert_eq!(quote.rate_table_version, expected.as_str());
        let set = tables().by_version(&expected).unwrap();
        prop_assert_eq!(quote.rate_table_sha256, set.identity.sha256.as_str());
        // The same tables named by their version rate it to the same cent.
        let again = rate_with(set, &request, on).unwrap();
        prop_assert_eq!(again.total_premium, quote.total_premium);
    }

    /// A request dated before a market's second version rates identically with the tables as they
    /// were before the second version shipped and with the tables as they are now.
    #[test]
    fn a_second_version_leaves_earlier_dates_alone(
        mut request in arb_request(),
        back in 1i64..=400,
    ) {
        let (commons, states) = rate_files();
        let first_only: Vec<(&str, &str)> = states
            .iter()
            .filter(|(name, _)| name.ends_with("/2026.11.0.toml"))
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        prop_assume!(first_only.len() < states.len());
        let commons: Vec<(&str, &str)> = commons.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let before = RateTables::parse(&commons, &first_only).unwrap();
        let second = tables().versions(request.state, request.policy_type).get(1).map(|t| t.effective.new_business);
        let cutoff = second.unwrap_or(date!(2027 - 06 - 01));
        let on = cutoff - time::Duration::days(back);
        request.effective_date = Some(on);
        let then = rate(&before, &request, on);
        let now = rate(tables(), &request, on);
        let (then, now) = match (then, now) {
            (Ok(then), Ok(now)) => (then, now),
            (Err(a), Err(b)) => {
                prop_assert_eq!(a, b);
                return Ok(());
            }
            (then, now) => panic!("{then:?} against {now:?}"),
        };
        prop_assert_eq!(then.rate_table_version, now.rate_table_version);
        prop_assert_eq!(then.rate_table_sha256, now.rate_table_sha256);
        prop_assert_eq!(serde_json::to_string(&then).unwrap(), serde_json::to_string(&now).unwrap());
    }
}

#[test]
fn the_markets_with_a_second_version_change_price_on_its_date_and_not_before() {
    let mut changed = 0;
    for (state, product, zip) in [
        (State::CA, PolicyType::Auto, "90012"),
        (State::TX, PolicyType::Auto, "77002"),
        (State::FL, PolicyType::Home, "33901"),
    ] {
        let versions = tables().versions(state, product);
        assert_eq!(versions.len(), 2, "{state} {product}");
        let second = versions[1].effective.new_business;
        let mut request = RatingRequest::minimal(state, product);
        for kind in versions[0].required_coverages() {
            let min = versions[0].coverage(kind).unwrap().min_limit;
            request
                .coverage
                .set(kind, Some(Limit::try_from(i64::from(min) * 5).unwrap()));
        }
        request.zip_code = Some(ZipCode::try_from(zip.to_owned()).unwrap());
        request.claims = Some(Count::try_from(0).unwrap());
        let at = |date: Date| {
            let mut dated = request.clone();
            dated.effective_date = Some(date);
            rate(tables(), &dated, date).unwrap()
        };
        let (day_before, on_the_day) = (at(second - time::Duration::days(1)), at(second));
        assert!(day_before.rate_table_version.contains("2026.11.0"));
        assert!(on_the_day.rate_table_version.contains(&versions[1].label));
        assert_ne!(
            day_before.total_premium, on_the_day.total_premium,
            "{state} {product}"
        );
        // The new claims-free discount applies only from the second version on.
        let claims_free = |q: &RateQuote<'_>| {
            q.discounts
                .applied
                .iter()
                .any(|d| d.name == policy_core::rating::DiscountKind::ClaimsFree)
        };
        assert!(!claims_free(&day_before) && claims_free(&on_the_day));
        changed += 1;
    }
    assert_eq!(changed, 3);
}

#[test]
fn renewals_take_the_version_in_force_on_the_renewal_date() {
    let versions = tables().versions(State::CA, PolicyType::Auto);
    let (nb, renewal) = (
        versions[1].effective.new_business,
        versions[1].effective.renewal,
    );
    assert!(nb < renewal);
    let between = nb + time::Duration::days(1);
    let pick = |business| {
        tables()
            .in_force(State::CA, PolicyType::Auto, business, between)
            .unwrap()
            .table
            .label
            .clone()
    };
    assert_eq!(pick(Business::NewBusiness), versions[1].label);
    assert_eq!(pick(Business::Renewal), versions[0].label);
}
