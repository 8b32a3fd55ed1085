"""Issue 3, test 9a: 4 validators + a verifier; 2,000 transfers from 20
accounts, all committed exactly once; final balances equal the expected
sums; every node reports the same app hash at every height.

The transfers are pre-signed and submitted in SubmitTxBatch batches by
`certchain-forge transfers`, which writes a manifest of every tx (hash,
from, to, amount, fee, nonce) that the expected balances are computed from.
While the load runs the test polls every validator's GetStatus and records
(height, app hash); at the end it stops the validators and reads their
stores, so the app hash of every height is compared across the relay, the
verifier and all four validators."""

import collections
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, Network, forge, need, run_tests, wait_until  # noqa: E402

ACCOUNTS = 20
PER_ACCOUNT = 100


def test_2000_transfers_from_20_accounts():
    need("relay", "validator", "verifier", "certchain", "forge")
    with Cluster("network") as c:
        net = Network(c, validators=4, accounts=ACCOUNTS)
        t0 = time.monotonic()
        net.start(wait=1)
        print("  network up at height 1 in %.1fs" % (time.monotonic() - t0))

        #  Watch every validator's reported (height, app hash) during the run.
        seen = collections.defaultdict(dict)     # height -> {node: app_hash}
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                for i, admin in enumerate(net.admin):
                    try:
                        s = net.status(admin, timeout_ms=1000)
                        seen[s["height"]]["validator-%d" % (i + 1)] = s["app_hash"]
                    except Exception:  # noqa: BLE001 (a busy node may not answer in time)
                        pass
                stop.wait(0.3)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        manifest = c.path("manifest.jsonl")
        keys = ",".join(net.account_keys)
        t1 = time.monotonic()
        r = json.loads(forge("transfers", "--genesis", net.genesis, "--keys", keys,
                             "--to", ",".join(net.account_pubs), "--count", PER_ACCOUNT,
                             "--amount", 3, "--fee", 1, "--batch", 250,
                             "--manifest", manifest, "--relay-rpc", net.relay_rpc,
                             timeout=60).stdout)
        print("  submitted %d txs in %dms: %s" % (r["signed"], r["elapsed_ms"], r))
        assert r["signed"] == ACCOUNTS * PER_ACCOUNT
        assert r["accepted"] == ACCOUNTS * PER_ACCOUNT, r

        txs = [json.loads(line) for line in open(manifest)]
        assert len(txs) == 2000 and len({t["hash"] for t in txs}) == 2000

        #  Every sender's nonce reaches PER_ACCOUNT at the verifier.
        def all_committed():
            net.check_alive()
            return all(net.account(pub)["nonce"] == PER_ACCOUNT for pub in net.account_pubs)
        wait_until(all_committed, 60, "all 2000 transfers committed at the verifier",
                   interval=0.5)
        print("  all committed %.1fs after submission" % (time.monotonic() - t1))
        stop.set()
        watcher.join(5)

        tip = net.height()
        net.wait_height(tip, endpoint=net.relay_rpc, timeout=20)
        relay_blocks = net.blocks(net.relay_rpc, to=tip, txs=True)
        verifier_blocks = net.blocks(net.verifier_query, to=tip, txs=True)
        assert [b["height"] for b in relay_blocks] == list(range(1, tip + 1))
        assert [b["height"] for b in verifier_blocks] == list(range(1, tip + 1))
        for rb, vb in zip(relay_blocks, verifier_blocks):
            assert rb["hash"] == vb["hash"] and rb["app_hash"] == vb["app_hash"], (rb, vb)
        for a, b in zip(relay_blocks, relay_blocks[1:]):
            assert b["parent"] == a["hash"], "chain broken at %d" % b["height"]

        #  Exactly once: the manifest's hashes, each in exactly one block.
        onchain = [h for b in relay_blocks for h in b["tx_hashes"]]
        counts = collections.Counter(onchain)
        dup = [h for h, n in counts.items() if n > 1]
        assert not dup, "%d txs committed more than once, e.g. %s" % (len(dup), dup[:3])
        assert set(onchain) == {t["hash"] for t in txs}, (
            "%d manifest txs missing, %d unknown txs on chain" % (
                len({t["hash"] for t in txs} - set(onchain)),
                len(set(onchain) - {t["hash"] for t in txs})))
        producers = collections.Counter(b["proposer"] for b in relay_blocks)
        print("  %d blocks, %d with txs, proposers: %s" % (
            tip, sum(1 for b in relay_blocks if b["txs"]),
            sorted(producers.values(), reverse=True)))

        #  Balances: genesis + received - sent - fees; fees go to proposers.
        expected = collections.Counter({pub: Network.BALANCE for pub in net.account_pubs})
        for t in txs:
            expected[t["from"]] -= t["amount"] + t["fee"]
            expected[t["to"]] += t["amount"]
        by_hash = {t["hash"]: t for t in txs}
        fees = collections.Counter()
        for b in relay_blocks:
            for h in b["tx_hashes"]:
                fees[b["proposer"]] += by_hash[h]["fee"]
        for pub in net.account_pubs:
            got = net.account(pub)
            assert got["balance"] == expected[pub], (pub, got, expected[pub])
            assert got["nonce"] == PER_ACCOUNT
        for pub in net.validator_pubs:
            assert net.account(pub)["balance"] == fees[pub], (pub, fees[pub])
        assert sum(fees.values()) == 2000

        #  Every node: same app hash at every height. Live reports first...
        by_height = {b["height"]: b for b in relay_blocks}
        checked = 0
        for height, reports in seen.items():
            if height in by_height:
                for node, app_hash in reports.items():
                    assert app_hash == by_height[height]["app_hash"], (
                        "%s reported app hash %s at height %d, chain has %s" % (
                            node, app_hash, height, by_height[height]["app_hash"]))
                    checked += 1
        assert checked > 0, "no validator status was seen during the run"
        #  ...then each validator's whole store, once stopped.
        for i, proc in enumerate(net.validators, 1):
            assert proc.stop() == 0, "validator-%d exit code %s" % (i, proc.returncode())
        for i in range(1, 5):
            dump = net.dump("validator-%d" % i)
            blocks = {b["height"]: b for b in dump if "height" in b}
            assert len(blocks) >= tip, "validator-%d has %d blocks" % (i, len(blocks))
            for height in range(1, tip + 1):
                assert blocks[height]["hash"] == by_height[height]["hash"], (i, height)
                assert blocks[height]["app_hash"] == by_height[height]["app_hash"], (i, height)
        print("  %d live reports and 4 stores agree with the chain" % checked)


if __name__ == "__main__":
    run_tests(globals())
