#!/usr/bin/env bash
# WebSocket messages per second, in one run: a WEBSOCKET API's two-way MOCK route on
# causeway against a bare tokio-tungstenite echo server (the library alone), driven by the
# same closed-loop client (`causeway-ws-bench load`: CONNECTIONS clients each sending a
# message and waiting for its answer); and a two-way HTTP_PROXY route (each message POSTed
# to `causeway-bench-server`, its answer sent back). Prints a markdown table with ratios.
#
# Knobs: CONNECTIONS (64), DURATION (10 s), ROUNDS (1; medians), SKIP_BUILD=1,
# CAUSEWAY_BIN, KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
HOST_HEADER=chat.execute-api.localhost

log() { echo "[ws_load] $*" >&2; }
die() { log "$*"; exit 1; }

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    cargo build --release --bin causeway --bin causeway-ws-bench --bin causeway-bench-server >&2
fi
BIN=${CAUSEWAY_BIN:-target/release/causeway}
WSB=${WS_BENCH_BIN:-target/release/causeway-ws-bench}
UPB=${BENCH_SERVER_BIN:-target/release/causeway-bench-server}
[[ -x $BIN && -x $WSB && -x $UPB ]] || die "build first (or unset SKIP_BUILD)"

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
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
source benches/ports.sh
free_port GW_PORT
free_port ADMIN_PORT
free_port ECHO_PORT
free_port UPSTREAM_PORT

mkdir -p "$TMP/config/apis"
cat > "$TMP/config/causeway.toml" <<EOF
version = 1
[node]
listen = "127.0.0.1:$GW_PORT"
data_dir = "data"
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
EOF
# The MOCK answer is the message's own bytes: both servers send back what they got.
cat > "$TMP/config/apis/chat.toml" <<EOF
version = 1
id = "chat"
name = "Chat"
type = "WEBSOCKET"
[[stages]]
name = "bench"
variables = { upstream = "http://127.0.0.1:$UPSTREAM_PORT" }
[[routes]]
key = "echo"
route_response = true
integration = { type = "MOCK", body = '{"action":"echo"}' }
[[routes]]
key = "proxy"
route_response = true
integration = { type = "HTTP_PROXY", uri = "\${stageVariables.upstream}/ws" }
EOF

RUST_LOG=warn "$BIN" serve --config "$TMP/config" >"$TMP/causeway.log" 2>&1 &
PIDS+=($!)
"$WSB" echo "127.0.0.1:$ECHO_PORT" >"$TMP/echo.log" 2>&1 &
PIDS+=($!)
"$UPB" --listen "127.0.0.1:$UPSTREAM_PORT" >"$TMP/upstream.log" 2>&1 &
PIDS+=($!)

wait_port() {
    local port=$1 deadline=$((SECONDS + 30))
    while ((SECONDS < deadline)); do
        ss -Htln "sport = :$port" | grep -q . && return 0
        sleep 0.1
    done
    cat "$TMP"/*.log >&2 || true
    die "nothing listens on $port after 30 s"
}
wait_port "$GW_PORT"
wait_port "$ECHO_PORT"
wait_port "$UPSTREAM_PORT"

run() { # url host message → "msgs/s p50 p99 errors"
    "$WSB" load "$1" "$2" "$CONNECTIONS" "$DURATION" "$3"
}
TARGETS=(echo causeway causeway-proxy)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A RPS P50 P99
for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
        case $target in
            echo) out=$(run "ws://127.0.0.1:$ECHO_PORT/" "127.0.0.1:$ECHO_PORT" '{"action":"echo"}') ;;
            causeway) out=$(run "ws://127.0.0.1:$GW_PORT/bench" "$HOST_HEADER" '{"action":"echo"}') ;;
            causeway-proxy) out=$(run "ws://127.0.0.1:$GW_PORT/bench" "$HOST_HEADER" '{"action":"proxy"}') ;;
        esac
        read -r rps p50 p99 errors <<<"$out"
        ((errors == 0)) || die "$target: $errors clients failed (round $round)"
        log "round $round $target: $rps msg/s, p50 ${p50} µs, p99 ${p99} µs"
        RPS[$target]+="$rps "
        P50[$target]+="$p50 "
        P99[$target]+="$p99 "
    done
done

echo "| target | messages/s | p50 (µs) | p99 (µs) |"
echo "| --- | ---: | ---: | ---: |"
for target in "${TARGETS[@]}"; do
    r=$(tr ' ' '\n' <<<"${RPS[$target]}" | grep . | median)
    a=$(tr ' ' '\n' <<<"${P50[$target]}" | grep . | median)
    b=$(tr ' ' '\n' <<<"${P99[$target]}" | grep . | median)
    echo "| $target | $r | $a | $b |"
    printf -v "MED_${target//-/_}" '%s' "$r"
done
# shellcheck disable=SC2154
awk -v c="$MED_causeway" -v p="$MED_causeway_proxy" -v e="$MED_echo" \
    'BEGIN { printf "\ncauseway MOCK / bare echo: %.2fx; causeway HTTP_PROXY / bare echo: %.2fx (%d connections, %d s, %d round(s))\n", c / e, p / e, '"$CONNECTIONS"', '"$DURATION"', '"$ROUNDS"' }'
