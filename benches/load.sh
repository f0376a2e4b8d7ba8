#!/usr/bin/env bash
# Load benchmark of the gateway core: causeway's MOCK and HTTP_PROXY routes against a bare
# hyper server and nginx, all measured in one run on this machine, loopback only.
#
#   bash benches/load.sh                 # defaults: 10 s per target, 64 connections
#   DURATION=30 ROUNDS=3 bash benches/load.sh
#
# Targets (each gets a 2 s warm-up, then `wrk -t1 -c$CONNECTIONS -d${DURATION}s`):
#   upstream         causeway-bench-server directly (the upstream of both proxies)
#   bare-hyper       a second causeway-bench-server: the baseline of the MOCK route
#   causeway-mock    GET /bench/mock on causeway (MOCK integration, same bytes)
#   causeway-cached  GET /cached/cached: an HTTP_PROXY route on a stage with a response
#                    cache; every measured request is a cache hit (compared with MOCK)
#   causeway-logged  GET /logged/mock: the MOCK route on a stage with an access log (a
#                    file), while /metrics is scraped once a second (compared with MOCK;
#                    metrics are recorded on every stage, always)
#   nginx-proxy      nginx (2 workers, keep-alive upstream pool) proxying to the upstream
#   causeway-proxy   GET /bench/proxy/hello on causeway (HTTP_PROXY to the upstream)
#   plugins-mock     GET /bench/auth/none of the `plugins` API (benches/plugin-api.toml):
#                    MOCK, no authorizer, the baseline of the plugin targets
#   auth-rust        the same MOCK behind the Rust HMAC authorizer (fresh instances)
#   auth-rust-reuse  ... behind the same Rust authorizer with reused instances
#   auth-rust-cached ... behind the Rust authorizer (fresh) with the decision cache on
#   auth-floor       ... behind a Rust authorizer that only counts and allows (reused
#                    instances; the counter-authorizer fixture): the host's floor
#   auth-js          ... behind the JavaScript HMAC authorizer (reused instances)
#   auth-python      ... behind the Python HMAC authorizer (reused instances)
#                    (decision cache off but for auth-rust-cached: every request calls
#                    the authorizer)
#   function         GET /bench/fn/weekly?item=milk,eggs: FUNCTION (Rust shopping-list)
#   function-reuse   the same function with reused instances
#
# Environment: ONLY (an extended regex: run only the targets whose name matches, e.g.
# ONLY='plugins-mock|auth-rust|function'; ratios whose targets did not run show n/a),
# DURATION (s, default 10), WARMUP (s, 2), CONNECTIONS (64), ROUNDS (1; the
# table shows the median of each metric over rounds; even rounds run the targets in
# reverse order), WAIT_QUIET (s, 0: how long to wait
# for an idle machine before measuring), RUST_LOG (warn), KEEP_TMP=1 keeps
# the temp dir, SKIP_BUILD=1 skips `cargo build`, CAUSEWAY_BIN / BENCH_SERVER_BIN override
# the binaries, NODE_SETTINGS adds `[node]` lines to causeway's config (e.g.
# NODE_SETTINGS='work_stealing = true'), PERF_STAT=1 counts the servers' system calls and
# context switches per request (perf stat), BROWSER_HEADERS=1 makes the plugin targets'
# requests carry a browser's 14 headers too. Results go to stdout and
# benches/results/load-<date>.md (gitignored).
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
ROUNDS=${ROUNDS:-1}
ONLY=${ONLY:-.}
export RUST_LOG=${RUST_LOG:-warn}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HOST_HEADER="bench.execute-api.localhost"

log() { printf '[load.sh] %s\n' "$*" >&2; }
die() {
    printf '[load.sh] error: %s\n' "$*" >&2
    exit 1
}

# --- tools -------------------------------------------------------------------------------
need_install=()
command -v wrk >/dev/null 2>&1 || need_install+=(wrk)
command -v nginx >/dev/null 2>&1 || need_install+=(nginx-light)
command -v curl >/dev/null 2>&1 || need_install+=(curl)
command -v ss >/dev/null 2>&1 || need_install+=(iproute2)
command -v pgrep >/dev/null 2>&1 || need_install+=(procps)
if ((${#need_install[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing ${need_install[*]}; install them (apt-get install -y ${need_install[*]}) or run as root"
    log "installing ${need_install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${need_install[@]}" >&2
fi
NGINX=$(command -v nginx)

# --- build -------------------------------------------------------------------------------
CAUSEWAY_BIN=${CAUSEWAY_BIN:-$ROOT/target/release/causeway}
BENCH_SERVER_BIN=${BENCH_SERVER_BIN:-$ROOT/target/release/causeway-bench-server}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release --bin causeway --bin causeway-bench-server"
    cargo build --release --bin causeway --bin causeway-bench-server >&2
fi
# The JavaScript and Python authorizers (skipped when up to date; the Rust guests come
# with the cargo build above, from crates/plugin/build.rs).
log "plugins/build-polyglot.sh"
bash "$ROOT/plugins/build-polyglot.sh" >&2 || die "building the JavaScript/Python plugins failed"
[[ -x $CAUSEWAY_BIN ]] || die "$CAUSEWAY_BIN not found"
[[ -x $BENCH_SERVER_BIN ]] || die "$BENCH_SERVER_BIN not found"

# --- processes and cleanup -------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/causeway-load.XXXXXX")
PIDS=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Bounded wait: SIGKILL what has not stopped after 5 s.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${KEEP_TMP:-0} == 1 || $rc -ne 0 ]]; then
        log "temp dir kept: $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Distinct free loopback ports (`free_port VAR`; not in a subshell, to track the ones taken),
# below the ephemeral range so that no client connection can already hold them.
# shellcheck source=benches/ports.sh
source "$ROOT/benches/ports.sh"
free_port UPSTREAM_PORT
free_port BARE_PORT
free_port GW_PORT
free_port ADMIN_PORT
free_port NGINX_PORT

# Wait until `url` answers 200 (with the invoke Host header), or fail with the log.
wait_ready() {
    local name=$1 pid=$2 url=$3 logfile=$4 timeout=${5:-30}
    local deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$logfile" >&2 || true
            die "$name exited during start-up (log above)"
        fi
        if [[ $(curl -s -o /dev/null -m 1 -w '%{http_code}' -H "Host: $HOST_HEADER" "$url" || true) == 200 ]]; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 50 "$logfile" >&2 || true
    die "$name not ready at $url after ${timeout}s (log above)"
}

# --- upstream and bare server ------------------------------------------------------------
"$BENCH_SERVER_BIN" --listen "127.0.0.1:$UPSTREAM_PORT" >"$TMP/upstream.log" 2>&1 &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")
"$BENCH_SERVER_BIN" --listen "127.0.0.1:$BARE_PORT" >"$TMP/bare.log" 2>&1 &
BARE_PID=$!
PIDS+=("$BARE_PID")

# --- causeway ------------------------------------------------------------------------------
cp -r "$ROOT/benches/config" "$TMP/config"
rewrite() { # file, from, to: replace a literal that must be present
    grep -qF -- "$2" "$1" || die "$1 does not contain \`$2\`"
    local from to
    from=$(printf '%s' "$2" | sed 's/[]\/$*.^[|]/\\&/g')
    to=$(printf '%s' "$3" | sed 's/[\/&|]/\\&/g')
    sed -i "s|$from|$to|g" "$1"
}
rewrite "$TMP/config/causeway.toml" '"127.0.0.1:18080"' "\"127.0.0.1:$GW_PORT\""
rewrite "$TMP/config/causeway.toml" '"127.0.0.1:18090"' "\"127.0.0.1:$ADMIN_PORT\""
rewrite "$TMP/config/causeway.toml" 'data_dir = "data"' "data_dir = \"$TMP/data\""
# NODE_SETTINGS: extra `[node]` lines, e.g. 'work_stealing = true' or 'worker_threads = 1'.
if [[ -n ${NODE_SETTINGS:-} ]]; then
    grep -qx '\[node\]' "$TMP/config/causeway.toml" || die "benches/config/causeway.toml has no [node] line"
    awk -v extra="$NODE_SETTINGS" '{ print } $0 == "[node]" { print extra }' \
        "$TMP/config/causeway.toml" >"$TMP/causeway.toml.new"
    mv "$TMP/causeway.toml.new" "$TMP/config/causeway.toml"
fi
rewrite "$TMP/config/apis/bench.toml" 'http://127.0.0.1:18081' "http://127.0.0.1:$UPSTREAM_PORT"
# The plugin API and its components (files are relative to the config directory).
cp "$ROOT/benches/plugin-api.toml" "$TMP/config/apis/plugins.toml"
for wasm in "$ROOT"/plugins/target/wasm32-wasip2/release/{hmac_authorizer,counter_authorizer,shopping_list_function}.wasm \
    "$ROOT"/plugins/target/polyglot/{js,python}-authorizer.wasm; do
    [[ -f $wasm ]] || die "$wasm not found (built by cargo build / plugins/build-polyglot.sh)"
    cp "$wasm" "$TMP/config/"
done
PLUGIN_HOST="plugins.execute-api.localhost"
# A token the three HMAC authorizers accept (secret `bench-secret`, no expiry).
AUTH_TOKEN=$(python3 -c 'import base64, hashlib, hmac
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
p = b64(b"{\"sub\":\"bench-user\",\"scope\":\"lists:read\"}")
print((p + b"." + b64(hmac.new(b"bench-secret", p, hashlib.sha256).digest())).decode())') ||
    die "python3 is needed to sign the authorizer token"
ACCESS_LOG="$TMP/access.log"
rewrite "$TMP/config/apis/bench.toml" '/tmp/causeway-bench-access.log' "$ACCESS_LOG"
CAUSEWAY_BENCH_ADMIN_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CAUSEWAY_BENCH_ADMIN_TOKEN
"$CAUSEWAY_BIN" serve --config "$TMP/config" --listen "127.0.0.1:$GW_PORT" \
    --admin-listen "127.0.0.1:$ADMIN_PORT" >"$TMP/causeway.log" 2>&1 &
GW_PID=$!
PIDS+=("$GW_PID")

# --- nginx -----------------------------------------------------------------------------------
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
# Generated by benches/load.sh.
user root;
worker_processes 2;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    # Like causeway (hyper): no cap on requests per keep-alive connection, either side.
    keepalive_requests 1000000;
    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        # Same mapping as the HTTP_PROXY route: /bench/proxy/X -> upstream /X.
        location /bench/proxy/ {
            proxy_pass http://bench_upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # causeway adds these two as well.
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF
"$NGINX" -t -q -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" 2>"$TMP/nginx/test.log" ||
    { cat "$TMP/nginx/test.log" >&2; die "nginx rejected its config"; }
"$NGINX" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")

# --- readiness -------------------------------------------------------------------------------
UPSTREAM_URL="http://127.0.0.1:$UPSTREAM_PORT/hello"
BARE_URL="http://127.0.0.1:$BARE_PORT/bench/mock"
MOCK_URL="http://127.0.0.1:$GW_PORT/bench/mock"
PROXY_URL="http://127.0.0.1:$GW_PORT/bench/proxy/hello"
CACHED_URL="http://127.0.0.1:$GW_PORT/cached/cached"
LOGGED_URL="http://127.0.0.1:$GW_PORT/logged/mock"
METRICS_URL="http://127.0.0.1:$ADMIN_PORT/metrics"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/bench/proxy/hello"
PLUGINS_MOCK_URL="http://127.0.0.1:$GW_PORT/bench/auth/none"
AUTH_URL="http://127.0.0.1:$GW_PORT/bench/auth"
FUNCTION_URL="http://127.0.0.1:$GW_PORT/bench/fn/weekly?item=milk,eggs"
FUNCTION_REUSE_URL="http://127.0.0.1:$GW_PORT/bench/fn-reuse/weekly?item=milk,eggs"
wait_ready upstream "$UPSTREAM_PID" "$UPSTREAM_URL" "$TMP/upstream.log" 10
wait_ready bare-hyper "$BARE_PID" "$BARE_URL" "$TMP/bare.log" 10
wait_ready causeway "$GW_PID" "$MOCK_URL" "$TMP/causeway.log" 60
wait_ready causeway "$GW_PID" "$PROXY_URL" "$TMP/causeway.log" 10
wait_ready causeway "$GW_PID" "$CACHED_URL" "$TMP/causeway.log" 10
wait_ready causeway "$GW_PID" "$LOGGED_URL" "$TMP/causeway.log" 10
# The cached route answers from the cache from now on (the first request filled it).
cache_status=$(curl -s -o /dev/null -m 2 -w '%header{x-causeway-cache}' -H "Host: $HOST_HEADER" "$CACHED_URL")
[[ $cache_status == hit ]] || die "GET /cached/cached is not a cache hit (x-causeway-cache: ${cache_status:-none})"
[[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$METRICS_URL") == 200 ]] || die "$METRICS_URL does not answer"
# Plugin routes: 200 with the token (and the authorizer routes 401 without it).
plugin_status() { # url [token]
    curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $PLUGIN_HOST" \
        ${2:+-H "Authorization: Bearer $2"} "$1" || true
}
for url in "$PLUGINS_MOCK_URL" "$AUTH_URL/rust" "$AUTH_URL/rust-reuse" "$AUTH_URL/rust-cached" "$AUTH_URL/js" "$AUTH_URL/python" "$FUNCTION_URL" "$FUNCTION_REUSE_URL"; do
    [[ $(plugin_status "$url" "$AUTH_TOKEN") == 200 ]] || die "$url does not answer 200 (log: $TMP/causeway.log)"
done
[[ $(plugin_status "$AUTH_URL/js") == 401 ]] || die "$AUTH_URL/js answers without a token"
wait_ready nginx "$NGINX_PID" "$NGINX_URL" "$TMP/nginx/error.log" 10
# The MOCK route must send the bare server's bytes.
mock_body=$(curl -s -m 2 -H "Host: $HOST_HEADER" "$MOCK_URL")
bare_body=$(curl -s -m 2 "$BARE_URL")
[[ $mock_body == "$bare_body" ]] || die "MOCK body ($mock_body) differs from the bare server's ($bare_body)"
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
[[ -n $NGINX_WORKERS ]] || die "nginx has no worker processes"

# Other work on the machine (a concurrent build...) skews every number: measure it first.
cpu_busy_pct() { # share of all cores busy over 1 s, in %
    local a b
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; idle = y[2] - x[2]; total = busy + idle; printf "%.0f\n", (total > 0) ? 100 * busy / total : 0 }'
}
BUSY_BEFORE=$(cpu_busy_pct)
# WAIT_QUIET=N: on a shared machine, wait up to N seconds for it to be idle first.
quiet_deadline=$((SECONDS + ${WAIT_QUIET:-0}))
while ((BUSY_BEFORE > 10 && SECONDS < quiet_deadline)); do
    log "machine ${BUSY_BEFORE}% busy; waiting for it to be idle (WAIT_QUIET)"
    sleep 4
    BUSY_BEFORE=$(cpu_busy_pct)
done
if ((BUSY_BEFORE > 15)); then
    log "warning: the machine is already ${BUSY_BEFORE}% busy before the load starts; numbers will be noisy"
fi

# Idle RSS once everything answered.
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
GW_RSS_IDLE_KB=$(status_kb "$GW_PID" VmRSS)
GW_THREADS=$(status_kb "$GW_PID" Threads)

# --- measuring -------------------------------------------------------------------------------
cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "connect_err=%d read_err=%d write_err=%d timeout_err=%d non2xx=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
EOF
CLK_TCK=$(getconf CLK_TCK)
# utime + stime (ticks) of the given pids.
cpu_ticks() {
    local total=0 pid t
    for pid in "$@"; do
        t=$(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')
        total=$((total + t))
    done
    echo "$total"
}
# Reset the peak-RSS counter (VmHWM) of the given pids; best effort.
reset_hwm() {
    local pid
    for pid in "$@"; do echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
}
sum_status_kb() {
    local total=0 pid
    for pid in "${@:2}"; do total=$((total + $(status_kb "$pid" "$1"))); done
    echo "$total"
}

# Busy jiffies of the whole machine (all cores).
machine_busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# CPU of this script's waited-for children (wrk, curl...): cutime + cstime.
children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{ print $14 + $15 }'; }
all_server_pids() { echo "$UPSTREAM_PID $BARE_PID $GW_PID $NGINX_PID $NGINX_WORKERS"; }

RESULTS="$TMP/results.txt"
: >"$RESULTS"
# Per-target extras around the measured run: the logged target starts with an empty access
# log and a /metrics scraper (once a second, bounded), and reports the lines written.
SCRAPER_PID=
before_measure() {
    [[ $1 == causeway-logged ]] || return 0
    : >"$ACCESS_LOG"
    (for _ in $(seq $((DURATION + 2))); do
        curl -s -o /dev/null -m 1 "$METRICS_URL" || true
        sleep 1
    done) &
    SCRAPER_PID=$!
}
after_measure() { # name: prints extra key=value fields for the results line
    [[ $1 == causeway-logged ]] || return 0
    kill "$SCRAPER_PID" 2>/dev/null || true
    wait "$SCRAPER_PID" 2>/dev/null || true
    sleep 1 # let the writer thread flush its queue
    echo " log_lines=$(wc -l <"$ACCESS_LOG")"
}
# shellcheck source=benches/browser-headers.sh
source "$ROOT/benches/browser-headers.sh"

# run NAME URL PIDS...: warm-up, then the measured run; appends one line to $RESULTS.
run() {
    local name=$1 url=$2
    shift 2
    local pids=("$@")
    [[ $name =~ $ONLY ]] || return 0
    # The plugin API's targets: its own Host, and the token (harmless where unused).
    local headers=(-H "Host: $HOST_HEADER")
    case $name in
    plugins-mock | auth-* | function*)
        headers=(-H "Host: $PLUGIN_HOST" -H "Authorization: Bearer $AUTH_TOKEN")
        # BROWSER_HEADERS=1: what a browser sends besides (14 headers, ≈ 900 bytes).
        [[ -z ${BROWSER_HEADERS:-} ]] || headers+=("${BROWSER[@]}")
        ;;
    esac
    wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${headers[@]}" "$url" >/dev/null
    reset_hwm "${pids[@]}"
    local cpu0 cpu1 out line busy0 busy1 ours0 ours1 kids0 kids1 foreign
    # shellcheck disable=SC2046 # the pid list is meant to split
    ours0=$(cpu_ticks $(all_server_pids))
    kids0=$(children_ticks)
    busy0=$(machine_busy_ticks)
    before_measure "$name"
    # PERF_STAT=1: count the server's system calls and context switches during the run.
    local perf_pid="" perf_out="$TMP/perf-$name-$ROUND.csv"
    if [[ -n ${PERF_STAT:-} ]]; then
        perf stat -x, -e raw_syscalls:sys_enter,context-switches -o "$perf_out" \
            -p "$(IFS=,; echo "${pids[*]}")" &
        perf_pid=$!
    fi
    cpu0=$(cpu_ticks "${pids[@]}")
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$TMP/report.lua" \
        "${headers[@]}" "$url")
    cpu1=$(cpu_ticks "${pids[@]}")
    local counted=""
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        counted=$(awk -F, '$3 ~ /sys_enter/ { s = $1 } $3 ~ /context-switches/ { c = $1 } END { printf " syscalls=%d ctxsw=%d", s, c }' "$perf_out")
    fi
    busy1=$(machine_busy_ticks)
    kids1=$(children_ticks)
    # shellcheck disable=SC2046
    ours1=$(cpu_ticks $(all_server_pids))
    # CPU used by anything but this benchmark during the run, in % of all cores.
    foreign=$(awk -v t=$(((busy1 - busy0) - (ours1 - ours0) - (kids1 - kids0))) -v tck="$CLK_TCK" \
        -v d="$DURATION" -v n="$(nproc)" 'BEGIN { v = 100 * t / tck / d / n; printf "%.0f\n", (v < 0) ? 0 : v }')
    line=$(grep '^RESULT ' <<<"$out") || {
        echo "$out" >&2
        die "wrk printed no result for $name"
    }
    local hwm rss extra
    hwm=$(sum_status_kb VmHWM "${pids[@]}")
    rss=$(sum_status_kb VmRSS "${pids[@]}")
    extra=$(after_measure "$name")
    echo "$name round=$ROUND ${line#RESULT } cpu_ticks=$((cpu1 - cpu0)) hwm_kb=$hwm rss_kb=$rss foreign_pct=$foreign$extra$counted" >>"$RESULTS"
    local non2xx errs
    non2xx=$(sed -n 's/.* non2xx=\([0-9]*\).*/\1/p' <<<"$line")
    errs=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /_err=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }' <<<"$line")
    if ((non2xx != 0)); then
        curl -s -i -m 2 "${headers[@]}" "$url" | head -c 600 >&2 || true
        echo >&2
        die "$name: $non2xx responses were not 2xx (a sample answer is above; logs in $TMP)"
    fi
    ((errs == 0)) || log "warning: $name had $errs socket errors"
    ((foreign <= 10)) || log "warning: other processes used ${foreign}% of the cores during $name; its numbers are noisy"
    log "$(awk '{ for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] } printf "%-15s %9.0f req/s  p50 %5.0f us  p99 %6.0f us\n", $1, v["requests"] / (v["duration_us"] / 1e6), v["p50_us"], v["p99_us"] }' <<<"$name $line")"
}

# Name, URL, then the pids whose CPU and memory the row reports.
TARGETS=(
    "upstream $UPSTREAM_URL $UPSTREAM_PID"
    "bare-hyper $BARE_URL $BARE_PID"
    "causeway-mock $MOCK_URL $GW_PID"
    "causeway-cached $CACHED_URL $GW_PID"
    "causeway-logged $LOGGED_URL $GW_PID"
    "nginx-proxy $NGINX_URL $NGINX_WORKERS"
    "causeway-proxy $PROXY_URL $GW_PID"
    "plugins-mock $PLUGINS_MOCK_URL $GW_PID"
    "auth-rust $AUTH_URL/rust $GW_PID"
    "auth-rust-reuse $AUTH_URL/rust-reuse $GW_PID"
    "auth-rust-cached $AUTH_URL/rust-cached $GW_PID"
    "auth-floor $AUTH_URL/floor $GW_PID"
    "auth-js $AUTH_URL/js $GW_PID"
    "auth-python $AUTH_URL/python $GW_PID"
    "function $FUNCTION_URL $GW_PID"
    "function-reuse $FUNCTION_REUSE_URL $GW_PID"
)
for ROUND in $(seq "$ROUNDS"); do
    # Even rounds run the targets in reverse order: on a machine whose speed drifts within
    # a round, each compared pair (bare hyper and MOCK, nginx and PROXY, MOCK and a plugin
    # row) is then measured once in each order, so the drift does not favour one side.
    order=("${TARGETS[@]}")
    if ((ROUND % 2 == 0)); then
        order=()
        for ((i = ${#TARGETS[@]} - 1; i >= 0; i--)); do
            order+=("${TARGETS[i]}")
        done
    fi
    log "round $ROUND/$ROUNDS: ${DURATION}s per target (+${WARMUP}s warm-up), $CONNECTIONS connections$( ((ROUND % 2 == 0)) && echo ', reverse order')"
    for target in "${order[@]}"; do
        read -r -a args <<<"$target"
        run "${args[@]}"
    done
done
GW_HWM_KB=$(status_kb "$GW_PID" VmHWM)
GW_RSS_END_KB=$(status_kb "$GW_PID" VmRSS)

# --- report ----------------------------------------------------------------------------------
DATE=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$ROOT/benches/results"
OUT="$ROOT/benches/results/load-$DATE.md"
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "# causeway load benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) cores ($cpu_model), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
    echo "- causeway $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)'), $(rustc --version 2>/dev/null || echo 'rustc ?'), release profile; $GW_THREADS threads at idle; RUST_LOG=$RUST_LOG${NODE_SETTINGS:+; node settings: $NODE_SETTINGS}"
    echo "- $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), 2 workers, keepalive 64 upstream pool; $(wrk -v 2>&1 | head -n1 | awk '{ print $1, $2 }')"
    echo "- background CPU load just before the run: ${BUSY_BEFORE}% of all cores$( ((BUSY_BEFORE > 15)) && echo ' (**busy machine: numbers are noisy**)')"
    echo "- load: wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency after a ${WARMUP}s warm-up, $ROUNDS round(s) (median shown); wrk, the servers and the upstream share the same $(nproc) cores"
    echo
    awk -v tck="$CLK_TCK" -v idle="$GW_RSS_IDLE_KB" -v hwm="$GW_HWM_KB" -v rss_end="$GW_RSS_END_KB" '
    # ratio(a, b, key): the ratio of two targets medians, -1 when either did not run.
    function ratio(a, b, key) { return (med[a, key] > 0 && med[b, key] > 0) ? med[a, key] / med[b, key] : -1 }
    # judge(label, ratio[, op, goal[, target text]]): one row of the ratio table.
    function judge(label, v, op, goal, target,    ok) {
        if (target == "") target = (op == "") ? "(context)" : sprintf("%s %.2f×", op == ">=" ? "≥" : "≤", goal)
        if (v < 0) { printf "| %s | n/a | %s | not run |\n", label, target; return }
        if (op == "") { printf "| %s | %.2f× | %s | |\n", label, v, target; return }
        v = sprintf("%.2f", v) + 0
        ok = (op == ">=") ? (v >= goal) : (v <= goal)
        printf "| %s | %.2f× | %s | %s |\n", label, v, target, ok ? "met" : "**missed**"
    }
    # per_round(a, b): "r1 / r2 / ..." requests/s ratios round by round ("" with one round).
    function per_round(a, b,    r, s, n) {
        n = (cnt[a] < cnt[b]) ? cnt[a] : cnt[b]
        if (n < 2) return ""
        s = ""
        for (r = 1; r <= n; r++) s = s (r > 1 ? " / " : "") sprintf("%.2f", val[a, r, "rps"] / val[b, r, "rps"])
        return s
    }
    function median(name, key,    n, i, j, t, a) {
        n = cnt[name]
        for (i = 1; i <= n; i++) a[i] = val[name, i, key]
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        name = $1; r = ++cnt[name]
        if (r == 1) order[++names] = name
        for (i = 2; i <= NF; i++) { split($i, kv, "="); val[name, r, kv[1]] = kv[2] }
        val[name, r, "rps"] = val[name, r, "requests"] / (val[name, r, "duration_us"] / 1e6)
        val[name, r, "cpu_us"] = val[name, r, "cpu_ticks"] / tck * 1e6 / val[name, r, "requests"]
        if ((name, r, "log_lines") in val) val[name, r, "log_ratio"] = val[name, r, "log_lines"] / val[name, r, "requests"]
        if ((name, r, "syscalls") in val) {
            val[name, r, "sys_req"] = val[name, r, "syscalls"] / val[name, r, "requests"]
            val[name, r, "cs_req"] = val[name, r, "ctxsw"] / val[name, r, "requests"]
            counted = 1
        }
    }
    END {
        desc["upstream"] = "upstream (bench server, direct)"
        desc["bare-hyper"] = "bare hyper (bench server)"
        desc["causeway-mock"] = "causeway MOCK `GET /bench/mock`"
        desc["causeway-cached"] = "causeway cache hit `GET /cached/cached`"
        desc["causeway-logged"] = "causeway MOCK + access log + /metrics scrape `GET /logged/mock`"
        desc["nginx-proxy"] = "nginx proxy to upstream"
        desc["causeway-proxy"] = "causeway HTTP_PROXY `/bench/proxy/hello`"
        desc["plugins-mock"] = "causeway MOCK, plugins API `GET /bench/auth/none` (with the token)"
        desc["auth-rust"] = "MOCK + Rust authorizer (fresh), no decision cache"
        desc["auth-rust-reuse"] = "MOCK + Rust authorizer (reuse), no decision cache"
        desc["auth-rust-cached"] = "MOCK + Rust authorizer (fresh), decision cache on (hits)"
        desc["auth-floor"] = "MOCK + Rust authorizer that only allows (reuse): the host floor"
        desc["auth-js"] = "MOCK + JavaScript authorizer (reuse), no decision cache"
        desc["auth-python"] = "MOCK + Python authorizer (reuse), no decision cache"
        desc["function"] = "causeway FUNCTION (Rust shopping-list, fresh) `GET /bench/fn/weekly`"
        desc["function-reuse"] = "causeway FUNCTION (Rust shopping-list, reuse) `GET /bench/fn-reuse/weekly`"
        print "| target | requests/s | p50 | p90 | p99 | server CPU per request | peak RSS | other load |"
        print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        for (k = 1; k <= names; k++) {
            n = order[k]
            for (m = split("rps p50_us p90_us p99_us cpu_us hwm_kb foreign_pct log_ratio", keys, " "); m > 0; m--) med[n, keys[m]] = median(n, keys[m])
            printf "| %s | %.0f | %.0f µs | %.0f µs | %.0f µs | %.1f µs | %.1f MiB | %d%% |\n", desc[n], med[n, "rps"], med[n, "p50_us"], med[n, "p90_us"], med[n, "p99_us"], med[n, "cpu_us"], med[n, "hwm_kb"] / 1024, med[n, "foreign_pct"]
        }
        print ""
        print "| ratio | value | target | verdict |"
        print "| --- | ---: | ---: | --- |"
        judge("MOCK requests/s: causeway / bare hyper", ratio("causeway-mock", "bare-hyper", "rps"), ">=", 0.9)
        judge("MOCK p50: causeway / bare hyper", ratio("causeway-mock", "bare-hyper", "p50_us"))
        judge("MOCK p99: causeway / bare hyper", ratio("causeway-mock", "bare-hyper", "p99_us"))
        judge("cache hit requests/s: cached / MOCK", ratio("causeway-cached", "causeway-mock", "rps"), ">=", 0.95)
        judge("cache hit CPU per request: cached / MOCK", ratio("causeway-cached", "causeway-mock", "cpu_us"))
        judge("access log + metrics requests/s: logged / MOCK", ratio("causeway-logged", "causeway-mock", "rps"), ">=", 0.9, "≥ 0.90× (≤ 10 % cost)")
        judge("access log + metrics CPU per request: logged / MOCK", ratio("causeway-logged", "causeway-mock", "cpu_us"))
        if (med["causeway-logged", "log_ratio"] > 0)
            printf "| access-log lines written / requests (logged; < 1: lines dropped) | %.2f | (context) | |\n", med["causeway-logged", "log_ratio"]
        judge("PROXY requests/s: causeway / nginx", ratio("causeway-proxy", "nginx-proxy", "rps"), ">=", 1.0)
        judge("PROXY p50: causeway / nginx", ratio("causeway-proxy", "nginx-proxy", "p50_us"))
        judge("PROXY p99: causeway / nginx", ratio("causeway-proxy", "nginx-proxy", "p99_us"), "<=", 1.0)
        judge("PROXY requests/s: causeway / upstream direct", ratio("causeway-proxy", "upstream", "rps"))
        judge("PROXY CPU per request: causeway / nginx", ratio("causeway-proxy", "nginx-proxy", "cpu_us"))
        judge("Rust authorizer (fresh) requests/s: auth-rust / plugins-mock", ratio("auth-rust", "plugins-mock", "rps"), ">=", 0.7)
        judge("Rust authorizer (reuse) requests/s: auth-rust-reuse / plugins-mock", ratio("auth-rust-reuse", "plugins-mock", "rps"), ">=", 0.7)
        judge("Rust authorizer, decision cache on: auth-rust-cached / plugins-mock", ratio("auth-rust-cached", "plugins-mock", "rps"), ">=", 0.95)
        judge("floor authorizer (reuse) requests/s: auth-floor / plugins-mock", ratio("auth-floor", "plugins-mock", "rps"))
        judge("JavaScript authorizer requests/s: auth-js / plugins-mock", ratio("auth-js", "plugins-mock", "rps"), ">=", 0.5)
        judge("Python authorizer requests/s: auth-python / plugins-mock", ratio("auth-python", "plugins-mock", "rps"), ">=", 0.5)
        judge("FUNCTION (fresh) requests/s: function / plugins-mock", ratio("function", "plugins-mock", "rps"), ">=", 0.5)
        judge("FUNCTION (reuse) requests/s: function-reuse / plugins-mock", ratio("function-reuse", "plugins-mock", "rps"), ">=", 0.5)
        # The same requests/s ratios round by round: how much of a verdict is the machine.
        split("causeway-mock:bare-hyper causeway-cached:causeway-mock causeway-logged:causeway-mock causeway-proxy:nginx-proxy auth-rust:plugins-mock auth-rust-reuse:plugins-mock auth-rust-cached:plugins-mock auth-floor:plugins-mock auth-js:plugins-mock auth-python:plugins-mock function:plugins-mock function-reuse:plugins-mock", pairs, " ")
        header = 0
        for (p = 1; p in pairs; p++) {
            split(pairs[p], ab, ":")
            spread = per_round(ab[1], ab[2])
            if (spread == "") continue
            if (!header) { print ""; print "| requests/s ratio, round by round | rounds |"; print "| --- | ---: |"; header = 1 }
            printf "| %s / %s | %s |\n", ab[1], ab[2], spread
        }
        if (counted) {
            print ""
            print "| target (PERF_STAT=1, medians) | system calls / request | context switches / request |"
            print "| --- | ---: | ---: |"
            for (k = 1; k <= names; k++) {
                n = order[k]
                printf "| %s | %.2f | %.3f |\n", n, median(n, "sys_req"), median(n, "cs_req")
            }
        }
        print ""
        # VmHWM is reset before every target: the peak of the run is the highest of the
        # peaks of the targets, the last reading and the RSS right after start-up.
        peak = (hwm > idle) ? hwm : idle
        for (k = 1; k <= names; k++) {
            n = order[k]
            if (n == "upstream" || n == "bare-hyper" || n == "nginx-proxy") continue
            for (r = 1; r <= cnt[n]; r++) if (val[n, r, "hwm_kb"] > peak) peak = val[n, r, "hwm_kb"]
        }
        printf "causeway RSS: %.1f MiB idle after start-up, %.1f MiB peak over the whole run (the highest VmHWM of its targets, or start-up), %.1f MiB at the end.\n", idle / 1024, peak / 1024, rss_end / 1024
        print ""
        print "Server CPU per request = user+system CPU time of the measured server process(es) during the run / requests (nginx: both workers; causeway: the whole process). Peak RSS = VmHWM during that run (nginx: sum over workers). Other load = CPU used by processes other than this benchmark during the run, in % of all cores; above ~10% the row is noisy."
    }' "$RESULTS"
    echo
    echo "<details><summary>raw wrk results</summary>"
    echo
    echo '```'
    cat "$RESULTS"
    echo '```'
    echo
    echo "</details>"
} >"$OUT"
echo
cat "$OUT"
echo
log "written to ${OUT#"$ROOT"/}"
