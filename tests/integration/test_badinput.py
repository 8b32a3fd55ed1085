"""Issue 3, test 9d: bad input to every socket of every service.

Random bytes, truncated and oversized frames, wrong frame counts and types
(certchain-forge junk) go to every ROUTER (relay rpc, validator admin,
verifier query: each must answer with Error replies), to the relay's gossip
XSUB (dropped and counted: "drop.*" counters in the relay's metrics event)
and to the relay's pub XPUB (junk subscription frames, from a raw XSUB).
Valid protobuf with wrong signatures (a transfer, a consensus vote) and a
replayed committed transaction go through the rpc and the gossip paths.
Afterwards: every service is still up and answers, the chain goes on, the
accounts are exactly as the honest transactions left them, the bad and
replayed transactions are not (again) on chain, and nothing was discarded."""

import json
import os
import sys
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Cluster, Network, cli_json, forge, need, run_tests,  # noqa: E402
                     wait_until)


def junk_router(endpoint, kind="all", count=30, wait_ms=2000):
    return json.loads(forge("junk", "--endpoint", endpoint, "--socket", "dealer",
                            "--kind", kind, "--count", count, "--wait-ms", wait_ms).stdout)


def drops(net):
    """Sum of the relay's drop.* counters, from its latest metrics event."""
    events = net.events(2, "relay")
    assert events, "no metrics event from the relay in 2 s"
    counters = events[-1]["counters"]
    return sum(v for k, v in counters.items() if k.startswith("drop."))


def test_junk_and_forgeries_change_nothing():
    need("relay", "validator", "verifier", "certchain", "forge")
    with Cluster("badinput") as c:
        net = Network(c, validators=1, accounts=1)
        net.start(wait=2)
        env = net.env()
        faucet0 = net.account(net.faucet_pub)
        acct0 = net.account(net.account_pubs[0])

        #  An honest transfer first, to be replayed later.
        sent = cli_json("send", "--key", net.faucet_key, "--to", net.account_pubs[0],
                        "--amount", 5, "--fee", 1, "--wait", env=env, timeout=60)
        honest = sent["hash"]

        #  ROUTERs: every junk kind gets an Error reply (oversized: the
        #  connection is dropped by the socket's size limit, no reply).
        for name, endpoint in [("relay rpc", net.relay_rpc), ("validator admin", net.admin[0]),
                               ("verifier query", net.verifier_query)]:
            for kind in ["random", "badproto", "truncated", "badtype", "frames", "empty"]:
                r = junk_router(endpoint, kind, 6)
                assert r["sent"] == 6, r
                assert r["replies"] == 6, "%s: %d replies to 6 %s junk messages: %s" % (
                    name, r["replies"], kind, r)
                assert set(r["errors"]) <= {"MALFORMED", "UNSUPPORTED", "OVERSIZE"}, (
                    "%s answered %s junk with %s" % (name, kind, r["errors"]))
            #  Over the socket's size limit: dropped by ZeroMQ with the connection.
            r = junk_router(endpoint, "oversized", 2, wait_ms=500)
            net.check_alive()
            s = net.status(endpoint)
            print("  %s: survived junk, height %d" % (name, s["height"]))

        #  Gossip XSUB: junk on every topic is dropped and counted.
        before = drops(net)
        r = json.loads(forge("junk", "--endpoint", net.relay_gossip, "--socket", "pub",
                             "--kind", "all", "--count", 40, "--max-size", 17 * 1024 * 1024
                             ).stdout)
        assert r["sent"] == 40
        wait_until(lambda: drops(net) > before, 10, "the relay to count dropped gossip junk")

        #  Pub XPUB: junk subscription frames from a raw XSUB.
        ctx = zmq.Context.instance()
        xsub = ctx.socket(zmq.XSUB)
        xsub.setsockopt(zmq.LINGER, 0)
        xsub.connect(net.relay_pub)
        time.sleep(0.2)
        for frame in [b"", b"\x00", b"\x01", b"\x02junk", os.urandom(300), b"\x01" + os.urandom(5000)]:
            xsub.send(frame)
        xsub.send_multipart([b"\x01tx", b"extra"])
        time.sleep(0.5)
        xsub.close()

        #  A transfer with a wrong signature: via rpc and via gossip.
        bad = json.loads(forge("bad-sig-tx", "--genesis", net.genesis, "--key", net.faucet_key,
                               "--to", net.account_pubs[0], "--amount", 1000, "--nonce", 2,
                               "--relay-rpc", net.relay_rpc).stdout)
        forge("publish", "--endpoint", net.relay_gossip, "--hex", bad["hex"], "--repeat", 3)
        #  A consensus vote with a broken signature, by the real validator.
        h = net.height()
        forge("bad-vote", "--genesis", net.genesis, "--key", net.validator_keys[0],
              "--endpoint", net.relay_gossip, "--height", h + 1, "--repeat", 3)
        #  The committed transfer, replayed through rpc and gossip.
        rep = json.loads(forge("replay-tx", "--source", net.verifier_query, "--hash", honest,
                               "--relay-rpc", net.relay_rpc).stdout)
        forge("publish", "--endpoint", net.relay_gossip, "--hex", rep["hex"], "--repeat", 3)
        print("  bad-sig via rpc: %s; replay via rpc: %s" % (
            bad.get("results") or bad.get("error"), rep.get("results") or rep.get("error")))

        #  The chain goes on for a few blocks, then nothing else changed.
        h = net.height()
        net.wait_height(h + 3, timeout=40)
        net.check_alive()
        faucet1 = net.account(net.faucet_pub)
        acct1 = net.account(net.account_pubs[0])
        assert faucet1["nonce"] == faucet0["nonce"] + 1, (faucet0, faucet1)
        assert faucet1["balance"] == faucet0["balance"] - 6, (faucet0, faucet1)
        assert acct1["balance"] == acct0["balance"] + 5, (acct0, acct1)
        onchain = [t for b in net.blocks(net.verifier_query, txs=True) for t in b["tx_hashes"]]
        assert onchain.count(honest) == 1, "honest tx on chain %d times" % onchain.count(honest)
        assert bad["hash"] not in onchain, "the badly signed tx was committed"
        assert net.discarded() == []
        for endpoint in [net.relay_rpc, net.admin[0], net.verifier_query]:
            net.status(endpoint)


if __name__ == "__main__":
    run_tests(globals())
