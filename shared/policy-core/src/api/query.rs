//! Query strings: every parameter known, each at most once.

use std::collections::HashMap;

use lambda_http::{Request, RequestExt};

use super::ApiError;

/// The query parameters of `request`, each one of `known` and each at most once; anything else is
/// a 422 naming the parameter (`query` for a parameter without a name, as in `?=x`).
pub fn single_params(
    request: &Request,
    known: &[&str],
) -> Result<HashMap<String, String>, ApiError> {
    let mut params = HashMap::new();
    for (name, value) in request.query_string_parameters().iter() {
        if !known.contains(&name) {
            let field = if name.is_empty() { "query" } else { name };
            return Err(ApiError::InvalidField {
                field: field.to_owned(),
                detail: format!("unknown query parameter; use {}", known.join(", ")),
            });
        }
        if params.insert(name.to_owned(), value.to_owned()).is_some() {
            return Err(ApiError::InvalidField {
                field: name.to_owned(),
                detail: "given more than once".to_owned(),
            });
        }
    }
    Ok(params)
}

/// Parameter `name` read as `T` is read from a JSON string (an enum by its wire name), if given;
/// a 422 naming it otherwise.
pub(crate) fn parse_with<T: serde::de::DeserializeOwned>(
    params: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    params
        .get(name)
        .map(|value| {
            serde_json::from_value(serde_json::Value::String(value.clone())).map_err(|e| {
                ApiError::InvalidField {
                    field: name.to_owned(),
                    detail: e.to_string(),
                }
            })
        })
        .transpose()
}

/// The page size in `limit`: `default` when absent, else a whole number from 1 to `max`.
pub(crate) fn page_limit(
    params: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    let Some(text) = params.get("limit") else {
        return Ok(default);
    };
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| ApiError::InvalidField {
            field: "limit".to_owned(),
            detail: format!("must be a whole number from 1 to {max}"),
        })
}

/// A request with the query parameters `pairs`, repeated names kept: for tests of readers.
#[cfg(test)]
pub(crate) fn with_query(pairs: &[(&str, &str)]) -> Request {
    let mut query: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in pairs {
        query
            .entry((*name).to_owned())
            .or_default()
            .push((*value).to_owned());
    }
    Request::new(lambda_http::Body::Empty).with_query_string_parameters(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(pairs: &[(&str, &str)]) -> String {
        match single_params(&with_query(pairs), &["deep", "limit"]) {
            Err(ApiError::InvalidField { field, .. }) => field,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn known_parameters_once_each_are_read() {
        let params = single_params(&with_query(&[("deep", "true")]), &["deep"]).unwrap();
        assert_eq!(params["deep"], "true");
    }

    #[test]
    fn a_page_size_is_a_whole_number_in_range_or_the_default() {
        let params = |v: &str| HashMap::from([("limit".to_owned(), v.to_owned())]);
        assert_eq!(page_limit(&HashMap::new(), 20, 100).unwrap(), 20);
        assert_eq!(page_limit(&params("100"), 20, 100).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", "1.5", ""] {
            assert!(page_limit(&params(bad), 20, 100).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_repeated_and_nameless_parameters_are_named() {
        assert_eq!(field(&[("verbose", "1")]), "verbose");
        assert_eq!(field(&[("limit", "1"), ("limit", "2")]), "limit");
        assert_eq!(field(&[("", "099")]), "query");
    }
}
