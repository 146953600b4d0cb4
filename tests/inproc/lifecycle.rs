//! Concurrent changes to one policy against the real DynamoDB Local, with no `If-Match`: both read
//! the same version, one transaction is written, the other is refused by the version condition,
//! and the ledger and the policy agree on what was kept.

use policy_core::caller::Caller;
use policy_core::quoting::{Changed, Conditions, QuoteError};
use policy_core::rating::RatingRequest;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::support::quoting;

fn changes(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn two_endorsements_racing_on_one_version_write_one_and_refuse_the_other() {
    let quoting = quoting().await;
    let caller = Caller::new(e2e::unique("racer"), false);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    for round in 0..5 {
        // Given a bound policy
        let body = json!({"state": "TX", "policy_type": "auto", "zip_code": "78701",
                          "coverage": {"liability": 300_000, "collision": 40_000},
                          "drivers": [{"age": 35, "years_licensed": 15}],
                          "vehicle": {"year": 2021, "value": 25_000}});
        let request: RatingRequest = serde_json::from_value(body.clone()).unwrap();
        let made = quoting
            .create(request, body.to_string(), caller.id(), None, now)
            .await
            .unwrap();
        let policy = quoting
            .bind(&made.quote.quote_id, &caller, now)
            .await
            .unwrap();
        let number = policy.policy_number.as_str();
        let date = now.date() + time::Duration::days(10 + round);

        // When two endorsements of it run at once, neither naming a version
        let higher = changes(json!({"coverage": {"collision": 80_000}}));
        let moved = changes(json!({"zip_code": "77002"}));
        let (a, b) = tokio::join!(
            quoting.endorse(number, &caller, date, &higher, Conditions::default(), now),
            quoting.endorse(number, &caller, date, &moved, Conditions::default(), now),
        );

        // Then one is written and the other is refused as a conflict, not lost silently
        let (won, lost) = match (a, b) {
            (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
            (a, b) => panic!("round {round}: one winner expected: {a:?} / {b:?}"),
        };
        assert!(matches!(lost, QuoteError::PolicyChanged { .. }), "{lost:?}");
        let Changed::Applied {
            policy: after,
            transaction,
            ..
        } = won
        else {
            panic!("accepted, not referred: {won:?}")
        };
        assert_eq!((after.version, transaction.seq), (2, 2));

        // And the stored policy and ledger hold the winner's change, once
        let (stored, ledger) = quoting.policy_ledger(number, &caller).await.unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.total_premium, transaction.term_premium);
        assert_eq!(ledger.len(), 2, "{ledger:?}");
        assert_eq!(ledger[1], *transaction);
    }
}
