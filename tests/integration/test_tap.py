"""Integration tests of certchain-tap (tools/tap).

The decoding of real traffic is checked against one network of a relay, one
validator and a verifier (harness.Network), started once for this file: its
relay publishes every topic (tx after a `certchain send`, cns, blk and evt).
What a real relay never forwards (junk on every topic, unknown topics, wrong
frame counts) comes from a fake publisher, an XPUB bound here, which also
tells exactly when the tap has subscribed.
"""

import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

try:
    import zmq
except ImportError:  # python3-zmq is a test dependency; without it the fake tests skip
    zmq = None

_STATE = {}

#  --- Helpers -------------------------------------------------------------------


def net():
    if "net" not in _STATE:
        h.need("relay", "validator", "verifier", "forge", "certchain", "tap")
        cluster = h.Cluster("tap")
        _STATE["cluster"] = cluster
        try:
            _STATE["net"] = h.Network(cluster, validators=1, accounts=1).start(wait=1,
                                                                             timeout=60)
        except BaseException:
            cluster.dump_logs()
            raise
    return _STATE["net"]


def tap(*args, timeout=30, env=None, check=True):
    return h.run([h.binary("tap")] + [str(a) for a in args], timeout=timeout, check=check,
                 env=env)


class Background:
    """certchain-tap running in the background with its output in a file."""

    def __init__(self, *args):
        self.dir = net().c.mkdir("tap-out")
        self.path = os.path.join(self.dir, "out-%d-%d.txt" % (os.getpid(), time.monotonic_ns()))
        self.out = open(self.path, "wb")
        self.err = open(self.path + ".err", "wb")
        self.popen = subprocess.Popen([h.binary("tap")] + [str(a) for a in args],
                                      stdout=self.out, stderr=self.err,
                                      stdin=subprocess.DEVNULL, start_new_session=True)

    def lines(self):
        with open(self.path, "rb") as f:
            return f.read().decode("utf-8").splitlines()

    def finish(self, timeout=30):
        try:
            code = self.popen.wait(timeout)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()
                self.popen.wait(5)
            self.out.close()
            self.err.close()
        with open(self.path + ".err", "rb") as f:
            err = f.read().decode("utf-8", "replace")
        assert code == 0, "tap exited %s: %s" % (code, err)
        return self.lines()


def send_one(n):
    """A transfer from the faucet, committed; returns its hash."""
    return h.cli_json("send", "--key", n.faucet_key, "--to", n.account_pubs[0],
                      "--amount", "3", "--wait", "--timeout", "60", env=n.env(),
                      timeout=90)["hash"]


def traffic_with_tx(n, *args):
    """Runs the tap (args) long enough to see every topic, with a committed
    transfer sent once it is subscribed; returns (lines, tx hash)."""
    bg = Background("--relay-pub", n.relay_pub, "--duration", "5", *args)
    #  The first line means the subscription is up, so the tx will be seen.
    h.wait_until(lambda: len(bg.lines()) > 0, 10, "the tap's first line")
    tx_hash = send_one(n)
    return bg.finish(), tx_hash


#  --- A real network ---------------------------------------------------------------


def test_decodes_every_topic_json():
    n = net()
    lines, tx_hash = traffic_with_tx(n, "--json")
    items = [json.loads(line) for line in lines]
    for item in items:
        assert set(item) >= {"time_ms", "time", "topic", "type", "size"}, item
        assert item["type"] != "undecodable", item
    by_topic = {}
    for item in items:
        by_topic.setdefault(item["topic"], []).append(item)
    assert set(by_topic) >= {"txb", "cns", "blk", "evt"}, set(by_topic)

    #  The relay publishes submitted transactions in batches ("txb"): one
    #  entry per transaction, with its place in the batch.
    (tx,) = [i for i in by_topic["txb"] if i["hash"] == tx_hash]
    assert tx["type"] == "transfer" and tx["signer"] == n.faucet_pub
    assert tx["to"] == n.account_pubs[0] and tx["amount"] == 3 and tx["size"] > 0
    assert 0 <= tx["batch_index"] < tx["batch_txs"], tx

    kinds = {i["type"] for i in by_topic["cns"]}
    assert kinds <= {"proposal", "prevote", "precommit"} and "prevote" in kinds, kinds
    for item in by_topic["cns"]:
        assert item["height"] >= 1 and "round" in item
        who = item["proposer"] if item["type"] == "proposal" else item["validator"]
        assert who == n.validator_pubs[0], item
        assert item["block"] is None or re.match(r"^[0-9a-f]{64}$", item["block"])

    for item in by_topic["blk"]:
        assert set(item) >= {"height", "round", "hash", "proposer", "txs"}, item
        assert item["proposer"] == n.validator_pubs[0]
    assert any(i["txs"] >= 1 for i in by_topic["blk"]), "no block with the transfer"
    heights = [i["height"] for i in by_topic["blk"]]
    assert heights == sorted(heights)

    services = {i["service"] for i in by_topic["evt"]}
    assert {"validator", "verifier"} <= services, services
    for item in by_topic["evt"]:
        assert set(item) >= {"service", "node", "height", "round", "mempool", "tx_per_s",
                             "discarded", "errors"}, item


def test_decodes_every_topic_text():
    n = net()
    lines, tx_hash = traffic_with_tx(n)
    stamp = r"^\d\d:\d\d:\d\d\.\d{3} "
    patterns = {
        "txb": re.compile(stamp + r"txb transfer +hash=%s signer=%s nonce=\d+ fee=\d+ to=%s "
                          r"amount=3 batch_index=\d+ batch_txs=\d+ size=\d+$"
                          % (tx_hash[:8], n.faucet_pub[:8], n.account_pubs[0][:8])),
        "cns": re.compile(stamp + r"cns (proposal|prevote|precommit) +height=\d+ round=\d+ "
                          r"(proposer|validator)=%s block=([0-9a-f]{8}|nil)"
                          % n.validator_pubs[0][:8]),
        "blk": re.compile(stamp + r"blk block +height=\d+ round=\d+ hash=[0-9a-f]{8} "
                          r"proposer=%s txs=\d+ signers=1 size=\d+$" % n.validator_pubs[0][:8]),
        "evt": re.compile(stamp + r"evt metrics +service=\w+ node=\S* height=\d+ round=\d+ "
                          r"mempool=\d+ tx_per_s=[\d.]+ committed=\d+ discarded=\d+ errors=\d+ "
                          r"size=\d+$"),
    }
    seen = set()
    for line in lines:
        topic = line.split()[1]
        assert topic in patterns, line
        assert patterns[topic].match(line), "line does not match its topic's shape: %r" % line
        seen.add(topic)
    assert seen == set(patterns), seen


def test_topic_filter_and_count():
    n = net()
    r = tap("--relay-pub", n.relay_pub, "--topic", "blk", "--topic", "evt", "--json",
            "--count", "6", "--duration", "20")
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(items) == 6, r.stdout
    assert {i["topic"] for i in items} <= {"blk", "evt"}
    #  --count alone, in text: exactly that many lines, then exit 0.
    start = time.monotonic()
    r = tap("--relay-pub", n.relay_pub, "--count", "5", "--duration", "20")
    assert len(r.stdout.splitlines()) == 5, r.stdout
    assert time.monotonic() - start < 15


def test_stats():
    n = net()
    r = tap("--relay-pub", n.relay_pub, "--stats", "--json", "--duration", "3.5")
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(items) >= 2, r.stdout
    for item in items:
        assert item["type"] == "stats"
        assert set(item["topics"]) >= {"tx", "cns", "blk", "evt"}
        for rates in item["topics"].values():
            assert set(rates) == {"messages_per_s", "bytes_per_s"}
    assert sum(i["topics"]["blk"]["messages_per_s"] for i in items) > 0
    assert sum(i["topics"]["cns"]["bytes_per_s"] for i in items) > 0
    r = tap("--relay-pub", n.relay_pub, "--stats", "--duration", "2.5")
    lines = r.stdout.splitlines()
    assert len(lines) >= 1
    for line in lines:
        assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} stats \| tx \d+ msg/s \d+ B/s \| cns ", line), line


def test_top():
    n = net()
    r = tap("--relay-pub", n.relay_pub, "--top", "--duration", "3.5")
    #  Not a terminal: plain tables one after another, no escape codes.
    assert "\033[" not in r.stdout
    tables = [t for t in r.stdout.split("\n\n") if t.strip()]
    assert len(tables) >= 2, r.stdout
    last = tables[-1].splitlines()
    assert last[0].startswith("certchain-tap ") and "services" in last[0]
    assert last[1].split() == ["SERVICE", "NODE", "HEIGHT", "ROUND", "MEMPOOL", "TX/S",
                               "COMMITTED", "DISCARDS", "ERRORS", "AGE"]
    rows = {line.split()[0]: line.split() for line in last[2:]}
    assert {"validator", "verifier"} <= set(rows), last
    assert rows["validator"][1] == n.validator_pubs[0][:16]
    assert int(rows["validator"][2]) >= 1
    r = tap("--relay-pub", n.relay_pub, "--top", "--json", "--duration", "2.5")
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert items and items[-1]["type"] == "top"
    services = items[-1]["services"]
    for entry in services:
        assert set(entry) >= {"service", "node", "height", "round", "mempool", "tx_per_s",
                              "discarded", "errors"}, entry
    assert n.validator_pubs[0] in {e["node"] for e in services}


def test_endpoint_from_environment():
    n = net()
    env = dict(os.environ, CERTCHAIN_RELAY_PUB=n.relay_pub)
    r = tap("--count", "3", "--duration", "20", env=env)
    assert len(r.stdout.splitlines()) == 3


#  --- Junk from a fake publisher ----------------------------------------------------


def test_undecodable_never_crashes():
    h.need("tap")
    if zmq is None:
        raise h.Skip("python3-zmq not installed")
    context = zmq.Context()
    pub = context.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    endpoint = "tcp://127.0.0.1:%d" % port
    junk = [
        [b"tx", b"\xff\xff\xff"],
        [b"txb", b"\xff\xff"],                # not a TxBatch
        [b"cns", b"\x0a\x05abc"],
        [b"blk", b"garbage" * 10],
        [b"evt", b"\x08"],
        [b"cns", b""],                      # decodes as a message of no kind
        [b"zzz\x1b[2J", b"hello"],          # unknown topic with an escape code
        [b"tx"],                            # one frame
        [b"evt", b"a", b"b"],               # three frames
    ]
    try:
        for mode in ([], ["--json"]):
            proc = subprocess.Popen([h.binary("tap"), "--relay-pub", endpoint, "--count",
                                     str(len(junk)), "--duration", "20"] + mode,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            try:
                #  Wait for its subscription (skipping the unsubscription
                #  of the tap before it).
                poller = zmq.Poller()
                poller.register(pub, zmq.POLLIN)
                deadline = time.monotonic() + 10
                while True:
                    left = deadline - time.monotonic()
                    assert left > 0 and poller.poll(left * 1000), "the tap never subscribed"
                    if pub.recv() == b"\x01":
                        break
                for frames in junk:
                    pub.send_multipart(frames)
                out, err = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
            assert proc.returncode == 0, err
            lines = out.decode("utf-8").splitlines()
            assert len(lines) == len(junk), out
            if mode:
                items = [json.loads(line) for line in lines]
                assert [i["type"] for i in items] == ["undecodable"] * len(junk), items
                assert all(i["code"] and i["error"] for i in items)
                assert [i["topic"] for i in items] == [f[0].decode() for f in junk]
                assert items[3]["size"] == 70
            else:
                for line in lines:
                    assert " undecodable " in line and "code=" in line, line
                assert "\x1b" not in out.decode("utf-8")
    finally:
        pub.close(0)
        context.term()


def test_usage_errors():
    h.need("tap")
    for args, text in ((["--bogus"], "unknown option"),
                       (["--count", "0"], "--count"),
                       (["--count"], "needs a value"),
                       (["--duration", "x"], "--duration"),
                       (["--stats", "--top"], "pick one"),
                       (["--json=1"], "takes no value")):
        r = tap(*args, check=False)
        assert r.returncode == 2, (args, r)
        assert r.stderr.startswith("certchain-tap: ") and text in r.stderr, (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and r.stdout == ""
    r = tap("--relay-pub", "nonsense", "--count", "1", check=False)
    assert r.returncode == 1 and "nonsense" in r.stderr, r
    r = tap("--help")
    assert "--relay-pub" in r.stdout and "CERTCHAIN_RELAY_PUB" in r.stdout


if __name__ == "__main__":
    try:
        h.run_tests(globals())
    finally:
        if "cluster" in _STATE:
            _STATE["cluster"].close(graceful=True)
