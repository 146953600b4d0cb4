//! Any bytes as the body of `POST /api/v1/rates/calculate` (with an optional envelope line choosing
//! the method, content type and repetition): the handler answers 200 or a 4xx problem, never a 5xx
//! or a panic, and a batch answers each item with a rating or a 4xx problem.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_core::api::calculate_rate;
use policy_core::rating::RateTables;
use policy_decision_fuzz::{Envelope, check_answer, check_problem};
use time::{Date, Month};

fuzz_target!(|data: &[u8]| {
    let Ok(tables) = RateTables::builtin() else {
        panic!("the built-in rate tables do not load");
    };
    let Ok(today) = Date::from_calendar_date(2026, Month::November, 28) else {
        panic!("not a date");
    };
    let request = Envelope::read(data).request("/api/v1/rates/calculate", "x-fuzz");
    let body = check_answer(&calculate_rate::respond_to(tables, &request, today));
    if let Some(results) = body["results"].as_array() {
        for item in results {
            match item["status"].as_u64().and_then(|s| u16::try_from(s).ok()) {
                Some(200) => assert!(item["rate"].is_object(), "{item}"),
                Some(status @ 400..=499) => check_problem(&item["problem"], status),
                _ => panic!("batch item: {item}"),
            }
        }
    }
});
