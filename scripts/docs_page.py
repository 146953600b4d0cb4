"""Builds the API docs page for `make docs`: one HTML file with Swagger UI and docs/openapi.yaml.

    python3 scripts/docs_page.py --spec docs/openapi.yaml --swagger-ui DIR --out target/docs/index.html

DIR is the unpacked npm package swagger-ui-dist. Its stylesheet, its bundle and the spec (as JSON)
go into the one file, so the page needs no network. The spec is the published one with four
additions for readers of the page:

- each operation's description ends with the scopes that admit it (from its `security`), since
  Swagger UI shows only a padlock for a bearer scheme, and with the statuses it answers as
  `application/problem+json`;
- each operation is tagged with its resource (`/api/v1/<resource>/...`), so the page groups them;
- the first server is the page's own origin (`/`): `make dev` serves the page beside a proxy to
  the API, so "Try it out" needs no CORS.
"""

import argparse
import base64
import datetime
import json
import os
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PROBLEM = "application/problem+json"
OWN_ORIGIN = {"url": "/", "description": "this page's server: make dev's docs server, which forwards to the API"}

# The Swagger UI options; the reasons are in docs/docs-page.md.
UI_OPTIONS = {
    "dom_id": "#swagger-ui",
    "deepLinking": True,
    "docExpansion": "list",
    "defaultModelsExpandDepth": 0,
    "displayOperationId": True,
    "displayRequestDuration": True,
    "filter": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    "tryItOutEnabled": False,
    "layout": "BaseLayout",
}


def operations(spec):
    """Every (path, method, operation) of the spec, in its order."""
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(spec, node):
    """The node a local `$ref` points at, or the node itself."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if ref is None:
        return node
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref}")
    target = spec
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return resolve(spec, target)


def scopes_line(spec, operation):
    requirements = operation.get("security", spec.get("security", []))
    if not requirements or {} in requirements:
        return "**Scopes:** none; public, no token needed."
    scopes = []
    for requirement in requirements:
        for scope in (s for listed in requirement.values() for s in listed):
            if scope not in scopes:
                scopes.append(scope)
    if not scopes:
        return "**Scopes:** none; any valid bearer token."
    listed = " or ".join(f"`{scope}`" for scope in scopes)
    return f"**Scopes:** {listed} (a bearer token with any one of them)."


def problems_line(spec, operation):
    statuses = [
        status
        for status, response in operation.get("responses", {}).items()
        if PROBLEM in resolve(spec, response).get("content", {})
    ]
    if not statuses:
        return None
    listed = ", ".join(f"`{status}`" for status in statuses)
    return f"**Problems** (`{PROBLEM}`, RFC 9457): {listed}."


def resource_tag(path):
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[0] == "api" and parts[1].startswith("v"):
        return parts[2]
    return parts[0] if parts else "api"


def for_the_page(spec):
    """The spec with the page's additions (see the module documentation)."""
    for path, _, operation in operations(spec):
        lines = [operation.get("description", "").rstrip(), scopes_line(spec, operation)]
        problems = problems_line(spec, operation)
        if problems:
            lines.append(problems)
        operation["description"] = "\n\n".join(line for line in lines if line)
        operation.setdefault("tags", [resource_tag(path)])
    spec["servers"] = [OWN_ORIGIN] + [s for s in spec.get("servers", []) if s.get("url") != "/"]
    return spec


def to_json(value):
    # YAML reads an unquoted date as a date; JSON has only the string.
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no JSON form")


def page(spec, css, bundle):
    title = spec.get("info", {}).get("title", "API")
    if "</style" in css.lower():
        raise ValueError("the stylesheet closes its own <style> element; it cannot be inlined as is")
    # `<` never appears in JSON outside strings, where \u003c reads the same, so the spec cannot end
    # its <script> element early. The bundle goes in as a data: URL, which needs no escaping at all.
    spec_json = json.dumps(spec, default=to_json, ensure_ascii=False).replace("<", "\\u003c")
    bundle_url = "data:text/javascript;base64," + base64.b64encode(bundle).decode("ascii")
    css = "\n".join(line for line in css.splitlines() if "sourceMappingURL=" not in line)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API</title>
<style>
{css}
body {{ margin: 0; }}
</style>
</head>
<body>
<div id="swagger-ui"></div>
<script id="openapi" type="application/json">{spec_json}</script>
<script src="{bundle_url}"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign({json.dumps(UI_OPTIONS)}, {{
  spec: JSON.parse(document.getElementById("openapi").textContent),
  presets: [SwaggerUIBundle.presets.apis],
}}));
</script>
</body>
</html>
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--swagger-ui", required=True, help="the unpacked swagger-ui-dist package")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    with open(args.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    with open(os.path.join(args.swagger_ui, "swagger-ui.css"), encoding="utf-8") as f:
        css = f.read()
    with open(os.path.join(args.swagger_ui, "swagger-ui-bundle.js"), "rb") as f:
        bundle = f.read()

    html = page(for_the_page(spec), css, bundle)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    # Written aside and renamed, so a page is whole or absent: make never sees half of one.
    with open(args.out + ".partial", "w", encoding="utf-8") as f:
        f.write(html)
    os.replace(args.out + ".partial", args.out)
    count = sum(1 for _ in operations(spec))
    print(f"docs: {args.out} ({count} operations, {len(html) // 1024} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
