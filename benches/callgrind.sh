#!/usr/bin/env bash
# User-space instructions per request, counted with callgrind: the load-independent
# comparison on a shared machine (requests/s move by ±30 % with other load; these do not).
#
#   bash benches/callgrind.sh                          # targets: mock proxy
#   bash benches/callgrind.sh mock proxy cached logged nginx
#
# Targets (the routes of benches/config/apis/bench.toml, as in load.sh):
#   mock     GET /bench/mock            MOCK
#   proxy    GET /bench/proxy/hello     HTTP_PROXY to causeway-bench-server
#   cached   GET /cached/cached         stage cache hit (HTTP_PROXY behind the cache)
#   logged   GET /logged/mock           MOCK on the stage with a file access log
#   nginx    nginx (one worker, master_process off) proxying to the same upstream
#   bare-hyper  a second causeway-bench-server answering MOCK's bytes (the MOCK baseline)
# and the Rust plugin routes of benches/plugin-api.toml (Host plugins.execute-api.localhost,
# a signed token; the JavaScript and Python plugins are left out, and the node runs with
# `plugin_instances = 4`: the engine's address-space reservation for its default 1,000
# instances does not fit under valgrind):
#   plugins-mock     GET /bench/auth/none of the plugins API (MOCK, their baseline)
#   auth-rust        ... behind the Rust HMAC authorizer, a fresh instance per call
#   auth-rust-reuse  ... reused instances
#   auth-rust-cached ... decision cache on (every request a hit)
#   auth-floor       ... behind the counter fixture (reused): an authorizer that only allows
#   function         GET /bench/fn/weekly?item=milk,eggs (Rust shopping-list FUNCTION)
#   function-reuse   ... with reused instances
#
# causeway runs once under `valgrind --tool=callgrind` for all its targets; per target:
# WARMUP s of wrk, counters zeroed (`callgrind_control -z`), DURATION s of
# `wrk -t1 -c$CONNECTIONS`, counters dumped (`callgrind_control -d`); the table shows the
# dump's total `Ir` (all threads, user space) divided by the requests wrk completed.
#
# Environment: DURATION (s, default 8), WARMUP (s, 3), CONNECTIONS (8), SKIP_BUILD=1,
# CAUSEWAY_BIN / BENCH_SERVER_BIN, KEEP_TMP=1 (keeps the dumps for callgrind_annotate),
# BROWSER_HEADERS=1 (the plugin targets' requests carry a browser's 14 headers too).
# Results go to stdout and benches/results/callgrind-<date>.md (gitignored).
set -euo pipefail

DURATION=${DURATION:-8}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-8}
export RUST_LOG=${RUST_LOG:-warn}
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=(mock proxy)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
HOST_HEADER="bench.execute-api.localhost"

log() { printf '[callgrind.sh] %s\n' "$*" >&2; }
die() {
    printf '[callgrind.sh] error: %s\n' "$*" >&2
    exit 1
}

for tool in valgrind callgrind_control wrk curl ss; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install -y valgrind wrk curl iproute2)"
done
want_nginx=0
want_bare=0
want_plugins=0
want_floor=0
for t in "${TARGETS[@]}"; do
    case $t in
        mock | proxy | cached | logged) ;;
        plugins-mock | auth-rust | auth-rust-reuse | auth-rust-cached | function | function-reuse)
            want_plugins=1
            ;;
        auth-floor) want_plugins=1 want_floor=1 ;;
        bare-hyper) want_bare=1 ;;
        nginx)
            want_nginx=1
            command -v nginx >/dev/null 2>&1 || die "nginx is missing (apt-get install -y nginx-light)"
            ;;
        *) die "unknown target $t (mock proxy cached logged nginx bare-hyper plugins-mock auth-rust auth-rust-reuse auth-rust-cached auth-floor function function-reuse)" ;;
    esac
done

CAUSEWAY_BIN=${CAUSEWAY_BIN:-$ROOT/target/release/causeway}
BENCH_SERVER_BIN=${BENCH_SERVER_BIN:-$ROOT/target/release/causeway-bench-server}
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "cargo build --release --bin causeway --bin causeway-bench-server"
    cargo build --release --bin causeway --bin causeway-bench-server >&2
fi
[[ -x $CAUSEWAY_BIN ]] || die "$CAUSEWAY_BIN not found"
[[ -x $BENCH_SERVER_BIN ]] || die "$BENCH_SERVER_BIN not found"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/causeway-callgrind.XXXXXX")
PIDS=()
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do
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

# shellcheck source=benches/ports.sh
source "$ROOT/benches/ports.sh"
wait_ready() { # name pid url logfile timeout
    local deadline=$((SECONDS + $5))
    while ((SECONDS < deadline)); do
        kill -0 "$2" 2>/dev/null || {
            cat "$4" >&2 || true
            die "$1 exited during start-up (log above)"
        }
        [[ $(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "Host: $HOST_HEADER" "$3" || true) == 200 ]] && return 0
        sleep 0.5
    done
    tail -n 30 "$4" >&2 || true
    die "$1 not ready at $3 after $5 s"
}

free_port UPSTREAM_PORT
free_port GW_PORT
free_port ADMIN_PORT
free_port NGINX_PORT
free_port BARE_PORT

"$BENCH_SERVER_BIN" --listen "127.0.0.1:$UPSTREAM_PORT" >"$TMP/upstream.log" 2>&1 &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")
wait_ready upstream "$UPSTREAM_PID" "http://127.0.0.1:$UPSTREAM_PORT/hello" "$TMP/upstream.log" 10

cp -r "$ROOT/benches/config" "$TMP/config"
sed -i -e "s|\"127.0.0.1:18080\"|\"127.0.0.1:$GW_PORT\"|" -e "s|\"127.0.0.1:18090\"|\"127.0.0.1:$ADMIN_PORT\"|" \
    -e "s|data_dir = \"data\"|data_dir = \"$TMP/data\"|" "$TMP/config/causeway.toml"
sed -i -e "s|http://127.0.0.1:18081|http://127.0.0.1:$UPSTREAM_PORT|g" \
    -e "s|/tmp/causeway-bench-access.log|$TMP/access.log|" "$TMP/config/apis/bench.toml"
CAUSEWAY_BENCH_ADMIN_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export CAUSEWAY_BENCH_ADMIN_TOKEN

AUTH_TOKEN=""
if ((want_plugins)); then
    # The plugin API without its JavaScript and Python blocks (plugins, authorizers,
    # routes), and without the floor's unless asked for (its warm instance would take one
    # of the 4 the fresh targets need). The file's head (before the first table) is kept
    # whole: its comments name them too.
    drop='js-authorizer|python-authorizer|"hmac-js"|"hmac-python"|authorizer = "js"|authorizer = "python"'
    ((want_floor)) || drop="$drop"'|counter_authorizer|"floor"'
    awk -v drop="$drop" 'function flush() { if (!tables || block !~ drop) printf "%s", block; block = "" }
         /^\[\[/ { flush(); tables = 1 } { block = block $0 "\n" } END { flush() }' \
        "$ROOT/benches/plugin-api.toml" >"$TMP/config/apis/plugins.toml"
    for wasm in hmac_authorizer counter_authorizer shopping_list_function; do
        src="$ROOT/plugins/target/wasm32-wasip2/release/$wasm.wasm"
        [[ -f $src ]] || die "$src not found (built by cargo build, see crates/plugin/build.rs)"
        cp "$src" "$TMP/config/"
    done
    sed -i 's|^\[node\]$|[node]\nplugin_instances = 4|' "$TMP/config/causeway.toml"
    AUTH_TOKEN=$(python3 -c 'import base64, hashlib, hmac
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
p = b64(b"{\"sub\":\"bench-user\",\"scope\":\"lists:read\"}")
print((p + b"." + b64(hmac.new(b"bench-secret", p, hashlib.sha256).digest())).decode())') ||
        die "python3 is needed to sign the authorizer token"
fi

# Dumps of `callgrind_control -d` are numbered PREFIX.1, PREFIX.2...
count_dumps() {
    local n=0
    while [[ -f $1.$((n + 1)) ]]; do n=$((n + 1)); done
    echo "$n"
}

# shellcheck source=benches/browser-headers.sh
source "$ROOT/benches/browser-headers.sh"
RESULTS="$TMP/results.txt"
: >"$RESULTS"
# measure NAME URL PID DUMP_PREFIX: warm-up, zero, measured run, dump; appends to $RESULTS.
measure() {
    local name=$1 url=$2 pid=$3 prefix=$4 out requests before after dump ir
    local headers=(-H "Host: $HOST_HEADER")
    case $name in
        plugins-mock | auth-* | function*)
            headers=(-H "Host: plugins.execute-api.localhost" -H "Authorization: Bearer $AUTH_TOKEN")
            [[ -z ${BROWSER_HEADERS:-} ]] || headers+=("${BROWSER[@]}")
            ;;
    esac
    wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${headers[@]}" "$url" >/dev/null
    callgrind_control -z "$pid" >/dev/null 2>&1
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "${headers[@]}" "$url")
    before=$(count_dumps "$prefix")
    callgrind_control -d "$pid" >/dev/null 2>&1
    for _ in $(seq 100); do
        after=$(count_dumps "$prefix")
        ((after > before)) && break
        sleep 0.1
    done
    ((after > before)) || die "$name: callgrind wrote no dump"
    dump="$prefix.$after"
    ir=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
    requests=$(awk '/requests in/ { print $1; exit }' <<<"$out")
    grep -q 'Non-2xx' <<<"$out" && die "$name: non-2xx answers: $out"
    [[ -n $ir && -n $requests && $requests -gt 0 ]] || die "$name: no count ($out)"
    echo "$name $requests $ir" >>"$RESULTS"
    cp "$dump" "$TMP/$name.callgrind"
    log "$(awk '{ printf "%-8s %8d requests  %7.1f k instructions/request\n", $1, $2, $3 / $2 / 1000 }' <<<"$name $requests $ir")"
}

url_of() {
    case $1 in
        mock) echo "http://127.0.0.1:$GW_PORT/bench/mock" ;;
        proxy) echo "http://127.0.0.1:$GW_PORT/bench/proxy/hello" ;;
        cached) echo "http://127.0.0.1:$GW_PORT/cached/cached" ;;
        logged) echo "http://127.0.0.1:$GW_PORT/logged/mock" ;;
        nginx) echo "http://127.0.0.1:$NGINX_PORT/bench/proxy/hello" ;;
        bare-hyper) echo "http://127.0.0.1:$BARE_PORT/bench/mock" ;;
        plugins-mock) echo "http://127.0.0.1:$GW_PORT/bench/auth/none" ;;
        auth-rust | auth-rust-reuse | auth-rust-cached | auth-floor) echo "http://127.0.0.1:$GW_PORT/bench/auth/${1#auth-}" ;;
        function) echo "http://127.0.0.1:$GW_PORT/bench/fn/weekly?item=milk,eggs" ;;
        function-reuse) echo "http://127.0.0.1:$GW_PORT/bench/fn-reuse/weekly?item=milk,eggs" ;;
    esac
}

# Reuse targets last: their warm pools keep instances, and with 4 in all a fresh target
# measured after them would be refused instances ("maximum concurrent limit").
gw_targets=()
for t in "${TARGETS[@]}"; do [[ $t == nginx || $t == bare-hyper || $t == *-reuse || $t == auth-floor ]] || gw_targets+=("$t"); done
for t in "${TARGETS[@]}"; do if [[ $t == *-reuse || $t == auth-floor ]]; then gw_targets+=("$t"); fi; done
if ((${#gw_targets[@]})); then
    valgrind --tool=callgrind --callgrind-out-file="$TMP/gw.cg" \
        "$CAUSEWAY_BIN" serve --config "$TMP/config" --listen "127.0.0.1:$GW_PORT" \
        --admin-listen "127.0.0.1:$ADMIN_PORT" >"$TMP/causeway.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    # Every API is deployed before the node listens: one route answering is enough.
    wait_ready causeway "$GW_PID" "$(url_of mock)" "$TMP/causeway.log" 120
    for t in "${gw_targets[@]}"; do measure "$t" "$(url_of "$t")" "$GW_PID" "$TMP/gw.cg"; done
    if [[ -f $TMP/access.log ]]; then
        log "access log: $(wc -l <"$TMP/access.log") lines"
    fi
fi

if ((want_bare)); then
    valgrind --tool=callgrind --callgrind-out-file="$TMP/bare.cg" \
        "$BENCH_SERVER_BIN" --listen "127.0.0.1:$BARE_PORT" >"$TMP/bare.log" 2>&1 &
    BARE_PID=$!
    PIDS+=("$BARE_PID")
    wait_ready bare-hyper "$BARE_PID" "$(url_of bare-hyper)" "$TMP/bare.log" 60
    measure bare-hyper "$(url_of bare-hyper)" "$BARE_PID" "$TMP/bare.cg"
fi

if ((want_nginx)); then
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
master_process off;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    keepalive_requests 1000000;
    upstream bench_upstream {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /bench/proxy/ {
            proxy_pass http://bench_upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
    }
}
EOF
    valgrind --tool=callgrind --callgrind-out-file="$TMP/nginx.cg" \
        "$(command -v nginx)" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_ready nginx "$NGINX_PID" "$(url_of nginx)" "$TMP/nginx/error.log" 60
    measure nginx "$(url_of nginx)" "$NGINX_PID" "$TMP/nginx.cg"
fi

DATE=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$ROOT/benches/results"
OUT="$ROOT/benches/results/callgrind-$DATE.md"
{
    echo "# causeway instructions per request (callgrind), $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- causeway $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)'), $CAUSEWAY_BIN"
    echo "- wrk -t1 -c$CONNECTIONS -d${DURATION}s after a ${WARMUP}s warm-up; user-space instructions of the whole server process"
    echo
    echo "| target | requests | instructions | instructions / request |"
    echo "| --- | ---: | ---: | ---: |"
    awk '{ printf "| %s | %d | %d | %.1f k |\n", $1, $2, $3, $3 / $2 / 1000 }' "$RESULTS"
} >"$OUT"
echo
cat "$OUT"
log "written to ${OUT#"$ROOT"/}"
