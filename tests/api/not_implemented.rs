use e2e::{post_json, send};
use serde_json::json;

#[test]
fn endpoints_of_later_releases_answer_501_problems() {
    let replies = [
        send("GET", "/api/v1/policies?state=CA", None, None),
        send("GET", "/api/v1/policies/POL-2026-000001", None, None),
        post_json(
            "/api/v1/quotes",
            &json!({"policy_type": "auto", "state": "CA"}),
        ),
        send("GET", "/api/v1/quotes/Q-2026-7K3M9P", None, None),
        post_json("/api/v1/quotes/Q-2026-7K3M9P/bind", &json!({})),
    ];
    for reply in &replies {
        assert_eq!(reply.status, 501, "{:#}", reply.json);
        assert_eq!(reply.content_type, "application/problem+json");
        assert_eq!(
            reply.json["type"],
            "urn:policy-decision:problem:not-implemented"
        );
        assert_eq!(
            reply.json["request_id"].as_str(),
            reply.request_id.as_deref()
        );
    }
}
