"""Browser test of the API docs page, run by `make test` against its fresh local stack.

    python3 scripts/docs_page_test.py --api http://127.0.0.1:PORT

Serves target/docs/index.html (built by `make docs`) with scripts/docs_server.py on a free port,
forwarding to the API, opens it in headless Chromium through Selenium and checks that:

- every operation of docs/openapi.yaml is on the page (method and path), listing any that is not;
- each operation, opened, shows its scopes, a request example when it takes a body, an example of
  its success response, and a row for every status it answers as application/problem+json;
- "Try it out" works through the page: GET /api/v1/health and POST /api/v1/rates/calculate (with
  the spec's `brief` example) are executed from the page and answer 200 with their fields.

A screenshot of the page after the calls is saved (target/docs/screenshot.png), also on failure.
"""

import argparse
import os
import shutil
import sys
import time

import yaml
from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

# The sibling scripts are imported, not installed: no __pycache__ is left beside them in the tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docs_page  # noqa: E402  (a sibling script: the spec is read as the page's build reads it)
import docs_server  # noqa: E402

PAGE_TIMEOUT = 60
# A call goes through the docs server to cargo lambda watch; the stack has built every function.
CALL_TIMEOUT = 120
# (method, path, the spec's request example to send or None, a field the 200 answer carries)
TRIED = [
    ("get", "/api/v1/health", None, "status"),
    ("post", "/api/v1/rates/calculate", "brief", "total_premium"),
]

# What the page shows of each operation, read in one pass in the browser.
READ_OPERATIONS = """
return Array.from(document.querySelectorAll('.opblock')).map(block => ({
  id: block.id,
  method: (block.querySelector('.opblock-summary-method') || {}).textContent || '',
  path: (block.querySelector('.opblock-summary-path') || {dataset: {}}).dataset.path || '',
}));
"""
READ_OPENED = """
const block = document.getElementById(arguments[0]);
const rows = Array.from(block.querySelectorAll('.responses-wrapper .responses-table:not(.live-responses-table) tr.response'));
return {
  description: (block.querySelector('.opblock-description-wrapper') || {}).textContent || '',
  requestExample: !!block.querySelector('.opblock-section-request-body .highlight-code, .opblock-section-request-body textarea'),
  responses: rows.map(row => ({
    code: row.dataset.code,
    mediaTypes: Array.from(row.querySelectorAll('.response-control-media-type select option')).map(o => o.value),
    example: !!row.querySelector('.highlight-code, .example'),
  })),
};
"""

READ_LIVE = """
const block = document.getElementById(arguments[0]);
const text = selector => ((block.querySelector(selector) || {}).textContent || '').trim();
return [
  text('.live-responses-table tr.response td.response-col_status'),
  text('.live-responses-table .response-col_description .highlight-code pre'),
  text('.request-url pre'),
];
"""


class Failures(list):
    def check(self, ok, message):
        if not ok:
            self.append(message)
        return ok


def spec_operations(spec):
    """{(METHOD, path): operation} for every operation of the spec."""
    return {(method.upper(), path): op for path, method, op in docs_page.operations(spec)}


def browser():
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if not chromium or not driver_path:
        sys.exit("docs page test: chromium and chromedriver are needed (make tools installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    # Both paths are given, so Selenium Manager has nothing to look up or download.
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


def open_operation(driver, block_id):
    block = driver.find_element(By.ID, block_id)
    if "is-open" not in block.get_attribute("class"):
        control = block.find_element(By.CSS_SELECTOR, ".opblock-summary-control")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", control)
        control.click()
    WebDriverWait(driver, PAGE_TIMEOUT).until(
        lambda d: d.find_element(By.ID, block_id).find_elements(By.CSS_SELECTOR, ".responses-table tr.response")
    )
    return driver.find_element(By.ID, block_id)


def check_operation(driver, failures, spec, key, operation, block_id):
    name = f"{key[0]} {key[1]}"
    open_operation(driver, block_id)
    shown = driver.execute_script(READ_OPENED, block_id)
    # The scopes line, as the build writes it, and each scope in it.
    expected_scopes = docs_page.scopes_line(spec, operation).replace("**", "").replace("`", "")
    failures.check(expected_scopes in " ".join(shown["description"].split()), f"{name}: no scopes line '{expected_scopes}'")
    if "requestBody" in operation:
        failures.check(shown["requestExample"], f"{name}: no request body example")
    rows = {row["code"]: row for row in shown["responses"]}
    successes = [str(code) for code in operation["responses"] if str(code).startswith("2")]
    for code in successes:
        failures.check(code in rows and rows[code]["example"], f"{name}: no example for its {code} response")
    for code, response in operation["responses"].items():
        if docs_page.PROBLEM in docs_page.resolve(spec, response).get("content", {}):
            row = rows.get(str(code))
            failures.check(
                row is not None and docs_page.PROBLEM in row["mediaTypes"] and row["example"],
                f"{name}: its {code} problem is not shown as {docs_page.PROBLEM} with an example",
            )


def try_operation(driver, failures, base, block_id, name, example, field):
    block = open_operation(driver, block_id)
    try_button = block.find_elements(By.CSS_SELECTOR, "button.try-out__btn")
    if try_button and try_button[0].text.strip() == "Try it out":
        try_button[0].click()
    if example is not None:
        choices = block.find_elements(By.CSS_SELECTOR, ".opblock-section-request-body .examples-select select")
        values = [option.get_attribute("value") for option in choices[0].find_elements(By.TAG_NAME, "option")] if choices else []
        if not failures.check(example in values, f"{name}: no request example {example!r} to choose (has {values})"):
            return
        Select(choices[0]).select_by_value(example)
    execute = WebDriverWait(driver, PAGE_TIMEOUT).until(
        lambda d: d.find_element(By.ID, block_id).find_element(By.CSS_SELECTOR, "button.execute")
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", execute)
    execute.click()
    status_cell = ".live-responses-table tr.response td.response-col_status"
    try:
        WebDriverWait(driver, CALL_TIMEOUT).until(
            lambda d: d.find_element(By.ID, block_id).find_elements(By.CSS_SELECTOR, status_cell)
        )
    except TimeoutException:
        failures.append(f"{name}: no live response on the page within {CALL_TIMEOUT}s of Execute")
        return
    status, body, url = driver.execute_script(READ_LIVE, block_id)
    # The screenshot is taken after the last call: it shows that call's URL, status and body.
    driver.execute_script(
        "document.getElementById(arguments[0]).querySelector('.request-url').scrollIntoView({block: 'start'});", block_id
    )
    print(f"docs page test: tried {name} from the page: {status} ({url})")
    failures.check(url.startswith(base + "/"), f"{name}: called {url}, not the page's own origin {base}")
    failures.check(status == "200", f"{name}: answered {status!r} on the page, not 200; body: {body[:500]}")
    failures.check(f'"{field}"' in body, f"{name}: the answer on the page has no {field!r}; body: {body[:500]}")


def run(driver, failures, spec, url, base):
    driver.get(url)
    try:
        WebDriverWait(driver, PAGE_TIMEOUT).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
    except TimeoutException:
        failures.append(f"no operation rendered within {PAGE_TIMEOUT}s at {url}")
        return
    errors = driver.find_elements(By.CSS_SELECTOR, ".swagger-ui .errors-wrapper")
    failures.check(not errors, "Swagger UI reports errors: " + " ".join(e.text for e in errors))

    expected = spec_operations(spec)
    # Swagger UI renders the operations in batches; wait until the count stops changing.
    blocks, previous, deadline = [], -1, time.monotonic() + PAGE_TIMEOUT
    while time.monotonic() < deadline:
        blocks = driver.execute_script(READ_OPERATIONS)
        if len(blocks) == previous and len(blocks) >= len(expected):
            break
        previous = len(blocks)
        time.sleep(0.2)
    on_page = {(b["method"].strip().upper(), b["path"]): b["id"] for b in blocks}
    missing = sorted(set(expected) - set(on_page))
    if not failures.check(not missing, "operations missing from the page: " + ", ".join(f"{m} {p}" for m, p in missing)):
        return
    print(f"docs page test: all {len(expected)} operations of the spec are on the page")

    before = len(failures)
    for key, operation in expected.items():
        check_operation(driver, failures, spec, key, operation, on_page[key])
    if len(failures) == before:
        print("docs page test: every operation shows its scopes, examples and problem responses")

    for method, path, example, field in TRIED:
        key = (method.upper(), path)
        failures.check(key in on_page, f"{method.upper()} {path}: not on the page, cannot try it")
        if key in on_page:
            try_operation(driver, failures, base, on_page[key], f"{method.upper()} {path}", example, field)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default=os.environ.get("API_URL"), help="the API's base URL (default: API_URL)")
    parser.add_argument("--page", default="target/docs/index.html")
    parser.add_argument("--spec", default="docs/openapi.yaml")
    parser.add_argument("--screenshot", default="target/docs/screenshot.png")
    args = parser.parse_args()
    if not args.api:
        parser.error("--api or API_URL is required")
    if not os.path.isfile(args.page):
        sys.exit(f"docs page test: {args.page} is missing; run make docs")
    with open(args.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)

    server = docs_server.serve_in_background(args.page, args.api)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    failures = Failures()
    driver = None
    try:
        driver = browser()
        run(driver, failures, spec, base + "/docs", base)
    except WebDriverException as error:
        failures.append(f"the browser failed: {error.msg or error}")
    finally:
        if driver is not None:
            try:
                os.makedirs(os.path.dirname(os.path.abspath(args.screenshot)), exist_ok=True)
                driver.save_screenshot(args.screenshot)
                print(f"docs page test: screenshot in {args.screenshot}")
            finally:
                driver.quit()
        server.shutdown()

    if failures:
        print(f"docs page test FAILED ({len(failures)}):", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        sys.exit(1)
    print("docs page test: passed")


if __name__ == "__main__":
    main()
