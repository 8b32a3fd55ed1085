#!/usr/bin/env bash
#  certchain-devnet - a whole local CertChain network in one folder.
#
#  up     generates keys, a genesis and one config per service in DIR, starts
#         a relay, N validators and a verifier in the background (logs in
#         DIR/logs, pids in DIR/pids) and returns once the verifier and the
#         relay report height >= 1. Run again on the same DIR after `down`,
#         it restarts the same network from its stores.
#  env    prints `export CERTCHAIN_RELAY=... CERTCHAIN_VERIFIER=...` lines for
#         the shell: eval "$(certchain-devnet env --dir DIR)".
#  status each process (pid alive or not) and the heights the network reports.
#  down   stops exactly the processes `up` started, by the pids it recorded
#         (SIGTERM, then SIGKILL after a grace period), and removes pid files.
#
#  DESIGN: ports are chosen free by binding to port 0 (all of them at once, so
#  they differ) and written to DIR/ports, so two devnets run side by side and
#  a restart reuses the same endpoints. A pid is only signalled while
#  /proc/PID/exe is still the binary recorded with it, so `down` never hits an
#  unrelated process that reused a pid. The binaries are found in
#  CERTCHAIN_BIN_DIR if set, else next to this script (installed), else in
#  the meson build tree this script was copied into, else on PATH.
set -euo pipefail

program="certchain-devnet"

usage () {
    cat <<EOF
usage: $program COMMAND --dir DIR [OPTIONS]

commands:
  up --dir DIR [--validators N] [--timeout S] [--param NAME=VALUE ...]
                  create (first time) and start a local network; returns at height >= 1
  env --dir DIR   print export lines for CERTCHAIN_RELAY and CERTCHAIN_VERIFIER
  status --dir DIR
                  show each process and the heights it reports
  down --dir DIR  stop every process started by up (by recorded pid)

options:
  --validators N  initial validators in genesis (default 4; first up only)
  --timeout S     seconds up waits for height >= 1 (default 60)
  --param N=V     a consensus parameter for genesis (first up only), e.g.
                  --param timeout_commit_ms=200
  --log-level L   services' log level (default info)

environment:
  CERTCHAIN_BIN_DIR  folder holding certchain, certchain-relay, ... (overrides lookup)
EOF
}

die () {
    echo "$program: $*" >&2
    exit 1
}

#  --- Finding the binaries --------------------------------------------------

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

#  find_bin NAME SUBDIR: the path of binary NAME (SUBDIR: its folder in the
#  build tree), or exits with a clear error.
find_bin () {
    local name="$1" subdir="$2" candidate
    if [ -n "${CERTCHAIN_BIN_DIR:-}" ]; then
        for candidate in "$CERTCHAIN_BIN_DIR/$name" "$CERTCHAIN_BIN_DIR/$subdir/$name"; do
            [ -x "$candidate" ] && { echo "$candidate"; return; }
        done
        die "$name not found in CERTCHAIN_BIN_DIR=$CERTCHAIN_BIN_DIR"
    fi
    for candidate in "$script_dir/$name" "$script_dir/../../$subdir/$name"; do
        if [ -x "$candidate" ] && [ -f "$candidate" ]; then
            echo "$(cd "$(dirname "$candidate")" && pwd)/$name"
            return
        fi
    done
    candidate="$(command -v "$name" 2>/dev/null || true)"
    [ -n "$candidate" ] && { echo "$candidate"; return; }
    die "$name not found (next to $program, in the build tree, or on PATH); set CERTCHAIN_BIN_DIR"
}

#  --- Arguments -----------------------------------------------------------------

[ $# -ge 1 ] || { usage >&2; exit 2; }
command="$1"
shift
dir=""
validators=4
timeout=60
log_level="info"
params=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || die "--dir needs a value"; dir="$2"; shift 2 ;;
        --dir=*) dir="${1#--dir=}"; shift ;;
        --validators) [ $# -ge 2 ] || die "--validators needs a value"; validators="$2"; shift 2 ;;
        --validators=*) validators="${1#--validators=}"; shift ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
        --timeout=*) timeout="${1#--timeout=}"; shift ;;
        --param) [ $# -ge 2 ] || die "--param needs a value"; params+=("$2"); shift 2 ;;
        --param=*) params+=("${1#--param=}"); shift ;;
        --log-level) [ $# -ge 2 ] || die "--log-level needs a value"; log_level="$2"; shift 2 ;;
        --log-level=*) log_level="${1#--log-level=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$command" in
    -h|--help|help) usage; exit 0 ;;
    up|env|status|down) ;;
    *) die "unknown command '$command' (see --help)" ;;
esac
[ -n "$dir" ] || die "$command: --dir DIR is required"
case "$validators" in
    ''|*[!0-9]*) die "--validators: expected a number, got '$validators'" ;;
esac
[ "$validators" -ge 1 ] || die "--validators: at least 1"
case "$timeout" in
    ''|*[!0-9]*) die "--timeout: expected seconds, got '$timeout'" ;;
esac

#  --- Ports -----------------------------------------------------------------------

#  free_ports COUNT: COUNT distinct TCP ports on 127.0.0.1, free a moment ago.
#  Binds them all at once (python3, which deps.sh installs); without python3
#  it falls back to random ports that refuse a connection.
free_ports () {
    local count="$1"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$count" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
        return
    fi
    local ports=() port
    while [ ${#ports[@]} -lt "$count" ]; do
        port=$(( 20000 + RANDOM % 30000 ))
        case " ${ports[*]} " in *" $port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            ports+=("$port")
        fi
    done
    echo "${ports[*]}"
}

#  port_free PORT: true if nothing accepts connections on 127.0.0.1:PORT.
port_free () {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

#  ports_get NAME: a value from DIR/ports.
ports_get () {
    local line
    [ -f "$dir/ports" ] || die "$dir/ports missing: is $dir a devnet folder (run up first)?"
    line="$(grep -E "^$1=" "$dir/ports" || true)"
    [ -n "$line" ] || die "$dir/ports has no $1"
    echo "${line#*=}"
}

#  --- Processes ----------------------------------------------------------------------

#  pid_of NAME: the recorded pid of process NAME, or nothing.
pid_of () {
    [ -f "$dir/pids/$1.pid" ] && head -n 1 "$dir/pids/$1.pid" || true
}

#  pid_is_ours NAME PID: true if PID is alive and still runs the binary that
#  up recorded for NAME (second line of the pid file).
pid_is_ours () {
    local name="$1" pid="$2" recorded exe state
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    state="$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1 || true)"
    [ "$state" != "Z" ] || return 1
    recorded="$(sed -n 2p "$dir/pids/$name.pid" 2>/dev/null || true)"
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    exe="${exe% (deleted)}"
    [ -z "$recorded" ] || [ "$exe" = "$recorded" ]
}

#  start NAME BINARY ARGS...: starts a service in the background in its own
#  session, stdout and stderr to DIR/logs/NAME.log, pid to DIR/pids/NAME.pid.
start () {
    local name="$1" binary="$2" pid
    shift 2
    if pid_is_ours "$name" "$(pid_of "$name")"; then
        die "$name is already running (pid $(pid_of "$name")); run down first"
    fi
    echo "=== $(date '+%F %T') start $binary $*" >>"$dir/logs/$name.log"
    if command -v setsid >/dev/null 2>&1; then
        setsid "$binary" "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    else
        "$binary" "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    fi
    pid=$!
    printf '%s\n%s\n' "$pid" "$(readlink -f "$binary")" >"$dir/pids/$name.pid"
}

#  Names of the processes of this devnet, in start order.
process_names () {
    local file
    [ -d "$dir/pids" ] || return 0
    for file in relay validator-{1..64} verifier; do
        [ -f "$dir/pids/$file.pid" ] && echo "$file"
    done
    return 0
}

#  tail_logs: the last lines of every log, for an error message.
tail_logs () {
    local log
    for log in "$dir"/logs/*.log; do
        [ -f "$log" ] || continue
        echo "--- $log (last 15 lines)" >&2
        tail -n 15 "$log" >&2
    done
}

#  --- Status --------------------------------------------------------------------------

#  heights: "relay verifier" heights from `certchain status --json`, or nothing.
heights () {
    local json
    json="$("$cli" status --relay "$(ports_get relay_rpc)" \
            --verifier "$(ports_get verifier_query)" --json 2>/dev/null)" || return 0
    printf '%s' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
def h(x):
    return x.get("height", -1) if isinstance(x, dict) else -1
print(h(d.get("relay")), h(d.get("verifier")))' 2>/dev/null || true
}

#  --- Commands ---------------------------------------------------------------------------

do_env () {
    local relay verifier
    relay="$(ports_get relay_rpc)"
    verifier="$(ports_get verifier_query)"
    echo "export CERTCHAIN_RELAY=$relay"
    echo "export CERTCHAIN_VERIFIER=$verifier"
    echo "export CERTCHAIN_DEVNET=$(cd "$dir" && pwd)"
}

#  create: keys, genesis, ports and configs of a new devnet in DIR.
create () {
    local i pub chain_id args=() param ports

    mkdir -p "$dir/keys" "$dir/logs" "$dir/pids" "$dir/stores"
    chmod 700 "$dir/keys"
    echo "$program: creating a network of $validators validators in $dir" >&2

    "$cli" keygen --out "$dir/keys/ca.key" >/dev/null
    "$cli" keygen --out "$dir/keys/faucet.key" >/dev/null
    for i in $(seq 1 "$validators"); do
        "$cli" keygen --out "$dir/keys/validator-$i.key" >/dev/null
    done

    chain_id="devnet-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
    args=(--out "$dir/genesis.zpl" --chain-id "$chain_id"
          --ca "$(cat "$dir/keys/ca.key.pub")"
          --account "$(cat "$dir/keys/faucet.key.pub")=1000000000000000")
    for i in $(seq 1 "$validators"); do
        args+=(--validator "$(cat "$dir/keys/validator-$i.key.pub")")
    done
    for param in ${params[@]+"${params[@]}"}; do
        args+=(--param "$param")
    done
    "$cli" genesis "${args[@]}" >/dev/null

    #  relay: 3 ports; validators: 1 each; verifier: 1.
    read -r -a ports <<<"$(free_ports $((validators + 4)))"
    {
        echo "relay_rpc=tcp://127.0.0.1:${ports[0]}"
        echo "relay_pub=tcp://127.0.0.1:${ports[1]}"
        echo "relay_gossip=tcp://127.0.0.1:${ports[2]}"
        echo "verifier_query=tcp://127.0.0.1:${ports[3]}"
        for i in $(seq 1 "$validators"); do
            echo "validator_${i}_admin=tcp://127.0.0.1:${ports[$((i + 3))]}"
        done
    } >"$dir/ports"
    echo "$validators" >"$dir/validators"
    write_configs
}

#  write_configs: one ZPL file per service, from DIR/ports.
write_configs () {
    local i abs relay_rpc relay_pub relay_gossip
    abs="$(cd "$dir" && pwd)"
    relay_rpc="$(ports_get relay_rpc)"
    relay_pub="$(ports_get relay_pub)"
    relay_gossip="$(ports_get relay_gossip)"
    common () {
        cat <<EOF
log
    level = "$log_level"
store
    path = "$abs/stores/$1"
genesis
    path = "$abs/genesis.zpl"
EOF
    }
    {
        echo "#  relay of devnet $abs"
        common relay
        cat <<EOF
relay
    rpc = "$relay_rpc"
    pub = "$relay_pub"
    gossip = "$relay_gossip"
EOF
    } >"$dir/relay.zpl"
    for i in $(seq 1 "$(cat "$dir/validators")"); do
        {
            echo "#  validator $i of devnet $abs"
            common "validator-$i"
            cat <<EOF
relay
    rpc = "$relay_rpc"
    pub = "$relay_pub"
    gossip = "$relay_gossip"
validator
    admin = "$(ports_get "validator_${i}_admin")"
    key = "$abs/keys/validator-$i.key"
    #  down stops the whole network at once: resigning then would empty
    #  the validator set and the chain could never restart.
    resign_on_stop = "0"
EOF
        } >"$dir/validator-$i.zpl"
    done
    {
        echo "#  verifier of devnet $abs"
        common verifier
        cat <<EOF
relay
    rpc = "$relay_rpc"
    pub = "$relay_pub"
    gossip = "$relay_gossip"
verifier
    query = "$(ports_get verifier_query)"
EOF
    } >"$dir/verifier.zpl"
}

do_up () {
    local i name port n deadline h relay_h verifier_h
    relay_bin="$(find_bin certchain-relay services/relay)"
    validator_bin="$(find_bin certchain-validator services/validator)"
    verifier_bin="$(find_bin certchain-verifier services/verifier)"
    command -v python3 >/dev/null 2>&1 || die "python3 is needed (scripts/deps.sh installs it)"

    if [ -f "$dir/genesis.zpl" ]; then
        echo "$program: restarting the network in $dir" >&2
        mkdir -p "$dir/logs" "$dir/pids"
        write_configs
    else
        if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
            die "$dir exists and is not a devnet folder (no genesis.zpl); choose an empty or new folder"
        fi
        mkdir -p "$dir"
        create
    fi
    for name in $(process_names); do
        pid_is_ours "$name" "$(pid_of "$name")" && die "$name already running (pid $(pid_of "$name")); run down first"
    done
    #  A port taken since it was chosen (or since the last run) is fatal.
    while IFS='=' read -r name port; do
        port="${port##*:}"
        port_free "$port" || die "port $port ($name) is in use; run down, or use a new --dir"
    done <"$dir/ports"

    n="$(cat "$dir/validators")"
    start relay "$relay_bin" -c "$dir/relay.zpl"
    for i in $(seq 1 "$n"); do
        start "validator-$i" "$validator_bin" -c "$dir/validator-$i.zpl"
    done
    start verifier "$verifier_bin" -c "$dir/verifier.zpl"

    deadline=$(( $(date +%s) + timeout ))
    while :; do
        for name in $(process_names); do
            if ! pid_is_ours "$name" "$(pid_of "$name")"; then
                tail_logs
                do_down >/dev/null 2>&1 || true
                die "$name exited during start-up (see $dir/logs/$name.log)"
            fi
        done
        h="$(heights)"
        relay_h="${h%% *}"
        verifier_h="${h##* }"
        if [ -n "$h" ] && [ "$relay_h" -ge 1 ] 2>/dev/null && [ "$verifier_h" -ge 1 ] 2>/dev/null; then
            break
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            tail_logs
            die "height 1 not reached within ${timeout}s (relay ${relay_h:-?}, verifier ${verifier_h:-?}); processes left running, stop them with: $program down --dir $dir"
        fi
        sleep 0.2
    done
    echo "$program: up: relay, $n validators and a verifier in $dir at height $verifier_h" >&2
    echo "$program: use it with: eval \"\$($program env --dir $dir)\"" >&2
}

do_status () {
    local name pid h
    [ -f "$dir/ports" ] || die "$dir/ports missing: is $dir a devnet folder (run up first)?"
    [ -d "$dir/pids" ] || die "$dir is not a running devnet (no pids folder)"
    for name in $(process_names); do
        pid="$(pid_of "$name")"
        if pid_is_ours "$name" "$pid"; then
            printf '%-14s pid %-8s running\n' "$name" "$pid"
        else
            printf '%-14s pid %-8s stopped\n' "$name" "$pid"
        fi
    done
    local args=(status --relay "$(ports_get relay_rpc)" --verifier "$(ports_get verifier_query)")
    for i in $(seq 1 "$(cat "$dir/validators")"); do
        args+=(--validator "$(ports_get "validator_${i}_admin")")
    done
    "$cli" "${args[@]}" --timeout 2 || echo "(certchain status failed: see above)"
}

do_down () {
    local name pid names=() pids=() i deadline alive
    for name in $(process_names); do
        pid="$(pid_of "$name")"
        if pid_is_ours "$name" "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name")
            pids+=("$pid")
        else
            rm -f "$dir/pids/$name.pid"
        fi
    done
    deadline=$(( $(date +%s) + 15 ))
    while :; do
        alive=0
        for i in "${!pids[@]}"; do
            if pid_is_ours "${names[$i]}" "${pids[$i]}"; then
                alive=1
            fi
        done
        [ "$alive" -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for i in "${!pids[@]}"; do
                if pid_is_ours "${names[$i]}" "${pids[$i]}"; then
                    echo "$program: ${names[$i]} (pid ${pids[$i]}) ignored SIGTERM; killing" >&2
                    kill -KILL "${pids[$i]}" 2>/dev/null || true
                fi
            done
            sleep 0.2
            break
        fi
        sleep 0.1
    done
    for name in ${names[@]+"${names[@]}"}; do
        rm -f "$dir/pids/$name.pid"
    done
    echo "$program: down: stopped ${#names[@]} processes of $dir" >&2
}

case "$command" in
    up|status) cli="$(find_bin certchain tools/cli)" ;;
esac
case "$command" in
    up) do_up ;;
    env) do_env ;;
    status) do_status ;;
    down) do_down ;;
esac
