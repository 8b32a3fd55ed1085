#!/usr/bin/env bash
#  certchain-devnet - a whole local CertChain network in one folder.
#
#  up     generates keys, a genesis, a CA policy and one config per service
#         in DIR, then starts in the background (logs in DIR/logs, pids in
#         DIR/pids) a relay, a certification authority (CA), a verifier and
#         N validators. By default the genesis holds no validator: the CA is
#         marked producing, so it alone makes the first blocks, and each
#         validator starts with an uncertified key and joins through the
#         CA's challenge (DESIGN.md section 5). up returns once every
#         validator is in the verifier's validator set and the grown set has
#         committed a block. --genesis-validators is the older way: N
#         validators in genesis, a CA that only certifies (for `add`).
#         Run again on the same DIR after `down`, it restarts the same
#         network from its stores.
#  add    starts N more validators on a running devnet; they join the same way.
#  env    prints `export CERTCHAIN_RELAY=... CERTCHAIN_VERIFIER=...
#         CERTCHAIN_CA=... CERTCHAIN_RELAY_PUB=...` lines (the CLI's and the
#         tap's endpoints): eval "$(certchain-devnet env --dir DIR)".
#  status each process (pid alive or not) and what the services report.
#  stop   stops one process. A validator gets one SIGTERM: as a member it
#         resigns first (its Resign is committed) and then exits, so the
#         chain goes on without it.
#  start  starts one stopped process again (a validator that resigned joins
#         again through the CA).
#  down   stops exactly the processes this devnet started, by the pids it
#         recorded, WITHOUT any validator resigning (see below), and removes
#         the pid files.
#
#  Topology: the chain id, the faucet account, the consensus parameters,
#  the CA policy and the default validator count come from a topology file,
#  by default the source tree's deploy/topology.env (--topology FILE names
#  another), read through deploy/certchain-topology: the same file and the
#  same reader from which docker-compose's init makes its genesis and its
#  CA its policy, so a devnet and the compose network are the same network.
#  The one intended difference is ports (below). The file used is copied
#  into DIR/topology.env.
#
#  DESIGN: ports are chosen free by binding to port 0 (all of them at once, so
#  they differ) and written to DIR/ports, so two devnets run side by side and
#  a restart reuses the same endpoints. A pid is only signalled while
#  /proc/PID/exe is still the binary recorded with it, so `down` never hits an
#  unrelated process that reused a pid. The binaries are found in
#  CERTCHAIN_BIN_DIR if set, else next to this script (installed), else in
#  the meson build tree this script was copied into, else on PATH. The
#  topology file and certchain-topology are found in the source tree
#  (beside tools/devnet, or the one certchain-devnet.source-root in the
#  build tree names), else installed (bindir, datadir/certchain).
#
#  Stopping and resigning: a validator keeps the service's default
#  validator/resign_on_stop = 1, so a SIGTERM (`stop`, or a kill by hand)
#  makes a member resign before it exits, as in production. `down` stops the
#  whole network and must not shrink the set (every validator resigning
#  would leave only the CA, and a restart would have to re-join all of
#  them), so it stops the relay and the verifier first — with the relay gone
#  no block, hence no Resign, can be committed — then sends SIGTERM to the
#  CA and every validator at once, and repeats SIGTERM to the validators
#  until they exit (a validator's second signal means "exit now"). The set
#  on chain stays whole, and `up` restarts the network as it was. The
#  effect is that of validator/resign_on_stop = 0 for the whole network at
#  once, while single stops still resign.
set -euo pipefail

program="certchain-devnet"

usage () {
    cat <<EOF
usage: $program COMMAND --dir DIR [OPTIONS]

commands:
  up --dir DIR [--topology FILE] [--validators N] [--genesis-validators] [--timeout S]
     [--param NAME=VALUE ...]
                  create (first time) and start a local network: relay, CA, verifier
                  and N validators that join through the CA's challenge; returns once
                  all of them are in the validator set
  add --dir DIR N start N more validators on a running devnet; they join the same way
  env --dir DIR   print export lines for CERTCHAIN_RELAY, CERTCHAIN_VERIFIER, CERTCHAIN_CA
                  (the CLI) and CERTCHAIN_RELAY_PUB (certchain-tap)
  status --dir DIR
                  show each process and what the services report
  stop --dir DIR NAME
                  stop one process: relay, ca, verifier, validator-I or just I; a
                  validator resigns from the set first (SIGTERM, waits for its exit)
  start --dir DIR NAME
                  start one stopped process again (a validator joins again)
  down --dir DIR  stop every process of the devnet (by recorded pid); no validator
                  resigns, so \`up\` restarts the same network

options:
  --topology FILE the topology (first up only): chain id, faucet, consensus parameters,
                  CA policy, validator count; default: deploy/topology.env of the source
                  tree, the file docker-compose uses too
  --validators N  validators (default: the topology's VALIDATORS, else 4; 0: the CA
                  alone, add them later; first up only)
  --genesis-validators
                  put the N validators in genesis instead of joining (first up only);
                  the CA then does not produce, it only certifies validators that
                  \`add\` starts
  --timeout S     seconds up, add and start wait (default 60)
  --param N=V     a consensus parameter for genesis (first up only), after the
                  topology's (so it wins), e.g. --param timeout_commit_ms=200
  --log-level L   services' log level (default info)

files in DIR: topology.env (a copy of the topology used), genesis.zpl,
  ca-policy.zpl (the CA's policy, from the topology: edit it, then
  $program stop --dir DIR ca && $program start --dir DIR ca), one .zpl config per
  process, keys/ (faucet.key holds the funded account when the topology has
  FAUCET=1), logs/, stores/, ports (chosen free: the one difference from compose).

environment:
  CERTCHAIN_BIN_DIR  folder holding certchain, certchain-relay, ... (overrides lookup)
EOF
}

die () {
    echo "$program: $*" >&2
    exit 1
}

say () {
    echo "$program: $*" >&2
}

#  plural COUNT NOUN: "1 validator", "3 validators".
plural () {
    if [ "$1" -eq 1 ]; then echo "$1 $2"; else echo "$1 ${2}s"; fi
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

#  --- The topology -------------------------------------------------------------------

#  source_root: the source tree this script belongs to, or nothing: the
#  folder above tools/devnet when run from the source tree, else the one
#  the build tree's certchain-devnet.source-root names.
source_root () {
    local root
    if [ -f "$script_dir/../../deploy/topology.env" ]; then
        (cd "$script_dir/../.." && pwd)
    elif [ -f "$script_dir/certchain-devnet.source-root" ]; then
        root="$(head -n 1 "$script_dir/certchain-devnet.source-root")"
        if [ -f "$root/deploy/topology.env" ]; then echo "$root"; fi
    fi
    return 0
}

#  topology_tool: the path of certchain-topology (the topology reader).
topology_tool () {
    local root candidate
    root="$(source_root)"
    for candidate in ${root:+"$root/deploy/certchain-topology"} "$script_dir/certchain-topology"; do
        [ -x "$candidate" ] && [ -f "$candidate" ] && { echo "$candidate"; return; }
    done
    candidate="$(command -v certchain-topology 2>/dev/null || true)"
    [ -n "$candidate" ] && { echo "$candidate"; return; }
    die "certchain-topology not found (deploy/ of the source tree, next to $program, or on PATH)"
}

#  topology_file: the topology this command uses: --topology, else the
#  source tree's deploy/topology.env, else the installed one.
topology_file () {
    local root candidate
    if [ -n "$topology" ]; then
        [ -f "$topology" ] || die "--topology: no such file '$topology'"
        echo "$(cd "$(dirname "$topology")" && pwd)/$(basename "$topology")"
        return
    fi
    root="$(source_root)"
    for candidate in ${root:+"$root/deploy/topology.env"} \
                     "$script_dir/../share/certchain/topology.env"; do
        [ -f "$candidate" ] && { echo "$(cd "$(dirname "$candidate")" && pwd)/topology.env"; return; }
    done
    die "no topology file (deploy/topology.env of the source tree, or installed); give --topology FILE"
}

#  topology_run COMMAND ARGS...: certchain-topology COMMAND on the topology
#  file of this devnet (topology_used: DIR/topology.env once created).
topology_run () {
    local sub="$1"
    shift
    case "$sub" in
        get) "$(topology_tool)" get "$1" "$topology_used" ;;
        *) "$(topology_tool)" "$sub" "$topology_used" "$@" ;;
    esac
}

#  --- Arguments -----------------------------------------------------------------

[ $# -ge 1 ] || { usage >&2; exit 2; }
command="$1"
shift
dir=""
validators=""
topology=""
topology_used=""
genesis_validators=0
timeout=60
log_level="info"
params=()
positional=()
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || die "--dir needs a value"; dir="$2"; shift 2 ;;
        --dir=*) dir="${1#--dir=}"; shift ;;
        --validators) [ $# -ge 2 ] || die "--validators needs a value"; validators="$2"; shift 2 ;;
        --validators=*) validators="${1#--validators=}"; shift ;;
        --genesis-validators) genesis_validators=1; shift ;;
        --topology) [ $# -ge 2 ] || die "--topology needs a value"; topology="$2"; shift 2 ;;
        --topology=*) topology="${1#--topology=}"; shift ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
        --timeout=*) timeout="${1#--timeout=}"; shift ;;
        --param) [ $# -ge 2 ] || die "--param needs a value"; params+=("$2"); shift 2 ;;
        --param=*) params+=("${1#--param=}"); shift ;;
        --log-level) [ $# -ge 2 ] || die "--log-level needs a value"; log_level="$2"; shift 2 ;;
        --log-level=*) log_level="${1#--log-level=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) die "unknown argument '$1' (see --help)" ;;
        *) positional+=("$1"); shift ;;
    esac
done
case "$command" in
    -h|--help|help) usage; exit 0 ;;
    up|add|env|status|stop|start|down) ;;
    *) die "unknown command '$command' (see --help)" ;;
esac
[ -n "$dir" ] || die "$command: --dir DIR is required"
case "$command" in
    add|stop|start) [ ${#positional[@]} -eq 1 ] \
        || die "$command: expected one argument (see --help)" ;;
    *) [ ${#positional[@]} -eq 0 ] || die "unknown argument '${positional[0]}' (see --help)" ;;
esac
case "$validators" in
    *[!0-9]*) die "--validators: expected a number, got '$validators'" ;;
esac
if [ "$genesis_validators" -eq 1 ] && [ -n "$validators" ] && [ "$validators" -lt 1 ]; then
    die "--validators: at least 1 with --genesis-validators"
fi
case "$timeout" in
    ''|*[!0-9]*) die "--timeout: expected seconds, got '$timeout'" ;;
esac

#  --- Ports -----------------------------------------------------------------------

#  free_ports COUNT: COUNT distinct TCP ports on 127.0.0.1, free a moment ago
#  and not already in DIR/ports. Binds them all at once (python3, which
#  deps.sh installs); without python3 it falls back to random ports that
#  refuse a connection.
free_ports () {
    local count="$1" taken=""
    [ -f "$dir/ports" ] && taken="$(sed -n 's/.*:\([0-9][0-9]*\)$/\1/p' "$dir/ports" | tr '\n' ' ')"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$count" "$taken" <<'EOF'
import socket, sys
taken = set(sys.argv[2].split())
socks, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    port = str(s.getsockname()[1])
    if port not in taken:
        ports.append(port)
print(" ".join(ports))
EOF
        return
    fi
    local ports=() port
    while [ ${#ports[@]} -lt "$count" ]; do
        port=$(( 20000 + RANDOM % 30000 ))
        case " ${ports[*]} $taken " in *" $port "*) continue ;; esac
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

#  --- The devnet's shape ---------------------------------------------------------------

#  validator_count: validators this devnet has (up and add write it).
validator_count () {
    cat "$dir/validators" 2>/dev/null || echo 0
}

#  producing: true when the CA produces blocks (validators join; the
#  default), false for a --genesis-validators devnet.
producing () {
    [ "$(cat "$dir/mode" 2>/dev/null || echo genesis)" = "join" ]
}

#  validator_pub I: the public key of validator I.
validator_pub () {
    cat "$dir/keys/validator-$1.key.pub"
}

#  --- Processes ----------------------------------------------------------------------

#  pid_of NAME: the recorded pid of process NAME, or nothing.
pid_of () {
    if [ -f "$dir/pids/$1.pid" ]; then
        head -n 1 "$dir/pids/$1.pid"
    fi
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

#  running NAME: true if process NAME of this devnet runs.
running () {
    pid_is_ours "$1" "$(pid_of "$1")"
}

#  binary_of NAME: the binary process NAME runs.
binary_of () {
    case "$1" in
        relay) find_bin certchain-relay services/relay ;;
        ca) find_bin certchain-ca services/ca ;;
        verifier) find_bin certchain-verifier services/verifier ;;
        validator-*) find_bin certchain-validator services/validator ;;
    esac
}

#  start NAME: starts process NAME from its config DIR/NAME.zpl in the
#  background in its own session, stdout and stderr to DIR/logs/NAME.log,
#  pid (and binary) to DIR/pids/NAME.pid.
start () {
    local name="$1" binary pid
    binary="$(binary_of "$name")"
    running "$name" && die "$name is already running (pid $(pid_of "$name"))"
    [ -f "$dir/$name.zpl" ] || die "$dir/$name.zpl missing: no process '$name' in this devnet"
    mkdir -p "$dir/logs" "$dir/pids"
    echo "=== $(date '+%F %T') start $binary -c $dir/$name.zpl" >>"$dir/logs/$name.log"
    if command -v setsid >/dev/null 2>&1; then
        setsid "$binary" -c "$dir/$name.zpl" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    else
        "$binary" -c "$dir/$name.zpl" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    fi
    pid=$!
    printf '%s\n%s\n' "$pid" "$(readlink -f "$binary")" >"$dir/pids/$name.pid"
}

#  Names of the processes of this devnet that have a pid file, in start order.
process_names () {
    local name
    [ -d "$dir/pids" ] || return 0
    for name in $(all_names); do
        [ -f "$dir/pids/$name.pid" ] && echo "$name"
    done
    return 0
}

#  devnet_names: every process this devnet has, whether it runs or not.
devnet_names () {
    local i
    echo relay ca verifier
    for i in $(seq 1 "$(validator_count)"); do
        echo "validator-$i"
    done
}

#  all_names: devnet_names and any other validator pid file found (from a
#  damaged folder), so down misses nothing.
all_names () {
    local i file count
    count="$(validator_count)"
    devnet_names
    for file in "$dir"/pids/validator-*.pid; do
        [ -f "$file" ] || continue
        i="${file##*/validator-}"
        i="${i%.pid}"
        case "$i" in ''|*[!0-9]*) continue ;; esac
        [ "$i" -gt "$count" ] && echo "validator-$i"
    done
    return 0
}

#  tail_logs [NAME...]: the last lines of the logs (all when none named),
#  for an error message.
tail_logs () {
    local log name
    if [ $# -eq 0 ]; then
        # shellcheck disable=SC2046
        set -- $(devnet_names)
    fi
    for name in "$@"; do
        log="$dir/logs/$name.log"
        [ -f "$log" ] || continue
        echo "--- $log (last 15 lines)" >&2
        tail -n 15 "$log" >&2
    done
}

#  stop_pids SECONDS REPEAT NAME...: SIGTERM to each named running process,
#  wait up to SECONDS for all to exit (REPEAT=1: SIGTERM again every second
#  to those still alive), SIGKILL whatever is left, and remove the pid
#  files. Prints the names it stopped.
stop_pids () {
    local seconds="$1" repeat="$2" name pid names=() pids=() i deadline alive next
    shift 2
    for name in "$@"; do
        pid="$(pid_of "$name")"
        if pid_is_ours "$name" "$pid"; then
            kill -TERM "$pid" 2>/dev/null || true
            names+=("$name")
            pids+=("$pid")
        else
            rm -f "$dir/pids/$name.pid"
        fi
    done
    deadline=$(( $(date +%s) + seconds ))
    next=$(( $(date +%s) + 1 ))
    while [ ${#pids[@]} -gt 0 ]; do
        alive=0
        for i in "${!pids[@]}"; do
            pid_is_ours "${names[$i]}" "${pids[$i]}" && alive=1
        done
        [ "$alive" -eq 0 ] && break
        if [ "$(date +%s)" -ge "$deadline" ]; then
            for i in "${!pids[@]}"; do
                if pid_is_ours "${names[$i]}" "${pids[$i]}"; then
                    say "${names[$i]} (pid ${pids[$i]}) did not stop within ${seconds}s; killing"
                    kill -KILL "${pids[$i]}" 2>/dev/null || true
                fi
            done
            sleep 0.2
            break
        fi
        if [ "$repeat" -eq 1 ] && [ "$(date +%s)" -ge "$next" ]; then
            for i in "${!pids[@]}"; do
                pid_is_ours "${names[$i]}" "${pids[$i]}" && kill -TERM "${pids[$i]}" 2>/dev/null
            done
            next=$(( $(date +%s) + 1 ))
        fi
        sleep 0.1
    done
    for name in ${names[@]+"${names[@]}"}; do
        rm -f "$dir/pids/$name.pid"
        echo "$name"
    done
}

#  --- Asking the network ---------------------------------------------------------------

#  verifier_height: the verifier's height, or -1.
verifier_height () {
    "$cli" status --relay "$(ports_get relay_rpc)" --verifier "$(ports_get verifier_query)" \
        --timeout 2 --json 2>/dev/null | python3 -c '
import json, sys
try:
    v = json.load(sys.stdin).get("verifier")
    print(v.get("height", -1) if isinstance(v, dict) else -1)
except ValueError:
    print(-1)' 2>/dev/null || echo -1
}

#  validator_set: the public keys of the verifier's validator set for the
#  next height, one a line (nothing when the verifier does not answer).
validator_set () {
    "$cli" validators --verifier "$(ports_get verifier_query)" --timeout 2 --json \
        2>/dev/null | python3 -c '
import json, sys
for v in json.load(sys.stdin).get("validators", []):
    print(v.get("pubkey", ""))' 2>/dev/null || true
}

#  last_join_line I: validator I's last log line about joining, if any.
last_join_line () {
    grep -E 'join|certified|in the validator set|banned' "$dir/logs/validator-$1.log" \
        2>/dev/null | tail -n 1 || true
}

#  wait_ready WHAT INDEX...: waits until every process that has a pid file
#  runs, the verifier is at height >= 1, validators INDEX... are all in its
#  validator set, and a block has been committed after that (so the grown
#  set signs). On a process that exits: its log, then exit. On timeout: the
#  log tails, what each missing validator last said about its join, then
#  exit; the processes are left running.
wait_ready () {
    local what="$1" deadline name h members missing i since=-1
    shift
    deadline=$(( $(date +%s) + timeout ))
    while :; do
        for name in $(process_names); do
            if ! running "$name"; then
                tail_logs "$name"
                die "$name exited (see $dir/logs/$name.log); stop the rest with: $program down --dir $dir"
            fi
        done
        h="$(verifier_height)"
        missing=()
        if [ "$h" -ge 1 ]; then
            members=" $(validator_set | tr '\n' ' ') "
            for i in "$@"; do
                case "$members" in
                    *" $(validator_pub "$i") "*) ;;
                    *) missing+=("$i") ;;
                esac
            done
            if [ ${#missing[@]} -eq 0 ]; then
                [ "$since" -lt 0 ] && since="$h"
                [ "$h" -gt "$since" ] && break
            else
                since=-1
            fi
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            #  The logs that tell why: all of them while there is no block
            #  yet, else the CA's and those of the validators missing.
            if [ "$h" -lt 1 ]; then
                tail_logs
            else
                tail_logs ca ${missing[@]+$(printf 'validator-%s ' "${missing[@]}")}
            fi
            if [ "$h" -lt 1 ]; then
                say "the verifier is at height $h (no block yet)"
            elif [ ${#missing[@]} -eq 0 ]; then
                say "every validator is in the set at height $since, but no block followed"
            fi
            for i in ${missing[@]+"${missing[@]}"}; do
                say "validator-$i is not in the validator set; its last word on joining:" \
                    "$(last_join_line "$i")"
            done
            die "$what: not ready within ${timeout}s (see the logs above and in $dir/logs);" \
                "processes left running, stop them with: $program down --dir $dir"
        fi
        sleep 0.3
    done
    ready_height="$h"
}

#  --- Creating a devnet ------------------------------------------------------------------

#  policy_file: writes DIR/ca-policy.zpl, the policy the topology names
#  (what compose's CA writes from the same file), with a comment on
#  changing it.
policy_file () {
    local abs="$1" body
    body="$(topology_run policy)" || die "cannot make the CA policy from $topology_used"
    {
        cat <<EOF
#  The policy of this devnet's certification authority (config key
#  ca/policy in ca.zpl): what a candidate must measure and solve to be
#  certified. Made from the topology's POLICY_ keys; a key left out keeps
#  the CA's default (\`certchain-ca -c $abs/ca.zpl --print-config\` shows
#  the effective policy). To change it for this devnet, edit a value (e.g.
#  deadline_ms, packets, min_memory_mb), then restart the CA:
#      $program stop --dir $abs ca && $program start --dir $abs ca
#  Its effect shows in the CA's log and in \`certchain ca-log\`. A "banned"
#  section lists keys the CA refuses:
#  banned
#      <64 hex characters of a public key> = "why"

EOF
        echo "$body"
    } >"$dir/ca-policy.zpl"
}

#  create: keys, genesis, policy, ports and configs of a new devnet in DIR.
create () {
    local i args=() arg topology_args param ports abs
    abs="$(cd "$dir" && pwd)"

    mkdir -p "$dir/keys" "$dir/logs" "$dir/pids" "$dir/stores"
    chmod 700 "$dir/keys"
    cp "$topology_used" "$dir/topology.env"
    topology_used="$abs/topology.env"
    if [ "$genesis_validators" -eq 1 ]; then
        say "creating a network of $validators genesis validators in $dir"
    else
        say "creating a network in $dir: a producing CA, and $(plural "$validators" validator) that join"
    fi

    "$cli" keygen --out "$dir/keys/ca.key" >/dev/null
    if [ "$(topology_run get FAUCET)" = 1 ]; then
        "$cli" keygen --out "$dir/keys/faucet.key" >/dev/null
    fi
    for i in $(seq 1 "$validators"); do
        "$cli" keygen --out "$dir/keys/validator-$i.key" >/dev/null
    done

    #  The topology's chain id, faucet account and parameters (one
    #  argument a line), exactly as compose's init gives them.
    args=(--out "$dir/genesis.zpl")
    topology_args="$(topology_run genesis-args --faucet "$abs/keys/faucet.key.pub")" \
        || die "cannot read the topology $topology_used"
    while IFS= read -r arg; do
        args+=("$arg")
    done <<<"$topology_args"
    if [ "$genesis_validators" -eq 1 ]; then
        args+=(--ca "$(cat "$dir/keys/ca.key.pub")")
        for i in $(seq 1 "$validators"); do
            args+=(--validator "$(validator_pub "$i")")
        done
        echo genesis >"$dir/mode"
    else
        args+=(--ca "$(cat "$dir/keys/ca.key.pub"):producing")
        echo join >"$dir/mode"
    fi
    for param in ${params[@]+"${params[@]}"}; do
        args+=(--param "$param")
    done
    "$cli" genesis "${args[@]}" >/dev/null
    policy_file "$abs"

    #  relay: 3 ports; verifier: 1; CA: join and admin; validators: 1 each.
    read -r -a ports <<<"$(free_ports $((validators + 6)))"
    {
        echo "relay_rpc=tcp://127.0.0.1:${ports[0]}"
        echo "relay_pub=tcp://127.0.0.1:${ports[1]}"
        echo "relay_gossip=tcp://127.0.0.1:${ports[2]}"
        echo "verifier_query=tcp://127.0.0.1:${ports[3]}"
        echo "ca_join=tcp://127.0.0.1:${ports[4]}"
        echo "ca_admin=tcp://127.0.0.1:${ports[5]}"
        for i in $(seq 1 "$validators"); do
            echo "validator_${i}_admin=tcp://127.0.0.1:${ports[$((i + 5))]}"
        done
    } >"$dir/ports"
    echo "$validators" >"$dir/validators"
    write_configs
}

#  write_configs: one ZPL file per process, from DIR/ports.
write_configs () {
    local i abs relay_rpc relay_pub relay_gossip ports
    abs="$(cd "$dir" && pwd)"
    #  A devnet folder made before the CA ran in it: give the CA its ports.
    if ! grep -q '^ca_join=' "$dir/ports"; then
        read -r -a ports <<<"$(free_ports 2)"
        echo "ca_join=tcp://127.0.0.1:${ports[0]}" >>"$dir/ports"
        echo "ca_admin=tcp://127.0.0.1:${ports[1]}" >>"$dir/ports"
    fi
    if [ ! -f "$dir/ca-policy.zpl" ]; then
        if [ -f "$dir/topology.env" ]; then
            topology_used="$abs/topology.env"
        elif [ -z "$topology_used" ]; then
            topology_used="$(topology_file)"
        fi
        policy_file "$abs"
    fi
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
relay
    rpc = "$relay_rpc"
    pub = "$relay_pub"
    gossip = "$relay_gossip"
EOF
    }
    {
        echo "#  relay of devnet $abs"
        common relay
    } >"$dir/relay.zpl"
    {
        echo "#  certification authority of devnet $abs"
        common ca
        cat <<EOF
ca
    key = "$abs/keys/ca.key"
    join = "$(ports_get ca_join)"
    #  bound only when the genesis marks this CA as producing
    admin = "$(ports_get ca_admin)"
    policy = "$abs/ca-policy.zpl"
EOF
    } >"$dir/ca.zpl"
    {
        echo "#  verifier of devnet $abs"
        common verifier
        cat <<EOF
verifier
    query = "$(ports_get verifier_query)"
EOF
    } >"$dir/verifier.zpl"
    for i in $(seq 1 "$(validator_count)"); do
        {
            echo "#  validator $i of devnet $abs"
            common "validator-$i"
            cat <<EOF
ca
    join = "$(ports_get ca_join)"
validator
    admin = "$(ports_get "validator_${i}_admin")"
    key = "$abs/keys/validator-$i.key"
    #  outside the validator set: join through the CA's challenge
    join = "1"
    #  SIGTERM (certchain-devnet stop) resigns first; certchain-devnet
    #  down stops the relay first, so nothing resigns then
    resign_on_stop = "1"
EOF
        } >"$dir/validator-$i.zpl"
    done
}

#  check_ports NAME...: every port of the named processes is free.
check_ports () {
    local name key port keys
    for name in "$@"; do
        case "$name" in
            relay) keys=(relay_rpc relay_pub relay_gossip) ;;
            ca) keys=(ca_join ca_admin) ;;
            verifier) keys=(verifier_query) ;;
            validator-*) keys=("validator_${name#validator-}_admin") ;;
        esac
        for key in "${keys[@]}"; do
            port="$(ports_get "$key")"
            port="${port##*:}"
            port_free "$port" || die "port $port ($key) is in use; run down, or use a new --dir"
        done
    done
}

#  --- Commands ---------------------------------------------------------------------------

do_env () {
    [ -f "$dir/ports" ] || die "$dir/ports missing: is $dir a devnet folder (run up first)?"
    echo "export CERTCHAIN_RELAY=$(ports_get relay_rpc)"
    echo "export CERTCHAIN_VERIFIER=$(ports_get verifier_query)"
    echo "export CERTCHAIN_CA=$(ports_get ca_join)"
    echo "export CERTCHAIN_RELAY_PUB=$(ports_get relay_pub)"
    echo "export CERTCHAIN_DEVNET=$(cd "$dir" && pwd)"
}

do_up () {
    local name n
    command -v python3 >/dev/null 2>&1 || die "python3 is needed (scripts/deps.sh installs it)"
    for name in relay ca verifier validator-1; do
        binary_of "$name" >/dev/null
    done

    if [ -f "$dir/genesis.zpl" ]; then
        say "restarting the network in $dir"
        mkdir -p "$dir/logs" "$dir/pids"
        write_configs
    else
        if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
            die "$dir exists and is not a devnet folder (no genesis.zpl); choose an empty or new folder"
        fi
        mkdir -p "$dir"
        topology_used="$(topology_file)"
        "$(topology_tool)" check "$topology_used" || die "bad topology file $topology_used"
        if [ -z "$validators" ]; then
            validators="$("$(topology_tool)" get VALIDATORS "$topology_used")"
            validators="${validators:-4}"
        fi
        if [ "$genesis_validators" -eq 1 ] && [ "$validators" -lt 1 ]; then
            die "--validators: at least 1 with --genesis-validators"
        fi
        say "topology: $topology_used"
        create
    fi
    for name in $(all_names); do
        running "$name" && die "$name already running (pid $(pid_of "$name")); run down first"
    done
    #  A port taken since it was chosen (or since the last run) is fatal.
    # shellcheck disable=SC2046
    check_ports $(devnet_names)

    n="$(validator_count)"
    for name in $(devnet_names); do
        start "$name"
    done
    if producing; then
        say "started a relay, a producing CA, a verifier and $(plural "$n" validator);" \
            "waiting until all are in the validator set"
    fi
    wait_ready up $(seq 1 "$n")
    if producing; then
        say "up: relay, CA (producing), verifier and $(plural "$n" validator) (all in the set)" \
            "in $dir at height $ready_height"
    else
        say "up: relay, CA, verifier and $(plural "$n" "genesis validator") in $dir at height $ready_height"
    fi
    say "use it with: eval \"\$($program env --dir $dir)\""
}

do_add () {
    local count="${positional[0]}" first last i ports names
    case "$count" in
        ''|*[!0-9]*) die "add: expected a number of validators, got '$count'" ;;
    esac
    [ "$count" -ge 1 ] || die "add: at least 1"
    [ -f "$dir/genesis.zpl" ] || die "$dir is not a devnet folder (no genesis.zpl); run up first"
    if ! running relay || ! running ca; then
        die "the devnet in $dir is not running (relay and CA needed); run up first"
    fi
    first=$(( $(validator_count) + 1 ))
    last=$(( first + count - 1 ))
    read -r -a ports <<<"$(free_ports "$count")"
    for i in $(seq "$first" "$last"); do
        "$cli" keygen --out "$dir/keys/validator-$i.key" >/dev/null
        echo "validator_${i}_admin=tcp://127.0.0.1:${ports[$((i - first))]}" >>"$dir/ports"
    done
    echo "$last" >"$dir/validators"
    write_configs
    for i in $(seq "$first" "$last"); do
        start "validator-$i"
    done
    names="validator-$first"
    [ "$last" -gt "$first" ] && names="validator-$first..validator-$last"
    say "started $names; waiting for the join"
    # shellcheck disable=SC2046
    wait_ready add $(seq "$first" "$last")
    say "add: $names in the validator set at height $ready_height"
}

#  name_of ARG: the process name an argument of stop/start means.
name_of () {
    case "$1" in
        relay|ca|verifier) echo "$1" ;;
        validator-[0-9]*|[0-9]*)
            local i="${1#validator-}"
            case "$i" in *[!0-9]*) die "no process '$1' (relay, ca, verifier, validator-I)" ;; esac
            if [ "$i" -lt 1 ] || [ "$i" -gt "$(validator_count)" ]; then
                die "no validator $i in this devnet (it has $(validator_count))"
            fi
            echo "validator-$i" ;;
        *) die "no process '$1' (relay, ca, verifier, validator-I)" ;;
    esac
}

do_stop () {
    local name size stopped
    [ -f "$dir/ports" ] || die "$dir/ports missing: is $dir a devnet folder (run up first)?"
    name="$(name_of "${positional[0]}")"
    running "$name" || die "$name is not running"
    size="$(stat -c %s "$dir/logs/$name.log" 2>/dev/null || echo 0)"
    case "$name" in
        validator-*)
            say "stopping $name: it resigns from the validator set first (up to 30 s)"
            stopped="$(stop_pids 45 0 "$name")"
            #  What it said while stopping: resigned, or why not.
            tail -c "+$((size + 1))" "$dir/logs/$name.log" 2>/dev/null \
                | grep -E 'stopping|resign|Resign|out of the validator set' | sed 's/^/  /' >&2 || true ;;
        *)
            stopped="$(stop_pids 15 0 "$name")" ;;
    esac
    [ -n "$stopped" ] && say "stopped $name"
}

do_start () {
    local name
    [ -f "$dir/genesis.zpl" ] || die "$dir is not a devnet folder (no genesis.zpl); run up first"
    name="$(name_of "${positional[0]}")"
    running "$name" && die "$name is already running (pid $(pid_of "$name"))"
    write_configs
    check_ports "$name"
    start "$name"
    case "$name" in
        validator-*)
            say "started $name; waiting until it is in the validator set"
            wait_ready start "${name#validator-}" ;;
        *)
            sleep 1
            running "$name" || { tail_logs "$name"; die "$name exited at once"; }
            ready_height="$(verifier_height)" ;;
    esac
    say "started $name (verifier height $ready_height)"
}

do_status () {
    local name pid i args
    [ -f "$dir/ports" ] || die "$dir/ports missing: is $dir a devnet folder (run up first)?"
    [ -d "$dir/pids" ] || die "$dir is not a running devnet (no pids folder)"
    for name in $(all_names); do
        pid="$(pid_of "$name")"
        if [ -z "$pid" ]; then
            continue
        elif running "$name"; then
            printf '%-14s pid %-8s running\n' "$name" "$pid"
        else
            printf '%-14s pid %-8s stopped\n' "$name" "$pid"
        fi
    done
    args=(status --relay "$(ports_get relay_rpc)" --verifier "$(ports_get verifier_query)")
    running ca && args+=(--ca "$(ports_get ca_join)")
    running ca && producing && args+=(--validator "$(ports_get ca_admin)")
    for i in $(seq 1 "$(validator_count)"); do
        running "validator-$i" && args+=(--validator "$(ports_get "validator_${i}_admin")")
    done
    "$cli" "${args[@]}" --timeout 2 || echo "(certchain status failed: see above)"
}

do_down () {
    local stopped=() name validators_=()
    #  The relay and the verifier first: with no relay, no block (and so no
    #  Resign) can be committed while the validators stop.
    while read -r name; do
        [ -n "$name" ] && stopped+=("$name")
    done < <(stop_pids 15 0 relay verifier)
    for name in $(all_names); do
        case "$name" in validator-*) validators_+=("$name") ;; esac
    done
    #  The CA and every validator at once; a validator's second SIGTERM
    #  makes it exit without waiting for its Resign.
    while read -r name; do
        [ -n "$name" ] && stopped+=("$name")
    done < <(stop_pids 15 1 ca ${validators_[@]+"${validators_[@]}"})
    say "down: stopped ${#stopped[@]} processes of $dir"
}

case "$command" in
    up|add|status|stop|start|down) cli="$(find_bin certchain tools/cli)" ;;
esac
case "$command" in
    up) do_up ;;
    add) do_add ;;
    env) do_env ;;
    status) do_status ;;
    stop) do_stop ;;
    start) do_start ;;
    down) do_down ;;
esac
