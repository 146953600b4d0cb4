//! An endorsement's `changes` applied to the request a policy is rated on: a JSON merge patch
//! (RFC 7396) over the rating request's fields, so `{"coverage": {"collision": 100000}}` raises one
//! limit and keeps the others, `{"vehicle": {...}}` replaces the vehicle, and `null` removes an
//! optional field. What the policy is (state, product, term, first day) cannot be endorsed.

use serde_json::{Map, Value};

use crate::rating::RatingRequest;

/// The rating request's fields an endorsement may change.
pub const CHANGEABLE: &[&str] = &[
    "coverage",
    "deductibles",
    "drivers",
    "vehicle",
    "property",
    "claims",
    "credit_score",
    "zip_code",
    "discounts",
    "prior_coverage_lapse",
];

/// A change that cannot be applied, naming the field under `changes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct InvalidChange {
    /// The field, as `changes.<path>`.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// Checks that `changes` names only fields an endorsement may change, and at least one.
pub fn check_names(changes: &Map<String, Value>) -> Result<(), InvalidChange> {
    if changes.is_empty() {
        return Err(InvalidChange {
            field: "changes".to_owned(),
            detail: format!("name at least one of {}", CHANGEABLE.join(", ")),
        });
    }
    for name in changes.keys() {
        if !CHANGEABLE.contains(&name.as_str()) {
            let detail = if [
                "state",
                "policy_type",
                "term",
                "effective_date",
                "coverage_requested",
            ]
            .contains(&name.as_str())
            {
                format!("`{name}` cannot be endorsed; a different {name} is a new policy")
            } else {
                format!(
                    "unknown field `{name}`; an endorsement changes {}",
                    CHANGEABLE.join(", ")
                )
            };
            return Err(InvalidChange {
                field: format!("changes.{name}"),
                detail,
            });
        }
    }
    Ok(())
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (name, value) in patch {
                if value.is_null() {
                    target.remove(name);
                } else {
                    merge(target.entry(name.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// `stored` (a policy's rating request as canonical JSON) with `changes` merged in: the request to
/// rate, and its canonical JSON to keep.
pub fn apply(
    stored: &str,
    changes: &Map<String, Value>,
) -> Result<(RatingRequest, String), InvalidChange> {
    check_names(changes)?;
    let mut request: Value = serde_json::from_str(stored).map_err(|e| InvalidChange {
        field: "changes".to_owned(),
        detail: format!("the policy's stored request does not read: {e}"),
    })?;
    if let Value::Object(fields) = &mut request
        && let Some(coverage) = fields.remove("coverage_requested")
    {
        fields.insert("coverage".to_owned(), coverage);
    }
    merge(&mut request, &Value::Object(changes.clone()));
    let canonical = request.to_string();
    let rated = serde_path_to_error::deserialize::<_, RatingRequest>(&request).map_err(|err| {
        let path = err.path().to_string();
        let detail = err.into_inner().to_string();
        let field = if path == "." || path.is_empty() {
            detail
                .split('`')
                .nth(1)
                .map_or_else(|| "changes".to_owned(), |name| format!("changes.{name}"))
        } else {
            format!("changes.{path}")
        };
        InvalidChange { field, detail }
    })?;
    Ok((rated, canonical))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changes(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("{other}"),
        }
    }

    const STORED: &str = r#"{"coverage_requested":{"collision":50000,"liability":500000},"policy_type":"auto","state":"CA","vehicle":{"value":30000,"year":2020}}"#;

    #[test]
    fn a_change_merges_into_the_stored_request_field_by_field() {
        let (request, canonical) = apply(
            STORED,
            &changes(
                json!({"coverage": {"collision": 100_000}, "vehicle": null, "zip_code": "94105"}),
            ),
        )
        .unwrap();
        assert_eq!(
            canonical,
            r#"{"coverage":{"collision":100000,"liability":500000},"policy_type":"auto","state":"CA","zip_code":"94105"}"#
        );
        assert!(request.vehicle.is_none());
    }

    #[test]
    fn what_a_policy_is_cannot_be_endorsed_and_bad_values_are_named_under_changes() {
        for (patch, field) in [
            (json!({"state": "TX"}), "changes.state"),
            (json!({"term": "monthly"}), "changes.term"),
            (json!({"colour": "red"}), "changes.colour"),
            (json!({}), "changes"),
            (
                json!({"coverage": {"collision": "lots"}}),
                "changes.coverage.collision",
            ),
            (json!({"drivers": [{"age": 300}]}), "changes.drivers[0].age"),
        ] {
            let err = apply(STORED, &changes(patch.clone())).unwrap_err();
            assert_eq!(err.field, field, "{patch}: {err}");
        }
    }
}
