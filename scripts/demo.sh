#!/usr/bin/env bash
#  The CertChain demo: on a fresh Debian 12 machine, installs what is
#  missing (scripts/deps.sh), builds (meson + ninja in build/), starts a local
#  network of a relay, 4 validators and a verifier in a temporary folder,
#  sends transfers from the faucet, shows balances, blocks and who produced
#  them, and stops the network again (also on Ctrl-C or an error).
#
#  BUILD_DIR chooses the build folder (default: build); KEEP=1 keeps the
#  network's folder (logs, stores) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${BUILD_DIR:-build}"
bold () { printf '\n\033[1m== %s\033[0m\n' "$*"; }

bold "1. Installing what is missing and building (meson, ninja)"
scripts/deps.sh
if [ -d "$build" ]; then
    meson setup --reconfigure "$build" >/dev/null
else
    meson setup "$build" >/dev/null
fi
ninja -C "$build" >/dev/null
echo "built into $build/"

export PATH="$PWD/$build/tools/cli:$PWD/$build/tools/devnet:$PATH"
dir="$(mktemp -d /tmp/certchain-demo-XXXXXX)"
cleanup () {
    status=$?
    bold "6. Stopping the network"
    certchain-devnet down --dir "$dir" || true
    if [ "${KEEP:-0}" = "1" ]; then
        echo "kept $dir (logs in $dir/logs)"
    else
        rm -rf "$dir"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bold "2. Starting a local network: a relay, 4 validators and a verifier"
certchain-devnet up --dir "$dir" --validators 4
eval "$(certchain-devnet env --dir "$dir")"
echo "relay rpc:      $CERTCHAIN_RELAY"
echo "verifier query: $CERTCHAIN_VERIFIER"
certchain-devnet status --dir "$dir"

#  json FIELD: one field of the JSON object on stdin (python3 is installed
#  by deps.sh).
json () { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

faucet="$(cat "$dir/keys/faucet.key.pub")"
bold "3. Sending transfers from the faucet ($faucet)"
mkdir -p "$dir/demo"
names=(alice bob carol)
for name in "${names[@]}"; do
    certchain keygen --out "$dir/demo/$name.key" >/dev/null
done
amount=100
tx_heights=()
for round in 1 2 3; do
    for name in "${names[@]}"; do
        to="$(cat "$dir/demo/$name.key.pub")"
        result="$(certchain send --key "$dir/keys/faucet.key" --to "$to" --amount "$amount" \
                  --fee 1 --wait --json)"
        tx_heights+=("$(echo "$result" | json height)")
        printf '  %-6s <- %4d  tx %s...  committed in block %s\n' "$name" "$amount" \
            "$(echo "$result" | json hash | cut -c1-16)" "$(echo "$result" | json height)"
        amount=$((amount + 50))
    done
done
result="$(certchain send --key "$dir/demo/alice.key" --to "$(cat "$dir/demo/bob.key.pub")" \
          --amount 42 --fee 1 --wait --json)"
tx_heights+=("$(echo "$result" | json height)")
echo "  bob    <-   42  from alice, committed in block $(echo "$result" | json height)"

bold "4. Balances (as the verifier stored them)"
for name in "${names[@]}"; do
    key="$(cat "$dir/demo/$name.key.pub")"
    account="$(certchain account "$key" --json)"
    printf '  %-6s balance %6s  nonce %s\n' "$name" "$(echo "$account" | json balance)" \
        "$(echo "$account" | json nonce)"
done
account="$(certchain account "$faucet" --json)"
printf '  %-6s balance %s  nonce %s\n' faucet "$(echo "$account" | json balance)" \
    "$(echo "$account" | json nonce)"

bold "5. Blocks and who produced them"
echo "The blocks holding our transfers (each proposed by the validator scheduled for its"
echo "height and round, and stored by the verifier only after checking exactly that):"
declare -A who
for i in 1 2 3 4; do
    who["$(cat "$dir/keys/validator-$i.key.pub")"]="validator-$i"
done
printf '  %-7s %-20s %-4s %s\n' height hash txs proposer
for height in $(printf '%s\n' "${tx_heights[@]}" | sort -n | uniq); do
    block="$(certchain block "$height" --json)"
    proposer="$(echo "$block" | json proposer)"
    hash="$(echo "$block" | json hash)"
    txs="$(echo "$block" | json tx_count)"
    printf '  %-7s %-20s %-4s %s (%s...)\n' "$height" "${hash:0:16}..." "$txs" \
        "${who[$proposer]:-unknown}" "${proposer:0:12}"
done
tip="$(certchain status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["verifier"]["height"])')"
echo "Producers of all $tip blocks so far (empty blocks keep the chain moving):"
for height in $(seq 1 "$tip"); do
    certchain block "$height" --json
    echo
done | python3 -c '
import collections, json, sys
names = dict(arg.split("=") for arg in sys.argv[1:])
count = collections.Counter(names.get(json.loads(line)["proposer"], "unknown")
                            for line in sys.stdin if line.strip())
for name in sorted(count):
    print("  %-12s %4d blocks" % (name, count[name]))
' $(for key in "${!who[@]}"; do echo "$key=${who[$key]}"; done)
echo
echo "The validator set, as the verifier sees it:"
certchain validators
