//! What the simulated users do: the brief's mix and one closer to production, as weighted steps.

/// A load profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// The product brief: per six requests 3 list reads, 2 quotes, 1 rating.
    Brief,
    /// Quote complete applications and read them back, bind accepted quotes, rate, filtered
    /// lists, read policies.
    Production,
    /// The life of policies this run binds: endorse them, cancel some for non-payment and
    /// reinstate them, read their ledgers.
    Lifecycle,
}

impl Profile {
    /// Parses `brief` or `production`.
    pub fn parse(text: &str) -> Option<Profile> {
        match text {
            "brief" => Some(Profile::Brief),
            "production" => Some(Profile::Production),
            "lifecycle" => Some(Profile::Lifecycle),
            _ => None,
        }
    }

    /// Name on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Brief => "brief",
            Profile::Production => "production",
            Profile::Lifecycle => "lifecycle",
        }
    }

    /// The body this profile quotes and rates in `state`: the brief's as written (a quote of it is
    /// referred, having no drivers, vehicle or ZIP code), or in production a complete application,
    /// which underwriting can accept and so a user can bind.
    pub fn body(self, state: &str) -> String {
        match self {
            Profile::Brief => quote_body(state),
            Profile::Production | Profile::Lifecycle => application_body(state),
        }
    }

    /// The profile's steps with their weights.
    pub fn steps(self) -> &'static [(Step, u32)] {
        match self {
            Profile::Brief => &[
                (Step::ListFirstPage, 3),
                (Step::CreateQuote, 2),
                (Step::Rate, 1),
            ],
            Profile::Production => &[
                (Step::CreateQuote, 3),
                (Step::GetQuote, 2),
                (Step::Bind, 1),
                (Step::Rate, 2),
                (Step::ListFiltered, 4),
                (Step::GetPolicy, 3),
            ],
            Profile::Lifecycle => &[
                (Step::CreateQuote, 2),
                (Step::Bind, 2),
                (Step::Endorse, 4),
                (Step::Cancel, 1),
                (Step::Reinstate, 1),
                (Step::Ledger, 2),
            ],
        }
    }
}

/// One thing a user does; each is one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Step {
    /// `GET /api/v1/policies?limit=10`.
    ListFirstPage,
    /// `POST /api/v1/quotes`.
    CreateQuote,
    /// `POST /api/v1/rates/calculate`.
    Rate,
    /// `GET /api/v1/quotes/{quote_id}` of a quote this run created.
    GetQuote,
    /// `POST /api/v1/quotes/{quote_id}/bind` of an accepted quote this run created.
    Bind,
    /// `GET /api/v1/policies` with random filters.
    ListFiltered,
    /// `GET /api/v1/policies/{policy_number}` of a number seen on a list page.
    GetPolicy,
    /// `POST /api/v1/policies/{policy_number}/endorsements` of a policy this run bound.
    Endorse,
    /// `POST /api/v1/policies/{policy_number}/cancellation` (non-payment) of a policy this run
    /// bound.
    Cancel,
    /// `POST /api/v1/policies/{policy_number}/reinstatement` of a policy this run cancelled.
    Reinstate,
    /// `GET /api/v1/policies/{policy_number}/transactions` of a policy this run bound.
    Ledger,
}

impl Step {
    /// The route as reports name it.
    pub fn route(self) -> &'static str {
        match self {
            Step::ListFirstPage => "GET /api/v1/policies?limit=10",
            Step::CreateQuote => "POST /api/v1/quotes",
            Step::Rate => "POST /api/v1/rates/calculate",
            Step::GetQuote => "GET /api/v1/quotes/{quote_id}",
            Step::Bind => "POST /api/v1/quotes/{quote_id}/bind",
            Step::ListFiltered => "GET /api/v1/policies?<filters>",
            Step::GetPolicy => "GET /api/v1/policies/{policy_number}",
            Step::Endorse => "POST /api/v1/policies/{policy_number}/endorsements",
            Step::Cancel => "POST /api/v1/policies/{policy_number}/cancellation",
            Step::Reinstate => "POST /api/v1/policies/{policy_number}/reinstatement",
            Step::Ledger => "GET /api/v1/policies/{policy_number}/transactions",
        }
    }
}

/// The choice that `roll` (in `0..total weight`) lands on: each choice owns as many consecutive
/// rolls as its weight.
pub fn pick<T: Copy>(choices: &[(T, u32)], roll: u32) -> Option<T> {
    let mut rest = roll;
    for &(choice, weight) in choices {
        if rest < weight {
            return Some(choice);
        }
        rest -= weight;
    }
    None
}

/// Sum of the weights: rolls are drawn from `0..total_weight`.
pub fn total_weight<T>(choices: &[(T, u32)]) -> u32 {
    choices.iter().map(|(_, w)| w).sum()
}

/// The states the brief's quotes are spread over.
pub const BRIEF_STATES: [&str; 3] = ["CA", "NY", "TX"];

/// The brief's quote body for `state`.
pub fn quote_body(state: &str) -> String {
    format!(
        r#"{{"policy_type":"auto","state":"{state}","coverage_requested":{{"liability":500000,"collision":50000}}}}"#
    )
}

/// The brief's quote body for `state` as a complete application: a driver with a clean record, a
/// vehicle and a ZIP code in the state (left out for a state not in [`BRIEF_STATES`]).
pub fn application_body(state: &str) -> String {
    let zip = match state {
        "CA" => r#","zip_code":"95814""#,
        "NY" => r#","zip_code":"14201""#,
        "TX" => r#","zip_code":"78701""#,
        _ => "",
    };
    format!(
        r#"{{"policy_type":"auto","state":"{state}","coverage_requested":{{"liability":500000,"collision":50000}},"drivers":[{{"age":40,"years_licensed":22}}],"vehicle":{{"year":2022,"value":30000}}{zip}}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_roll_lands_on_a_choice_in_proportion_to_its_weight() {
        // Given the brief's weights
        let steps = Profile::Brief.steps();
        let total = total_weight(steps);
        // When every possible roll is drawn once
        let picked: Vec<Step> = (0..total).filter_map(|r| pick(steps, r)).collect();
        // Then each step is picked exactly its weight's times
        assert_eq!(total, 6);
        for &(step, weight) in steps {
            let times = picked.iter().filter(|&&s| s == step).count();
            assert_eq!(times, weight as usize, "{step:?}");
        }
    }

    #[test]
    fn a_roll_past_the_total_picks_nothing() {
        let steps = Profile::Production.steps();
        assert_eq!(pick(steps, total_weight(steps)), None);
        assert_eq!(pick::<Step>(&[], 0), None);
    }

    #[test]
    fn a_zero_weight_choice_is_never_picked() {
        let choices = [('a', 0), ('b', 2)];
        assert_eq!(pick(&choices, 0), Some('b'));
        assert_eq!(pick(&choices, 1), Some('b'));
    }

    #[test]
    fn bodies_are_json_with_the_state_and_production_sends_complete_applications() {
        let quote: serde_json::Value = serde_json::from_str(&Profile::Brief.body("TX")).unwrap();
        assert_eq!(quote["state"], "TX");
        assert_eq!(quote["coverage_requested"]["liability"], 500_000);
        assert!(quote.get("drivers").is_none());
        for state in BRIEF_STATES {
            let application: serde_json::Value =
                serde_json::from_str(&Profile::Production.body(state)).unwrap();
            assert_eq!(application["state"], state);
            assert_eq!(
                application["coverage_requested"],
                quote["coverage_requested"]
            );
            assert_eq!(application["drivers"][0]["age"], 40);
            assert_eq!(application["vehicle"]["year"], 2022);
            assert_eq!(application["zip_code"].as_str().map(str::len), Some(5));
        }
    }

    #[test]
    fn profiles_parse_from_their_names() {
        for profile in [Profile::Brief, Profile::Production, Profile::Lifecycle] {
            assert_eq!(Profile::parse(profile.as_str()), Some(profile));
        }
        assert_eq!(Profile::parse("other"), None);
    }
}
