#!/usr/bin/env bash
# An edge node's cost, in one run: the bench API's MOCK route (`GET /bench/mock`) on a
# regional node asked directly, through `causeway edge` (a mesh member forwarding to the
# nearest region that is up), and through nginx (2 workers, keep-alive upstream pool)
# proxying to the same regional node. Same wrk load for all three; prints a markdown table
# and the edge / nginx ratios. Then the same three ways to `GET /bench/auth` of the `edged`
# API, a MOCK behind the Rust HMAC authorizer (fresh instances, no decision cache): asked
# directly and through nginx the region runs the authorizer; through the edge the edge
# runs it and the region takes the edge's signed allow (`x-causeway-edge-auth`).
#
# Knobs: CONNECTIONS (64), DURATION (10 s), WARMUP (2 s), ROUNDS (1; medians), SKIP_BUILD=1,
# CAUSEWAY_BIN, KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-1}
HOST_HEADER=bench.execute-api.localhost

log() { echo "[edge_load] $*" >&2; }
die() { log "$*"; exit 1; }

need_install=()
command -v wrk >/dev/null 2>&1 || need_install+=(wrk)
command -v nginx >/dev/null 2>&1 || need_install+=(nginx-light)
if ((${#need_install[@]})); then
    apt-get install -y -qq "${need_install[@]}" >&2 || die "cannot install ${need_install[*]}"
fi
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    cargo build --release --bin causeway >&2
fi
BIN=${CAUSEWAY_BIN:-target/release/causeway}
[[ -x $BIN ]] || die "build first (or unset SKIP_BUILD)"

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ ${KEEP_TMP:-0} == 1 || $rc -ne 0 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# shellcheck source=benches/ports.sh
source benches/ports.sh
free_port GW_PORT
free_port ADMIN_PORT
free_port EDGE_PORT
free_port NGINX_PORT
free_port REGION_UDP
free_port EDGE_UDP

"$BIN" mesh certs --out "$TMP/certs" region.bench edge.bench >/dev/null
mesh() { # id listen-udp peer peer-udp
    cat <<EOF
[mesh]
id = "$1"
listen = "127.0.0.1:$2"
ca_file = "$TMP/certs/ca.pem"
cert_file = "$TMP/certs/$1.pem"
key_file = "$TMP/certs/$1-key.pem"
peers = [{ id = "$3", address = "127.0.0.1:$4" }]
EOF
}
cp -r benches/config "$TMP/region"
# The authorizer API (only the Rust component: it is small enough to reach the edge over
# the mesh, with the stage).
HMAC_WASM=plugins/target/wasm32-wasip2/release/hmac_authorizer.wasm
[[ -f $HMAC_WASM ]] || die "$HMAC_WASM not found (built by cargo build)"
cp "$HMAC_WASM" "$TMP/region/"
# Deployed once the edge is up (a deploy is what the regions share with the mesh).
cat >"$TMP/edged.toml" <<'EOF'
version = 1
id = "edged"
name = "Edged"
type = "REST"
[[stages]]
name = "bench"
[[plugins]]
name = "hmac"
file = "hmac_authorizer.wasm"
world = "authorizer"
config = { secret = "bench-secret", ttl = "0" }
[[authorizers]]
name = "tokens"
type = "TOKEN"
plugin = "hmac"
identity_sources = ["method.request.header.Authorization"]
result_ttl_seconds = 0
[[routes]]
key = "GET /auth"
authorizer = "tokens"
integration = { type = "MOCK", status = 200, headers = { "content-type" = "application/json" }, body = '{"message":"hello from causeway"}' }
EOF
AUTH_HOST=edged.execute-api.localhost
AUTH_TOKEN=$(python3 -c 'import base64, hashlib, hmac
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")
p = b64(b"{\"sub\":\"bench-user\"}")
print((p + b"." + b64(hmac.new(b"bench-secret", p, hashlib.sha256).digest())).decode())') ||
    die "python3 is needed to sign the authorizer token"
sed -i "s/127.0.0.1:18080/127.0.0.1:$GW_PORT/; s/127.0.0.1:18090/127.0.0.1:$ADMIN_PORT/" "$TMP/region/causeway.toml"
mesh region.bench "$REGION_UDP" edge.bench "$EDGE_UDP" >>"$TMP/region/causeway.toml"
mkdir -p "$TMP/edge"
{
    echo "version = 1"
    mesh edge.bench "$EDGE_UDP" region.bench "$REGION_UDP"
    echo "[edge]"
    echo "regions = [{ node = \"region.bench\", url = \"http://127.0.0.1:$GW_PORT\" }]"
} >"$TMP/edge/causeway.toml"

RUST_LOG=warn "$BIN" serve --config "$TMP/region" >"$TMP/region.log" 2>&1 &
REGION_PID=$!
PIDS+=("$REGION_PID")
RUST_LOG=warn "$BIN" edge --config "$TMP/edge" --listen "127.0.0.1:$EDGE_PORT" >"$TMP/edge.log" 2>&1 &
EDGE_PID=$!
PIDS+=("$EDGE_PID")

mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
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
    keepalive_requests 1000000;
    upstream region {
        server 127.0.0.1:$GW_PORT;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://region;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx/stdout.log" 2>&1 &
PIDS+=($!)

ready() { # url host [header]
    local deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        curl -fsS -H "Host: $2" ${3:+-H "$3"} "$1" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$TMP"/*.log >&2 || true
    die "$1 did not answer 200 within 30 s"
}
ready "http://127.0.0.1:$GW_PORT/bench/mock" "$HOST_HEADER"
ready "http://127.0.0.1:$EDGE_PORT/bench/mock" "$HOST_HEADER"
ready "http://127.0.0.1:$NGINX_PORT/bench/mock" "$HOST_HEADER"
# The edge forwards once the mesh says the region is up; until then it tries it anyway.
curl -fsS -D - -o /dev/null -H "Host: $HOST_HEADER" "http://127.0.0.1:$EDGE_PORT/bench/mock" |
    grep -qi '^x-causeway-region: region.bench' || die "the edge did not answer from the region"
AUTH_HEADER="Authorization: Bearer $AUTH_TOKEN"
cp "$TMP/edged.toml" "$TMP/region/apis/edged.toml"
"$BIN" deploy --config "$TMP/region" --admin "http://127.0.0.1:$ADMIN_PORT" \
    --token "$(cat "$TMP/region/data/admin.token")" >&2 || die "cannot deploy the edged API"
ready "http://127.0.0.1:$GW_PORT/bench/auth" "$AUTH_HOST" "$AUTH_HEADER"
# The edge refuses a missing token itself once the API reached it (no region header); the
# region takes the edge's word once a request through the edge leaves its authorizer
# uncalled (a node built before edges signed their allows never does: said, not fatal).
auth_calls() {
    curl -fsS "http://127.0.0.1:$ADMIN_PORT/metrics" |
        awk '/^causeway_PluginCallCount_total\{api="edged"/ { print $2; exit }'
}
deadline=$((SECONDS + 30))
while :; do
    refused=$(curl -s -D - -o /dev/null -H "Host: $AUTH_HOST" "http://127.0.0.1:$EDGE_PORT/bench/auth")
    grep -q '^HTTP/1.1 401' <<<"$refused" && ! grep -qi '^x-causeway-region' <<<"$refused" && break
    ((SECONDS < deadline)) || die "the edge does not run the authorizer within 30 s"
    sleep 0.2
done
trusted=no
while ((SECONDS < deadline + 10)); do
    before=$(auth_calls)
    curl -fsS -o /dev/null -H "Host: $AUTH_HOST" -H "$AUTH_HEADER" "http://127.0.0.1:$EDGE_PORT/bench/auth"
    if [[ $(auth_calls) == "$before" ]]; then trusted=yes; break; fi
    sleep 0.2
done
log "the region takes the edge's signed allow: $trusted"

cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
EOF
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
declare -A RPS P50 P99 EDGE_CPU REGION_CPU
TARGETS=(region-direct edge nginx-edge region-auth edge-auth nginx-edge-auth)
for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
        case $target in
            region-*) port=$GW_PORT ;;
            edge*) port=$EDGE_PORT ;;
            nginx-*) port=$NGINX_PORT ;;
        esac
        headers=(-H "Host: $HOST_HEADER")
        url="http://127.0.0.1:$port/bench/mock"
        if [[ $target == *-auth ]]; then
            headers=(-H "Host: $AUTH_HOST" -H "$AUTH_HEADER")
            url="http://127.0.0.1:$port/bench/auth"
        fi
        wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "${headers[@]}" "$url" >/dev/null
        e0=$(cpu_ticks "$EDGE_PID")
        r0=$(cpu_ticks "$REGION_PID")
        read -r requests duration p50 p99 errors < <(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency \
            -s "$TMP/report.lua" "${headers[@]}" "$url" | grep '^RESULT ' | cut -d' ' -f2-)
        ((errors == 0)) || die "$target: $errors errors (round $round)"
        # CPU per request of each of our processes (µs); nginx's own is not sampled.
        per_req() { awk -v d="$1" -v n="$requests" -v t="$CLK_TCK" 'BEGIN { printf "%.1f", d * 1e6 / t / n }'; }
        EDGE_CPU[$target]+="$(per_req $(($(cpu_ticks "$EDGE_PID") - e0))) "
        REGION_CPU[$target]+="$(per_req $(($(cpu_ticks "$REGION_PID") - r0))) "
        rps=$(awk -v r="$requests" -v d="$duration" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
        log "round $round $target: $rps requests/s, p50 ${p50} µs, p99 ${p99} µs"
        RPS[$target]+="$rps "
        P50[$target]+="$p50 "
        P99[$target]+="$p99 "
    done
done

echo "| target | requests/s | p50 (µs) | p99 (µs) | RSS (KiB) | edge CPU/req (µs) | region CPU/req (µs) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for target in "${TARGETS[@]}"; do
    r=$(tr ' ' '\n' <<<"${RPS[$target]}" | grep . | median)
    a=$(tr ' ' '\n' <<<"${P50[$target]}" | grep . | median)
    b=$(tr ' ' '\n' <<<"${P99[$target]}" | grep . | median)
    case $target in
        edge | edge-auth) rss=$(awk '/VmRSS/ { print $2 }' "/proc/$EDGE_PID/status") ;;
        region-direct | region-auth) rss=$(awk '/VmRSS/ { print $2 }' "/proc/$REGION_PID/status") ;;
        *) rss="" ;;
    esac
    ec=$(tr ' ' '\n' <<<"${EDGE_CPU[$target]}" | grep . | median)
    rc=$(tr ' ' '\n' <<<"${REGION_CPU[$target]}" | grep . | median)
    echo "| $target | $r | $a | $b | $rss | $ec | $rc |"
    printf -v "R_${target//-/_}" '%s' "$r"
    printf -v "L_${target//-/_}" '%s' "$b"
done
# shellcheck disable=SC2154
awk -v e="$R_edge" -v n="$R_nginx_edge" -v d="$R_region_direct" -v le="$L_edge" -v ln="$L_nginx_edge" \
    'BEGIN { printf "\nedge / nginx requests/s: %.2fx, p99: %.2fx; edge / direct: %.2fx (%d connections, %d s, %d round(s))\n", e / n, le / ln, e / d, '"$CONNECTIONS"', '"$DURATION"', '"$ROUNDS"' }'
# shellcheck disable=SC2154
awk -v e="$R_edge_auth" -v n="$R_nginx_edge_auth" -v d="$R_region_auth" -v le="$L_edge_auth" -v ln="$L_nginx_edge_auth" \
    'BEGIN { printf "behind the authorizer: edge / nginx requests/s: %.2fx, p99: %.2fx; edge / direct: %.2fx\n", e / n, le / ln, e / d }'
