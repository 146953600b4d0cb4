//! Any bytes as a candidate rate table for `POST /api/v1/rates/impact`: as the TOML text of the
//! candidate (wrapped in the route's JSON body), or, when the input starts with `{` or an envelope
//! line, as the body itself. Everything the route does before it reads the book: the body, the
//! candidate parsed and validated exactly as a compiled table is. A refusal is a 4xx problem naming
//! a field (a key of the candidate as `candidate.<key>`); a candidate accepted is a table of a
//! market that is written, with a SHA-256 identity, and rates a request without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_core::api::impact;
use policy_core::rating::tables::{Business, TableSet};
use policy_core::rating::{RateTables, RatingRequest, written};
use policy_decision_fuzz::{Envelope, check_error};

fuzz_target!(|data: &[u8]| {
    let Ok(tables) = RateTables::builtin() else {
        panic!("the compiled tables do not parse");
    };
    let body;
    let raw = data.starts_with(b"{") || data.starts_with(b"@");
    let envelope = if raw {
        Envelope::read(data)
    } else {
        let candidate = String::from_utf8_lossy(data);
        body = serde_json::json!({ "candidate": candidate }).to_string();
        Envelope::read(body.as_bytes())
    };
    let request = envelope.request("/api/v1/rates/impact", "x-unused");
    match impact::read_candidate(&request, tables) {
        Ok(table) => {
            assert!(tables.writes(table.state, table.policy_type));
            let Ok(today) = time::Date::from_calendar_date(2026, time::Month::November, 30) else {
                panic!("2026-11-30 is a date");
            };
            let Some(current) =
                tables.in_force(table.state, table.policy_type, Business::Renewal, today)
            else {
                panic!("a written market has a table in force");
            };
            let set = TableSet::new(tables, &table, current.common_index());
            assert_eq!(set.identity.sha256.len(), 64);
            assert!(set.identity.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            // The smallest request of the market, with what the candidate requires added, rates
            // or is refused with a field; it never panics.
            let mut request = RatingRequest::minimal(table.state, table.policy_type);
            table.add_required_coverages(&mut request);
            if let Err(err) = written(set, &request, today) {
                assert!(!err.field().is_empty(), "{err}");
            }
        }
        Err(err) => {
            let problem = check_error(err);
            // A candidate at fault is named by its key; a raw body may be at fault anywhere.
            if !raw {
                let field = problem["errors"][0]["field"].as_str().unwrap_or_default();
                assert!(
                    field == "candidate" || field.starts_with("candidate."),
                    "{field}"
                );
            }
        }
    }
});
