# Sourced by the bench scripts: `free_port VAR` sets VAR to a free loopback port below the
# ephemeral range (so no client connection can already hold it), distinct from the ones
# taken before (call it in the script itself, not in a subshell, to track them). The
# sourcing script defines `die`.
USED_PORTS=" "
EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
((EPHEMERAL_LOW > 12000)) || EPHEMERAL_LOW=32768
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
        [[ $USED_PORTS == *" $p "* ]] && continue
        if ! ss -Htan "sport = :$p" | grep -q .; then
            USED_PORTS+="$p "
            printf -v "$1" '%s' "$p"
            return
        fi
    done
    die "no free port found"
}
