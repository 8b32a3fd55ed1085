"""Issue 3, test 9b: blocks that a syncing node must discard.

A relay started with `--unsafe-skip-checks 1` publishes whatever is uploaded
on "blk" without checking or storing it, so a forged block reaches the
verifier's block feed. `certchain-forge` rebuilds the chain from the
verifier (GetBlock per height), builds the next block and uploads it:
  - rogue-block:  a never-certified key, correctly self-signed, with a commit
                  signed by uncertified keys  -> UNAUTHORIZED_PROPOSER
  - out-of-turn:  a real validator that is not the scheduled proposer, with a
                  quorum commit of real keys  -> NOT_SCHEDULED
  - below-quorum: the scheduled proposer, commit of q - 1 real keys
                                              -> COMMIT_BELOW_QUORUM
Each time the verifier's tip (height, block hash, app hash) is unchanged and
the discard is listed with its reason.

To compare "before" and "after" without a race against the honest network
(which would commit the same height first and turn the forged block into a
mere conflict), the validators are paused with SIGSTOP while the forged
blocks are judged, then resumed with SIGCONT; the chain must then go on."""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, Network, forge, need, run_tests, wait_until  # noqa: E402

#  (forge command, verdict name, wire code: common/error.h)
CASES = [
    ("rogue-block", "UNAUTHORIZED_PROPOSER", 50),
    ("out-of-turn", "NOT_SCHEDULED", 51),
    ("below-quorum", "COMMIT_BELOW_QUORUM", 53),
]


def pause(net):
    for p in net.validators:
        os.kill(p.pid, signal.SIGSTOP)


def resume(net):
    for p in net.validators:
        if p.alive():
            os.kill(p.pid, signal.SIGCONT)


def stable_tip(net):
    """The verifier's status once its height has not moved for 1 s."""
    last = net.status(net.verifier_query)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = net.status(net.verifier_query)
        if now["height"] == last["height"]:
            return now
        last = now
    raise AssertionError("verifier height does not settle with validators paused")


def test_forged_blocks_are_discarded():
    need("relay", "validator", "verifier", "certchain", "forge")
    with Cluster("rogue") as c:
        net = Network(c, validators=4, relay_args=["--unsafe-skip-checks", "1"])
        net.start(wait=3)
        assert "unsafe" in net.relay.log().lower(), "relay does not warn about skip-checks"
        valkeys = ",".join(net.validator_keys)
        forged = []
        try:
            pause(net)
            before = stable_tip(net)
            for command, name, code in CASES:
                args = [command, "--genesis", net.genesis, "--source", net.verifier_query,
                        "--relay-rpc", net.relay_rpc]
                if command != "rogue-block":
                    args += ["--keys", valkeys]
                out = json.loads(forge(*args).stdout)
                assert out["height"] == before["height"] + 1, (out, before)
                assert "error" not in out, "upload refused: %s" % out
                if command == "rogue-block":
                    assert out["proposer"] not in net.validator_pubs
                else:
                    assert out["proposer"] in net.validator_pubs
                forged.append(out["hash"])

                def listed():
                    for d in net.discarded():
                        if d["hash"] == out["hash"]:
                            return d
                    return None
                d = wait_until(listed, 15, "verifier to list %s block %s as discarded"
                               % (command, out["hash"][:16]))
                assert d["name"] == name and d["code"] == code, (
                    "%s: discarded as %s, expected %s (%s)" % (command, d["name"], name, d))
                assert d["height"] == out["height"] and d["proposer"] == out["proposer"], d
                assert d["reason"], "no reason text: %s" % d
                after = net.status(net.verifier_query)
                for key in ("height", "tip_hash", "app_hash"):
                    assert after[key] == before[key], "%s: verifier %s changed: %s -> %s" % (
                        command, key, before[key], after[key])
                print("  %s: discarded as %s (%s)" % (command, d["name"], d["reason"]))
            assert net.verifier.alive()
        finally:
            resume(net)

        #  The honest network goes on; the verifier stores honest blocks only.
        net.wait_height(before["height"] + 3, timeout=45)
        blocks = net.blocks(net.verifier_query, to=before["height"] + 2)
        for b in blocks:
            assert b["hash"] not in forged, "a forged block was stored: %s" % b
            assert b["proposer"] in net.validator_pubs, b
        assert net.status(net.verifier_query)["discarded"] >= len(CASES)


if __name__ == "__main__":
    run_tests(globals())
