//! Any bytes as the body of `POST /api/v1/quotes/{quote_id}/decision` (with an optional envelope
//! line choosing the method, content type, repetition and `Idempotency-Key`), through everything a
//! decision does before it writes: reading the request, the verdict and the note. Every refusal is
//! a 4xx problem naming a field; what is accepted is exactly an outcome of `accepted` or
//! `declined` and a note of 1 to 2,000 characters that is not blank.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policy_core::api::quotes::{self, IDEMPOTENCY_HEADER, MAX_NOTE_CHARS};
use policy_decision_fuzz::{Envelope, check_error};

fuzz_target!(|data: &[u8]| {
    let request = Envelope::read(data).request(
        "/api/v1/quotes/Q-2026-0000000000/decision",
        IDEMPOTENCY_HEADER,
    );
    match quotes::read_decision(&request) {
        Ok(read) => {
            let chars = read.note.chars().count();
            assert!(
                (1..=MAX_NOTE_CHARS).contains(&chars) && !read.note.trim().is_empty(),
                "a note of {chars} characters was accepted"
            );
            // The fingerprint of what was accepted is the same however it was spelled.
            assert_eq!(
                quotes::fingerprint(read.json),
                quotes::fingerprint(quotes::canonical_json(read.json).as_bytes())
            );
        }
        Err(err) => {
            check_error(err);
        }
    }
});
