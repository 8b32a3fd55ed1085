#!/usr/bin/env bash
#  The CertChain demo. On a fresh Debian 12 machine: installs what is
#  missing (scripts/deps.sh), builds (meson + ninja in build/), and starts a
#  local network in a temporary folder: a relay, a certification authority
#  (CA) that produces the first blocks alone, a verifier, and 4 validators
#  that are NOT in the genesis: each joins by solving the CA's challenge.
#  Then it shows each join (the challenge, the score the CA measured, the
#  time it took, the block holding its Certify), the blocks the new
#  validators produce afterwards, transfers and balances, and stops the
#  network again (also on Ctrl-C or an error).
#
#  BUILD_DIR chooses the build folder (default: build); VALIDATORS the
#  number of validators (default 4); KEEP=1 keeps the network's folder
#  (logs, stores) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${BUILD_DIR:-build}"
validators="${VALIDATORS:-4}"
bold () { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note () { printf '%s\n' "$*" | tr '\n' ' ' | fold -s -w 88 | sed -e 's/ *$//' -e 's/^/   /'; echo; }

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
    trap - EXIT INT TERM
    bold "8. Stopping the network"
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

bold "2. Starting a local network: relay, CA, verifier, and $validators validators that join"
note "The genesis names one certification authority (CA), marked as producing, and no
validator. So at first the CA alone proposes and signs every block. Each validator starts
with a fresh key that is not certified: it measures its machine, asks the CA for a
challenge, solves it before the deadline, and becomes a validator once the CA's Certify
transaction for it is committed."
certchain-devnet up --dir "$dir" --validators "$validators"
eval "$(certchain-devnet env --dir "$dir")"
echo "relay rpc:      $CERTCHAIN_RELAY"
echo "verifier query: $CERTCHAIN_VERIFIER"
echo "CA join:        $CERTCHAIN_CA"

#  json EXPR: evaluates a Python expression over the JSON object on stdin,
#  bound to j (python3 is installed by deps.sh).
json () { python3 -c 'import json,sys; j=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

#  Who is who: public key -> name, for the tables below.
declare -A who
who["$(cat "$dir/keys/ca.key.pub")"]="CA"
who["$(cat "$dir/keys/faucet.key.pub")"]="faucet"
for i in $(seq 1 "$validators"); do
    who["$(cat "$dir/keys/validator-$i.key.pub")"]="validator-$i"
done
name () { echo "${who[$1]:-${1:0:12}...}"; }

bold "3. The joins"
note "The CA's audit log (certchain ca-log): one line per decision, with the score it measured
from the time each candidate took to answer."
certchain ca-log
echo
deadline="$(sed -n 's/^ *deadline_ms *= *\([0-9]*\).*/\1/p' "$dir/ca-policy.zpl")"
log_json="$(certchain ca-log --json)"
last_certified=0
for i in $(seq 1 "$validators"); do
    pub="$(cat "$dir/keys/validator-$i.key.pub")"
    log="$dir/logs/validator-$i.log"
    entry="$(echo "$log_json" | python3 -c '
import json, sys
accepted = [e for e in json.load(sys.stdin)["entries"]
            if e["node"] == sys.argv[1] and e["decision"] == "accepted"]
print(json.dumps(accepted[-1] if accepted else {}))' "$pub")"
    #  The challenge, as the validator logged it; the join time, from its
    #  request to its Certify committed, likewise.
    challenge="$(grep -o 'challenge of [^:]*' "$log" | tail -n 1 | sed 's/^challenge of //')"
    took="$(grep -o '[0-9]* ms from the join request to the commit' "$log" | tail -n 1 \
            | cut -d' ' -f1)"
    certify="$(echo "$entry" | json 'j.get("certify_tx") or ""')"
    echo "validator-$i  ($pub)"
    printf '   challenge   %s, deadline %s ms\n' "${challenge:-?}" "${deadline:-?}"
    if [ -z "$certify" ]; then
        echo "   (no accepted join in the CA's log)"
        continue
    fi
    printf '   measured    %.0f hashes/s, %.1f MiB/s of Argon2id; answered %s ms after the challenge\n' \
        "$(echo "$entry" | json 'j["score"]["hashes_per_second"]')" \
        "$(echo "$entry" | json 'j["score"]["argon2_mib_per_second"]')" \
        "$(echo "$entry" | json 'j["score"]["elapsed_ms"]')"
    height="$(certchain tx "$certify" --json | json 'j["height"]')"
    proposer="$(certchain block "$height" --json | json 'j["proposer"]')"
    printf '   certified   Certify tx %s... committed in block %s (proposed by %s)\n' \
        "${certify:0:16}" "$height" "$(name "$proposer")"
    printf '   took        %s ms from the join request to the committed certificate\n' "${took:-?}"
    [ "$height" -gt "$last_certified" ] && last_certified="$height"
done

bold "4. Blocks after the joins, and who produced them"
note "Each block is proposed by the member scheduled for its height and round (the set
sorted by key, in turn) and committed by a quorum of the set; the verifier stores it only
after checking exactly that. A Certify takes effect at the next height: from block
$((last_certified + 1)) the set is the CA and the $validators validators."
tip="$(certchain status --json | json 'j["verifier"]["height"]')"
#  Wait (briefly) until the new set has made a few blocks to show.
for _ in $(seq 1 50); do
    [ "$tip" -ge $((last_certified + 8)) ] && break
    sleep 0.2
    tip="$(certchain status --json | json 'j["verifier"]["height"]')"
done
printf '   %-7s %-19s %-4s %-8s %s\n' height hash txs signers proposer
for height in $(seq $((last_certified + 1)) "$tip" | head -n 10); do
    block="$(certchain block "$height" --json)"
    printf '   %-7s %-19s %-4s %-8s %s\n' "$height" "$(echo "$block" | json 'j["hash"][:16]')..." \
        "$(echo "$block" | json 'j["tx_count"]')" "$(echo "$block" | json 'len(j["commit_signers"])')" \
        "$(name "$(echo "$block" | json 'j["proposer"]')")"
done

faucet="$(cat "$dir/keys/faucet.key.pub")"
bold "5. Sending transfers from the faucet"
mkdir -p "$dir/demo"
names=(alice bob carol)
for person in "${names[@]}"; do
    certchain keygen --out "$dir/demo/$person.key" >/dev/null
done
amount=100
tx_heights=()
for _ in 1 2; do
    for person in "${names[@]}"; do
        to="$(cat "$dir/demo/$person.key.pub")"
        result="$(certchain send --key "$dir/keys/faucet.key" --to "$to" --amount "$amount" \
                  --fee 1 --wait --json)"
        height="$(echo "$result" | json 'j["height"]')"
        tx_heights+=("$height")
        printf '   %-6s <- %4d from the faucet  tx %s...  in block %s\n' "$person" "$amount" \
            "$(echo "$result" | json 'j["hash"][:16]')" "$height"
        amount=$((amount + 50))
    done
done
result="$(certchain send --key "$dir/demo/alice.key" --to "$(cat "$dir/demo/bob.key.pub")" \
          --amount 42 --fee 1 --wait --json)"
tx_heights+=("$(echo "$result" | json 'j["height"]')")
echo "   bob    <-   42 from alice       tx $(echo "$result" | json 'j["hash"][:16]')...  in block $(echo "$result" | json 'j["height"]')"
echo
echo "   The blocks holding them:"
printf '   %-7s %-4s %s\n' height txs proposer
for height in $(printf '%s\n' "${tx_heights[@]}" | sort -n | uniq); do
    block="$(certchain block "$height" --json)"
    printf '   %-7s %-4s %s\n' "$height" "$(echo "$block" | json 'j["tx_count"]')" \
        "$(name "$(echo "$block" | json 'j["proposer"]')")"
done

bold "6. Balances (as the verifier stored them)"
for person in "${names[@]}"; do
    account="$(certchain account "$(cat "$dir/demo/$person.key.pub")" --json)"
    printf '   %-6s balance %6s  nonce %s\n' "$person" "$(echo "$account" | json 'j["balance"]')" \
        "$(echo "$account" | json 'j["nonce"]')"
done
account="$(certchain account "$faucet" --json)"
printf '   %-6s balance %s  nonce %s\n' faucet "$(echo "$account" | json 'j["balance"]')" \
    "$(echo "$account" | json 'j["nonce"]')"
echo "   (alice paid 42 and a fee of 1; bob got 42 more; the faucet paid a fee of 1 per transfer)"

bold "7. Producers of all blocks so far, and the validator set"
tip="$(certchain status --json | json 'j["verifier"]["height"]')"
pairs=()
for key in "${!who[@]}"; do
    pairs+=("$key=${who[$key]}")
done
for height in $(seq 1 "$tip"); do
    certchain block "$height" --json
    echo
done | python3 -c '
import collections, json, sys
names = dict(arg.split("=") for arg in sys.argv[2:])
last = int(sys.argv[1])
before, after = collections.Counter(), collections.Counter()
for line in sys.stdin:
    if line.strip():
        b = json.loads(line)
        name = names.get(b["proposer"], b["proposer"][:12] + "...")
        (before if b["height"] <= last else after)[name] += 1
print("   up to block %d (while the validators joined):" % last)
for count in (before, after):
    for name in sorted(count):
        print("     %-12s %4d block%s" % (name, count[name], "" if count[name] == 1 else "s"))
    if count is before:
        print("   after it:")
' "$last_certified" "${pairs[@]}"
echo
echo "   The validator set, as the verifier sees it (certchain validators):"
certchain validators | sed 's/^/   /'
echo
note "Watch a running network with certchain-tap (--top: every service's metrics; --stats:
messages per topic). Start your own with: certchain-devnet up --dir DIR (README.md)."
