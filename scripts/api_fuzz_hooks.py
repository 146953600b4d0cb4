"""Schemathesis hooks for `make api-fuzz`."""

import json

import schemathesis


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure except those cargo lambda watch causes itself, before any function runs.

    The emulator converts a request body to text for the Lambda event and, when the body is not
    UTF-8 under a text content type (JSON, or none), answers its own 500 instead: an
    http-api-problem document with type https://httpstatuses.com/500 and content type text/plain.
    In AWS such a body reaches the function base64-encoded, and the functions answer it 400
    `malformed-body` (events/*/not-utf8.json, tests/events.rs). Our own 500s are
    application/problem+json with a urn:policy-decision type and are never dropped.
    """
    return not emulator_rejected_body(response)


def emulator_rejected_body(response):
    body = response.request.body
    if body is None or response.status_code != 500:
        return False
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")
    try:
        body.decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    try:
        problem = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(problem, dict) and problem.get("type") == "https://httpstatuses.com/500"
