# policy-decision: the two commands are `make dev` and `make test`; `make help` lists the rest.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

include tools.versions

STACK := scripts/stack.sh
DEV_DIR := .stack/dev
TEST_DIR := .stack/test

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# Must stay phony: the tools/ folder (devtool, loadtest) has the same name, and make would
# otherwise take the folder for this target, always up to date, and never run its recipe.
.PHONY: tools
tools: ## Install what is missing or at another version than tools.versions pins: cargo-lambda, redis-server, Java, DynamoDB Local, cargo-nextest, cfn-lint, SAM CLI, moto, cargo-deny, cargo-fuzz, Selenium, Chromium
	@$(STACK) install
	@cfn-lint --version 2>/dev/null | grep -xF "cfn-lint $(CFN_LINT_VERSION)" >/dev/null || pip install -q "cfn-lint==$(CFN_LINT_VERSION)"
	@sam --version 2>/dev/null | grep -xF "SAM CLI, version $(SAM_CLI_VERSION)" >/dev/null || pip install -q "aws-sam-cli==$(SAM_CLI_VERSION)"
	@python3 -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null | grep -xF "$(MOTO_VERSION)" >/dev/null || pip install -q "moto[server]==$(MOTO_VERSION)"
	@cargo-deny --version 2>/dev/null | grep -xF "cargo-deny $(CARGO_DENY_VERSION)" >/dev/null || cargo install --locked cargo-deny --version $(CARGO_DENY_VERSION)
	@cargo-fuzz --version 2>/dev/null | grep -xF "cargo-fuzz $(CARGO_FUZZ_VERSION)" >/dev/null || cargo install --locked cargo-fuzz --version $(CARGO_FUZZ_VERSION)
	@python3 -c 'import importlib.metadata as m; print(m.version("selenium"))' 2>/dev/null | grep -xF "$(SELENIUM_VERSION)" >/dev/null || pip install -q "selenium==$(SELENIUM_VERSION)"
	@# Debian's chromium and chromium-driver come from one source package, so their versions match.
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		echo "installing chromium and chromium-driver (apt)"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

.PHONY: dev
dev: docs ## Serve every function on http://localhost:9000 with DynamoDB Local, Redis, the tables and seed data, and the API docs page on http://localhost:9001/docs (Ctrl-C stops all)
	@WATCH_RELOAD=1 DOCS_PAGE=$(DOCS_DIR)/index.html $(STACK) up $(DEV_DIR)
	@trap '$(STACK) down $(DEV_DIR)' EXIT; tail -n +1 -f $(DEV_DIR)/watch.log

# The API docs page: Swagger UI (npm swagger-ui-dist) with docs/openapi.yaml, in one HTML file that
# needs no network. `make dev` serves it on DOCS_PORT beside a proxy to the API (scripts/docs_server.py).
DOCS_DIR := target/docs
SWAGGER_UI := $(DOCS_DIR)/swagger-ui-dist-$(SWAGGER_UI_VERSION)

.PHONY: docs
docs: $(DOCS_DIR)/index.html ## The API docs page, to read and try the API: target/docs/index.html (make dev serves it)

# PyYAML is order-only: checked on every run, while only the page's own inputs make the page stale.
$(DOCS_DIR)/index.html: docs/openapi.yaml scripts/docs_page.py $(SWAGGER_UI)/package.json | pyyaml
	python3 scripts/docs_page.py --spec docs/openapi.yaml --swagger-ui $(SWAGGER_UI) --out $@

# npm pack fetches the package without installing it (nor its dependencies and their scripts).
$(SWAGGER_UI)/package.json:
	@rm -rf $(SWAGGER_UI) $(SWAGGER_UI).partial && mkdir -p $(SWAGGER_UI).partial
	cd $(SWAGGER_UI).partial && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
		tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz --strip-components=1 && rm swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz
	@mv $(SWAGGER_UI).partial $(SWAGGER_UI)

.PHONY: pyyaml
pyyaml:
	@python3 -c 'import importlib.metadata as m; print(m.version("PyYAML"))' 2>/dev/null | grep -xF "$(PYYAML_VERSION)" >/dev/null || pip install -q "PyYAML==$(PYYAML_VERSION)"

.PHONY: seed
seed: ## (Re)write the seed policies into the running `make dev` stack: SEED_COUNT=10000 by default
	@test -f $(DEV_DIR)/env || { echo "start the stack with 'make dev' first"; exit 1; }
	@set -a; source $(DEV_DIR)/env; set +a; cargo run --quiet --locked -p devtool -- seed --count $${SEED_COUNT} --stage local

.PHONY: dev-down
dev-down: ## Stop a `make dev` stack left running
	@$(STACK) down $(DEV_DIR)

.PHONY: lint
lint: ## rustfmt check and clippy with warnings as errors (the workspace, the core without its aws feature, the fuzz crate)
	cargo fmt --all --check
	cargo fmt --manifest-path fuzz/Cargo.toml --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p policy-core --no-default-features --all-targets --locked -- -D warnings
	cargo clippy --manifest-path fuzz/Cargo.toml --all-targets --locked -- -D warnings

.PHONY: validate
validate: tools ## cfn-lint and sam validate the SAM template (offline)
	cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 sam validate --lint --template template.yaml

.PHONY: deny
# Advisories: against the offline snapshot of the RustSec database in ../shared/advisory-db when it
# is there (cloned into the directory cargo-deny reads for the default database), else the live one.
ADVISORY_BUNDLE := ../shared/advisory-db/rustsec-advisory-db.bundle
ADVISORY_DB := $(or $(CARGO_HOME),$(HOME)/.cargo)/advisory-dbs/advisory-db-3157b0e258782691
deny: tools ## cargo deny: licenses, bans, sources, and advisories for Cargo.lock and fuzz/Cargo.lock
	cargo deny --locked check licenses bans sources
	@if [ -f $(ADVISORY_BUNDLE) ]; then \
		rm -rf $(ADVISORY_DB) && mkdir -p $(dir $(ADVISORY_DB)) && \
		git -c init.defaultBranch=main clone -q $(ADVISORY_BUNDLE) $(ADVISORY_DB) && \
		echo "deny: advisories from the offline snapshot, $$(git -C $(ADVISORY_DB) log -1 --format=%cs)"; \
		offline=--offline; \
	else offline=; fi; \
	cargo deny --locked $$offline check advisories && \
	cargo deny --locked $$offline --manifest-path fuzz/Cargo.toml check advisories

.PHONY: test
# A test run builds once: incremental state would only add gigabytes to the target directory.
test: export CARGO_INCREMENTAL := 0
test: tools lint validate deny fuzz-smoke docs ## Everything CI runs: lint, template check, a short fuzz run, unit and property tests, smoke and end-to-end tests on a fresh local stack, the API docs page in a browser
	cargo build --workspace --all-targets --locked
	@API_PORT=auto DYNAMODB_PORT=auto REDIS_PORT=auto XRAY_DAEMON_PORT=auto SEED_COUNT=2000 $(STACK) up $(TEST_DIR)
	@trap '$(STACK) down $(TEST_DIR)' EXIT; set -a; source $(TEST_DIR)/env; set +a; \
		cargo run --quiet --locked -p devtool -- smoke --base-url "$$API_URL" && \
		cargo nextest run --workspace --locked --no-fail-fast && \
		python3 scripts/docs_page_test.py --api "$$API_URL" --page $(DOCS_DIR)/index.html --screenshot $(DOCS_DIR)/screenshot.png

# `make api-fuzz`: schemathesis against docs/openapi.yaml and a fresh local stack. Bounded: the
# fuzzing phase generates at most API_FUZZ_EXAMPLES cases per operation, and the run is stopped
# after API_FUZZ_TIMEOUT seconds. API_FUZZ_SEED repeats a run (its seed is printed at the end).
# The JUnit report, the cassette of every request and response, and Schemathesis' and Hypothesis'
# caches go in API_FUZZ_DIR (the cache directory is also named in scripts/api-fuzz.toml).
API_FUZZ_DIR := .stack/api-fuzz
API_FUZZ_EXAMPLES ?= 100
API_FUZZ_TIMEOUT ?= 600
API_FUZZ_SEED ?=

.PHONY: api-fuzz
api-fuzz: ## schemathesis against docs/openapi.yaml on a fresh local stack: [API_FUZZ_EXAMPLES=100] [API_FUZZ_SEED=n] [API_FUZZ_TIMEOUT=600]
	@st --version 2>/dev/null | grep -qF " $(SCHEMATHESIS_VERSION)" || pip install -q "schemathesis==$(SCHEMATHESIS_VERSION)"
	@API_PORT=auto DYNAMODB_PORT=auto REDIS_PORT=auto SEED_COUNT=200 $(STACK) up $(API_FUZZ_DIR)
	@trap '$(STACK) down $(API_FUZZ_DIR)' EXIT; set -a; source $(API_FUZZ_DIR)/env; set +a; \
		SCHEMATHESIS_HOOKS=scripts/api_fuzz_hooks.py HYPOTHESIS_STORAGE_DIRECTORY=$(API_FUZZ_DIR)/hypothesis \
		timeout --foreground $(API_FUZZ_TIMEOUT) \
		st --config-file scripts/api-fuzz.toml run docs/openapi.yaml --url "$$API_URL" \
			--max-examples $(API_FUZZ_EXAMPLES) $(if $(API_FUZZ_SEED),--seed $(API_FUZZ_SEED)) \
			--report junit,vcr --report-junit-path $(API_FUZZ_DIR)/junit.xml \
			--report-vcr-path $(API_FUZZ_DIR)/cassette.yaml

# Fuzzing: fuzz/ is a cargo fuzz crate in its own workspace with its own lock file; scripts/fuzz.sh
# builds its targets, runs each for the given seconds and fails on a crash. No sanitizer by
# default: our crates forbid unsafe code, and without one cargo fuzz needs no -Z flag, so the stable
# toolchain builds the targets as they are. AddressSanitizer works on stable too, through
# RUSTC_BOOTSTRAP=1 (FUZZ_SANITIZER=address), but ran 7 times fewer executions per second here.
FUZZ_SMOKE_TIME ?= 20
FUZZ_TIME ?= 300

.PHONY: fuzz-smoke
fuzz-smoke: tools ## Every fuzz target for FUZZ_SMOKE_TIME=20 seconds (part of make test)
	scripts/fuzz.sh $(FUZZ_SMOKE_TIME)

.PHONY: fuzz
fuzz: tools ## Every fuzz target for FUZZ_TIME=300 seconds, with a summary of executions and crashes [FUZZ_SANITIZER=address]
	scripts/fuzz.sh $(FUZZ_TIME)

.PHONY: smoke
smoke: ## Black-box check of a running deployment: make smoke BASE_URL=https://... [TOKEN=...]
	@test -n "$(BASE_URL)" || { echo "usage: make smoke BASE_URL=http://localhost:9000 [TOKEN=bearer-token]"; exit 2; }
	@cargo run --quiet --locked -p devtool -- smoke --base-url "$(BASE_URL)" $(if $(TOKEN),--token "$(TOKEN)")

.PHONY: impact
impact: ## A candidate rate table tried on a deployment's book, as a terminal chart: make impact CANDIDATE=file.toml [BASE_URL=http://localhost:9000] [TOKEN=...]
	@test -n "$(CANDIDATE)" || { echo "usage: make impact CANDIDATE=my-ca-auto.toml [BASE_URL=http://localhost:9000] [TOKEN=bearer-token]"; exit 2; }
	@cargo run --quiet --locked -p devtool -- impact --base-url "$(or $(BASE_URL),http://localhost:9000)" --candidate "$(CANDIDATE)" $(if $(TOKEN),--token "$(TOKEN)")

.PHONY: bench
bench: ## Criterion benchmarks of the rating engine, the calculate-rate handler and the book re-rate
	cargo bench --locked -p policy-core --bench rating --bench allocations

# Load and cold-start runs: bounded, they stop by themselves. Defaults for `make load`.
USERS ?= 32
DURATION ?= 30
PROFILE ?= brief
RUNS ?= 5

.PHONY: load
load: ## The brief's load mix against the `make dev` stack: [PROFILE=brief|production|lifecycle] [USERS=32] [DURATION=30] [RATE=req/s]
	@test -f $(DEV_DIR)/env || { echo "start the stack with 'make dev' first"; exit 1; }
	@set -a; source $(DEV_DIR)/env; set +a; \
		curl -sf -X POST "$$API_URL/2015-03-31/functions/warm-cache/invocations" -d @events/warm-cache/scheduled.json && echo; \
		cargo build --quiet --release --locked --bin loadtest && \
		target/release/loadtest run --base-url "$$API_URL" --profile $(PROFILE) \
			--users $(USERS) --duration $(DURATION) $(if $(RATE),--rate $(RATE)) --log "$$STACK_LOG" --out target/load/$(PROFILE)

.PHONY: coldstart
coldstart: ## Cold start of each release function binary against the `make dev` stack's DynamoDB Local and Redis: [RUNS=5]
	@test -f $(DEV_DIR)/env || { echo "start the stack with 'make dev' first"; exit 1; }
	@# One function at a time, as `cargo lambda watch --release` builds them, so its binaries are reused.
	@for fn in $(notdir $(wildcard functions/*)); do cargo build --quiet --release --locked --bin $$fn; done
	cargo build --quiet --release --locked --bin loadtest
	target/release/loadtest coldstart --env $(DEV_DIR)/env --runs $(RUNS) --out target/load

.PHONY: environment
environment: ## One environment taking N requests at once (AWS_LAMBDA_MAX_CONCURRENCY=N): calculate-rate and create-quote at N=1,8,32 against the `make dev` stack's data: [ENV_DURATION=10]
	@test -f $(DEV_DIR)/env || { echo "start the stack with 'make dev' first"; exit 1; }
	cargo build --quiet --release --locked --bin loadtest --bin calculate-rate --bin create-quote
	target/release/loadtest environment --env $(DEV_DIR)/env --function calculate-rate --event brief --duration $(or $(ENV_DURATION),10) --out target/load
	target/release/loadtest environment --env $(DEV_DIR)/env --function create-quote --event create --duration $(or $(ENV_DURATION),10) --out target/load

.PHONY: profile
profile: ## perf profile of one function's process under load (one environment, N=1): FUNCTION=calculate-rate EVENT=brief; report in target/load/perf-<function>.txt
	@test -f $(DEV_DIR)/env || { echo "start the stack with 'make dev' first"; exit 1; }
	@command -v perf >/dev/null || { echo "installing perf (apt)"; apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }
	cargo build --quiet --release --locked --bin loadtest
	cargo build --quiet --profile profiling --locked --bin $(or $(FUNCTION),calculate-rate)
	perf record -F 999 -g -o target/load/perf-$(or $(FUNCTION),calculate-rate).data -- \
		target/release/loadtest environment --env $(DEV_DIR)/env --build profiling --function $(or $(FUNCTION),calculate-rate) \
		--event $(or $(EVENT),brief) --concurrency 1 --duration 10 --out target/load/profile
	perf report -i target/load/perf-$(or $(FUNCTION),calculate-rate).data --comm $(or $(FUNCTION),calculate-rate) \
		--no-children --sort dso,symbol --percent-limit 0.7 --stdio -g none \
		> target/load/perf-$(or $(FUNCTION),calculate-rate).txt 2>/dev/null
	@head -60 target/load/perf-$(or $(FUNCTION),calculate-rate).txt

BENCH_STACK := .stack/benchmarks
CONCURRENCY ?= 2

.PHONY: benchmarks
benchmarks: ## Regenerate BENCHMARKS.md: make bench, make build (zip sizes), a 10 s warm-up, the three load profiles each with its in-process ceiling and an open-loop run at 80% of it, cold starts and one environment at N=1,8,32 on a release stack it starts and stops
	@mkdir -p target/load
	$(MAKE) build
	cargo bench --locked -p policy-core --bench rating --bench allocations 2>&1 | tee target/load/bench.txt
	cargo build --release --locked --bin loadtest $(patsubst functions/%,--bin %,$(wildcard functions/*))
	@# The same functions with aws-lc built without its CPU jitter entropy source, for the cold-start comparison.
	AWS_LC_SYS_NO_JITTER_ENTROPY=1 CARGO_TARGET_DIR=target/nojitter cargo build --release --locked \
		$(patsubst functions/%,--bin %,$(wildcard functions/*))
	@REDIS_TLS=1 WATCH_ARGS="--release --concurrency $(CONCURRENCY)" API_PORT=auto DYNAMODB_PORT=auto REDIS_PORT=auto $(STACK) up $(BENCH_STACK)
	@trap '$(STACK) down $(BENCH_STACK)' EXIT; set -a; source $(BENCH_STACK)/env; set +a; \
		curl -sf -X POST "$$API_URL/2015-03-31/functions/warm-cache/invocations" -d @events/warm-cache/scheduled.json && echo; \
		target/release/loadtest run --base-url "$$API_URL" --profile brief --users $(USERS) --duration 10 --out target/load/warmup >/dev/null; \
		for profile in brief production lifecycle; do \
			target/release/loadtest run --base-url "$$API_URL" --profile $$profile --users $(USERS) --duration $(DURATION) \
				--log "$$STACK_LOG" --out target/load/$$profile; \
			target/release/loadtest run --in-process $(BENCH_STACK)/env --profile $$profile --users $(USERS) --duration 15 \
				--out target/load/ceiling-$$profile; \
			rate=$$(python3 -c 'import json, sys; print(max(1, int(0.8 * json.load(open(sys.argv[1]))["overall"]["throughput"])))' \
				target/load/ceiling-$$profile/report.json); \
			target/release/loadtest run --base-url "$$API_URL" --profile $$profile --users $(USERS) --rate $$rate --duration $(DURATION) \
				--log "$$STACK_LOG" --out target/load/$$profile-at-80; \
		done; \
		target/release/loadtest coldstart --env $(BENCH_STACK)/env --runs $(RUNS) --out target/load; \
		target/release/loadtest coldstart --env $(BENCH_STACK)/env --runs $(RUNS) --bin-dir target/nojitter/release \
			--out target/load/nojitter; \
		target/release/loadtest environment --env $(BENCH_STACK)/env --function calculate-rate --event brief --duration 10 --out target/load; \
		target/release/loadtest environment --env $(BENCH_STACK)/env --function create-quote --event create --duration 10 --out target/load; \
		target/release/loadtest benchmarks --dir target/load --notes scripts/where-the-time-goes.md \
			--setup "release builds behind cargo lambda watch --concurrency $(CONCURRENCY), DynamoDB Local with $$SEED_COUNT policies, redis-server over TLS only (as ElastiCache Serverless), all on this machine" \
			--out BENCHMARKS.md

.PHONY: build
build: ## Release arm64 Lambda zips in target/lambda/<function>/bootstrap.zip (cross-compiled with Zig)
	@# What building needs and nothing else (no test tools, no apt): deployers need not be on Debian.
	@pip show cargo-lambda 2>/dev/null | grep -xF "Version: $(CARGO_LAMBDA_VERSION)" >/dev/null || pip install -q "cargo-lambda==$(CARGO_LAMBDA_VERSION)"
	@rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	@python3 -c 'import importlib.metadata as m; print(m.version("ziglang"))' 2>/dev/null | grep -xF "$(ZIGLANG_VERSION)" >/dev/null || pip install -q "ziglang==$(ZIGLANG_VERSION)"
	@# aws-lc without its CPU jitter entropy source (the kernel's getrandom seeds it): the first TLS
	@# handshake at init, to Redis, takes 5 ms instead of 40-55 (BENCHMARKS.md, cold start).
	AWS_LC_SYS_NO_JITTER_ENTROPY=1 cargo lambda build --release --arm64 --output-format zip --locked \
		$(patsubst functions/%,--package %,$(wildcard functions/*))
	@for fn in $(notdir $(wildcard functions/*)); do \
		printf '  %-22s %8s bytes zipped\n' $$fn $$(stat -c %s target/lambda/$$fn/bootstrap.zip); done

# `sam build` packs each function through the rule below (the template's BuildMethod: makefile, built
# in source): the artifact is `make build`'s binary (the one in its zip), so what is deployed is exactly what was built
# from Cargo.lock. The logical id names the function: CalculateRateFunction is calculate-rate.
build-%Function:
	@fn=$$(printf '%s' '$*' | sed -E 's/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]'); \
		binary=target/aarch64-unknown-linux-gnu/release/$$fn; \
		test -f $$binary || { echo "$$binary is missing: run make build"; exit 1; }; \
		cp $$binary "$(ARTIFACTS_DIR)/bootstrap"

# Deploying: one stack per stage, its settings in deploy/samconfig.<stage>.toml (written by the
# guided first deploy, then committed and reused), then `make smoke` against the URL it outputs.
# DRY_RUN=1 builds everything and prints the deploy it would run; it calls no AWS API.
STAGE ?= dev
SAMCONFIG = deploy/samconfig.$(STAGE).toml
SAM := sam

.PHONY: deploy
deploy: export SAM_CLI_TELEMETRY := 0
deploy: build ## Build (locked, arm64), sam build, sam deploy STAGE=dev (guided the first time), then make smoke on the deployed URL: [STAGE=dev] [DRY_RUN=1] [TOKEN=...]
	@echo "$(STAGE)" | grep -Eqx '[a-z0-9-]+' || { echo "STAGE must be lower-case letters, digits and hyphens"; exit 2; }
	@sam --version 2>/dev/null | grep -xF "SAM CLI, version $(SAM_CLI_VERSION)" >/dev/null || pip install -q "aws-sam-cli==$(SAM_CLI_VERSION)"
	$(SAM) build --build-in-source --template template.yaml
	@# A stage whose settings name no stack yet is deployed guided; SAM needs the file to exist.
	@if grep -q '^stack_name' $(SAMCONFIG) 2>/dev/null; then \
		set -- $(SAM) deploy --config-file $(SAMCONFIG) --no-fail-on-empty-changeset; \
	else \
		set -- $(SAM) deploy --guided --config-file $(SAMCONFIG) --stack-name policy-decision-$(STAGE) \
			--capabilities CAPABILITY_IAM --parameter-overrides Stage=$(STAGE); \
	fi; \
	smoke="$(MAKE) smoke BASE_URL=<the stack's ApiUrl output>$(if $(TOKEN), TOKEN=...)"; \
	if [ -n "$(DRY_RUN)" ]; then \
		echo "dry run: built .aws-sam/build; would now run:"; echo "  $$*"; echo "  $$smoke"; exit 0; \
	fi; \
	grep -q '^version' $(SAMCONFIG) 2>/dev/null || { mkdir -p $(dir $(SAMCONFIG)); echo 'version = 0.1' >$(SAMCONFIG); }; \
	"$$@"; \
	read -r stack region < <(python3 -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb"))["default"]["deploy"]["parameters"]; print(p["stack_name"], p.get("region", ""))' $(SAMCONFIG)); \
	url=$$($(SAM) list stack-outputs --stack-name "$$stack" $${region:+--region "$$region"} --output json | \
		python3 -c 'import json,sys; print(next(o["OutputValue"] for o in json.load(sys.stdin) if o["OutputKey"] == "ApiUrl"))'); \
	$(MAKE) smoke BASE_URL="$$url" $(if $(TOKEN),TOKEN="$(TOKEN)")

.PHONY: clean
clean: dev-down ## Stop local stacks and remove build output
	@$(STACK) down $(TEST_DIR)
	cargo clean
	cargo clean --manifest-path fuzz/Cargo.toml
	rm -rf .stack fuzz/scratch fuzz/logs .aws-sam
