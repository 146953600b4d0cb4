//! Any bytes as the body of `POST /api/v1/policies/{policy_number}/endorsements` (with an optional
//! envelope line choosing the method, content type, repetition and `Idempotency-Key`), through
//! everything an endorsement does before it touches storage: reading the request, then merging its
//! changes into a stored rating request and reading the result as a rating request. Every refusal
//! is a 4xx problem naming a field, and a refused change names one under `changes`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_core::api::quotes::IDEMPOTENCY_HEADER;
use policy_core::api::transactions;
use policy_core::lifecycle::changes::{self, CHANGEABLE};
use policy_decision_fuzz::{Envelope, check_error};

/// A policy's stored request, as a quote keeps it (canonical JSON, the quotes API's spelling).
const STORED: &str = r#"{"coverage_requested":{"collision":50000,"liability":500000},"drivers":[{"age":40,"years_licensed":22}],"policy_type":"auto","state":"CA","vehicle":{"value":30000,"year":2022},"zip_code":"95814"}"#;

fuzz_target!(|data: &[u8]| {
    let request = Envelope::read(data).request(
        "/api/v1/policies/POL-2026-0000000000/endorsements",
        IDEMPOTENCY_HEADER,
    );
    match transactions::read_endorsement(&request) {
        Ok(read) => {
            assert!(!read.changes.is_empty());
            assert!(
                read.changes
                    .keys()
                    .all(|k| CHANGEABLE.contains(&k.as_str()))
            );
            match changes::apply(STORED, &read.changes) {
                Ok((changed, canonical)) => {
                    // A valid request's fingerprint is the same however its body was spelled.
                    // (Only a valid one: a 60-digit number, refused when the request is read, has
                    // no stable spelling through a binary float.)
                    assert_eq!(
                        transactions::fingerprint("POL-2026-0000000000", read.json),
                        transactions::fingerprint(
                            "POL-2026-0000000000",
                            policy_core::api::quotes::canonical_json(read.json).as_bytes()
                        )
                    );
                    // What is kept reads back as what was rated.
                    let again: policy_core::rating::RatingRequest =
                        match serde_json::from_str(&canonical) {
                            Ok(again) => again,
                            Err(err) => panic!("the kept request {canonical} does not read: {err}"),
                        };
                    assert_eq!(again.state, changed.state);
                    assert_eq!(again.policy_type, changed.policy_type);
                }
                Err(err) => assert!(err.field.starts_with("changes"), "{err}"),
            }
        }
        Err(err) => {
            check_error(err);
        }
    }
});
