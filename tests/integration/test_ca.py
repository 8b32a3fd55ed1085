"""certchain-ca: the join protocol against the real CA and a real relay.

Each test starts a relay and a CA (with the policy it needs) on free
loopback ports, and plays the candidate with certchain-joinforge: the honest
join goes through common/join's cc_join_run exactly as `certchain join`
does, the lying candidates change one thing each. Every refusal is checked
twice: the code in the reply and the same code in the CA's audit log, read
over the join socket with an AuditQuery (what `certchain ca-log` uses).

The genesis here marks the CA as not producing and names one validator
that never runs, so no block is ever made (test_producer.py covers the
producing CA) and a Certify stays pending: an
accepted candidate is seen by its Certify transaction arriving on the
relay's "txb" topic, signed by the CA, for that node, with the hash the CA
answered. A non-producing CA runs no block producer: its admin endpoint is
never bound.

Benchmark figures are printed, not asserted: the CA's verification time per
answer (from the audit log) and the answers per second one CA verifies with
50 candidates answering at the same moment.
"""

import hashlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, binary, free_endpoint, run, run_tests, wait_until, zpl  # noqa: E402

try:
    import zmq
except ImportError:  # pragma: no cover (python3-zmq is a test dependency)
    zmq = None

CHAIN = "ca-test"


def joinforge_path():
    path = os.path.join(harness.BUILD, "tests", "integration", "certchain-joinforge")
    if not os.access(path, os.X_OK):
        raise harness.Skip("certchain-joinforge not built")
    return path


def forge(*args, timeout=60, check=True, input=None):
    """Runs certchain-joinforge; returns its JSON lines as a list."""
    r = run([joinforge_path()] + [str(a) for a in args], timeout=timeout, check=check,
            input=input)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


#  --- Minimal protobuf reading (no generated Python code in this tree) -------


def _varint(data, i):
    shift = value = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


def pb_fields(data):
    """Field number -> list of raw values (int for varints, bytes otherwise)."""
    out, i = {}, 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            length, i = _varint(data, i)
            value, i = data[i:i + length], i + length
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wire)
        out.setdefault(number, []).append(value)
    return out


def listening_ports():
    """The TCP ports something on this machine listens on (IPv4 and IPv6),
    from /proc/net/tcp*: state 0A is LISTEN, the local port is hex."""
    ports = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


#  --- A relay and a CA -----------------------------------------------------------


class Net:
    """A relay and a CA in cluster c; policy is a dict for the policy file's
    "policy" section (plus "banned" when given)."""

    def __init__(self, c, policy=None, banned=None, ca_flags=()):
        self.c = c
        self.ca_key = c.path("ca.key")
        self.ca_pub = forge("keygen", "--out", self.ca_key)[0]["public"]
        self.genesis = c.path("genesis.zpl")
        #  A genesis needs a block producer: one validator that never runs,
        #  so the CA (not producing) sees its Certify stay pending.
        idle_pub = forge("keygen", "--out", c.path("idle.key"))[0]["public"]
        harness.cli("genesis", "--out", self.genesis, "--chain-id", CHAIN, "--ca", self.ca_pub,
                    "--validator", idle_pub, "--param", "cert_validity=1000")
        self.rpc, self.pub, self.gossip = free_endpoint(), free_endpoint(), free_endpoint()
        self.join_ep = free_endpoint()
        self.admin_ep = free_endpoint()     # a producer's; this CA must leave it free
        self.relay = c.start("relay", [binary("relay"), "--genesis", self.genesis,
                                       "--store", c.path("relay-data"), "--rpc", self.rpc,
                                       "--pub", self.pub, "--gossip", self.gossip])
        tree = {}
        if policy:
            tree["policy"] = policy
        if banned:
            tree["banned"] = banned
        self.policy = c.write("policy.zpl", zpl(tree)) if tree else ""
        self.ca_argv = [binary("ca"), "--genesis", self.genesis, "--key", self.ca_key,
                        "--store", c.path("ca-data"), "--join", self.join_ep,
                        "--relay-rpc", self.rpc, "--relay-pub", self.pub,
                        "--relay-gossip", self.gossip, "--admin", self.admin_ep] + list(ca_flags)
        if self.policy:
            self.ca_argv += ["--policy", self.policy]
        self.ca = c.start("ca", self.ca_argv)
        self.wait_ready()

    def wait_ready(self):
        wait_until(lambda: forge("status", "--ca", self.join_ep, "--timeout", 500,
                                 check=False), 20, "the CA to answer GetStatus")

    def restart_ca(self):
        assert self.ca.stop() == 0, self.ca.tail()
        self.ca.start()
        self.wait_ready()

    def key(self, name):
        path = self.c.path(name + ".key")
        pub = forge("keygen", "--out", path)[0]["public"]
        return path, pub

    def join(self, key, *flags, timeout=60, input=None):
        return forge("join", "--ca", self.join_ep, "--key", key, "--chain", CHAIN,
                     "--data", self.c.dir, *flags, timeout=timeout, input=input)

    def audit(self, node=None):
        args = ["audit", "--ca", self.join_ep]
        if node:
            args += ["--node", node]
        lines = forge(*args)
        return [e for e in lines if "seq" in e]

    def status(self):
        return forge("status", "--ca", self.join_ep)[0]


def last_result(lines):
    results = [l for l in lines if l.get("stage") in ("join", "request", "answer", "second")]
    assert results, "no result in %r" % (lines,)
    return results[-1]


def assert_refused(net, node, lines, code, stage=None, text=None):
    """The reply and the audit log both carry the refusal code."""
    result = last_result(lines)
    assert not result["accepted"], result
    assert result["code"] == code, "expected %s, got %r" % (code, result)
    assert result["from_ca"], result
    if stage:
        assert result["stage"] == stage, result
    if text:
        assert text in result["reason"], "%r not in %r" % (text, result["reason"])
    if code != "RATE_LIMITED":
        assert result["retry_after_ms"] > 0, result
    entries = net.audit(node)
    refused = [e for e in entries if e["decision"] == "refused" and e["code"] == code]
    assert refused, "no %s refusal in the audit log: %r" % (code, entries)
    assert refused[-1]["reason"] == result["reason"], (refused[-1], result)
    return result, entries


#  --- Tests -------------------------------------------------------------------------


def test_honest_join_submits_certify():
    if zmq is None:
        raise harness.Skip("python3-zmq missing")
    with Cluster("ca-honest") as c:
        net = Net(c)
        key, pub = net.key("node")
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"txb")
        sub.connect(net.pub)
        try:
            time.sleep(0.3)     # the subscription reaches the relay first
            result = last_result(net.join(key))
            assert result["accepted"], result
            assert result["code"] == "OK", result
            assert result["valid_until"] == 1 + 1000, result
            assert result["hashes_per_second"] > 0 and result["argon2_mib_per_second"] > 0
            certify = result["certify_tx"]
            #  The Certify reaches the relay and is published on "txb", a
            #  TxBatch of one.
            assert sub.poll(10000), "no tx published by the relay"
            topic, payload = sub.recv_multipart()
            assert topic == b"txb"
            (signed,) = pb_fields(payload)[1]
            envelope = pb_fields(signed)
            body = envelope[1][0]
            assert hashlib.blake2b(body, digest_size=32).hexdigest() == certify
            assert envelope[3][0].hex() == net.ca_pub          # signed by the CA
            tx = pb_fields(body)
            assert tx[1][0].decode() == CHAIN
            assert tx[3][0] == 1                               # first nonce of the CA
            payload_fields = pb_fields(tx[11][0])              # Certify
            assert payload_fields[1][0].hex() == pub
            assert payload_fields[4][0] == result["valid_until"]
        finally:
            sub.close(0)
            ctx.term()
        #  The audit log holds the challenge and the acceptance, in order.
        entries = net.audit(pub)
        assert [e["decision"] for e in entries] == ["challenged", "accepted"], entries
        accepted = entries[-1]
        assert accepted["certify_tx"] == certify
        assert accepted["challenge_id"] == entries[0]["challenge_id"]
        assert accepted["source"].startswith("127.0.0.1"), accepted
        assert net.status()["pending"] == 1
        print("BENCH ca verification time per answer: %.1f ms (score %.0f hashes/s, "
              "%.1f Argon2 MiB/s, solved in %d ms)" % (
                  accepted["verify_ms"], accepted["hashes_per_second"],
                  accepted["argon2_mib_per_second"], result["solve_ms"]))
        #  A second join while the Certify is pending is refused.
        assert_refused(net, pub, net.join(key), "ALREADY_ACTIVE", text="pending")
        #  A key with nothing pending still joins (nonce 2 follows).
        key2, _ = net.key("node2")
        assert last_result(net.join(key2))["accepted"]
        assert net.status()["pending"] == 2


def test_profile_below_policy_refused_before_challenge():
    with Cluster("ca-profile") as c:
        net = Net(c, policy={"min_cpu_cores": 100000})
        key, pub = net.key("node")
        result, entries = assert_refused(net, pub, net.join(key), "PROFILE_BELOW_POLICY",
                                         stage="join", text="cpu_cores")
        assert "< 100000" in result["reason"], result
        #  Refused at once: no challenge was ever issued to it.
        assert not [e for e in entries if e["decision"] == "challenged"], entries
        assert result["solve_ms"] == 0, result


def test_deadline_missed():
    with Cluster("ca-deadline") as c:
        net = Net(c, policy={"deadline_ms": 150})
        key, pub = net.key("late")
        lines = net.join(key, "--late", 400)
        assert lines[0]["stage"] == "challenged"
        result, _ = assert_refused(net, pub, lines, "DEADLINE_MISSED", stage="answer",
                                   text="after the deadline")
        #  An honest candidate gives up by itself: no answer reaches the CA.
        key2, pub2 = net.key("honest")
        honest = last_result(net.join(key2))
        assert not honest["accepted"] and honest["code"] == "TIMEOUT", honest
        assert not honest["from_ca"], honest
        assert [e["decision"] for e in net.audit(pub2)] == ["challenged"]


def test_wrong_nonce_refused():
    with Cluster("ca-nonce") as c:
        net = Net(c)
        key, pub = net.key("cheat")
        assert_refused(net, pub, net.join(key, "--wrong-nonce"), "POW_INVALID", stage="answer",
                       text="proof of work wrong at packet 16")


def test_forged_argon2_caught_by_sample():
    with Cluster("ca-argon2") as c:
        net = Net(c, policy={"sample_size": 32})
        key, pub = net.key("cheat")
        assert_refused(net, pub, net.join(key, "--forge-x"), "ARGON2_MISMATCH",
                       stage="answer", text="packet 16")


def test_challenge_answered_twice():
    with Cluster("ca-twice") as c:
        net = Net(c)
        key, pub = net.key("twice")
        lines = net.join(key, "--answer-twice")
        first = [l for l in lines if l["stage"] == "answer"][0]
        assert first["accepted"], first
        assert_refused(net, pub, lines, "CHALLENGE_REPLAYED", stage="second",
                       text="already answered")


def test_answer_signed_by_another_key():
    with Cluster("ca-otherkey") as c:
        net = Net(c)
        key, pub = net.key("node")
        other, _ = net.key("other")
        assert_refused(net, pub, net.join(key, "--sign-with", other), "WRONG_NODE_KEY",
                       stage="answer")


def test_unknown_and_expired_challenge():
    with Cluster("ca-expired") as c:
        net = Net(c, policy={"deadline_ms": 150}, ca_flags=["--expired-after-ms", "200"])
        key, pub = net.key("node")
        assert_refused(net, pub, net.join(key, "--other-challenge"), "CHALLENGE_UNKNOWN",
                       stage="answer")
        #  Later than the deadline plus the grace: expired, not merely late.
        key2, pub2 = net.key("sleepy")
        assert_refused(net, pub2, net.join(key2, "--late", 800), "CHALLENGE_EXPIRED",
                       stage="answer", text="expired")


def test_banned_key_refused():
    with Cluster("ca-banned") as c:
        #  The key exists before the CA starts, so the policy can ban it.
        c.mkdir("keys")
        key_path = c.path("keys", "bad.key")
        pub = forge("keygen", "--out", key_path)[0]["public"]
        net = Net(c, banned={pub: "caught cheating"})
        assert_refused(net, pub, net.join(key_path), "BANNED", stage="join",
                       text="caught cheating")
        #  Banned whatever it proves: it never got a challenge.
        assert not [e for e in net.audit(pub) if e["decision"] == "challenged"]


def test_stale_request_refused():
    with Cluster("ca-stale") as c:
        net = Net(c)
        key, pub = net.key("node")
        assert_refused(net, pub, net.join(key, "--time-offset", -600000), "STALE",
                       stage="request", text="off the CA's clock")


def test_rate_limited():
    with Cluster("ca-rate") as c:
        net = Net(c, policy={"rate_per_key_per_minute": 2, "rate_per_source_per_minute": 5})
        key, pub = net.key("eager")
        for _ in range(2):
            assert net.join(key, "--request-only")[0]["stage"] == "challenged"
        result, _ = assert_refused(net, pub, net.join(key, "--request-only"), "RATE_LIMITED",
                                   stage="request", text="for this key")
        assert 0 < result["retry_after_ms"] <= 60000, result
        #  Per source: two more requests from another key fill 5 a minute.
        key2, _ = net.key("second")
        for _ in range(2):
            assert net.join(key2, "--request-only")[0]["stage"] == "challenged"
        key3, pub3 = net.key("third")
        assert_refused(net, pub3, net.join(key3, "--request-only"), "RATE_LIMITED",
                       text="from 127.0.0.1")


def test_refusal_backoff():
    with Cluster("ca-backoff") as c:
        net = Net(c, policy={"backoff_ms": 30000})
        key, pub = net.key("node")
        result, _ = assert_refused(net, pub, net.join(key, "--wrong-nonce"), "POW_INVALID")
        assert result["retry_after_ms"] == 30000, result
        #  Asking again before the back-off ends is refused without a challenge.
        again, _ = assert_refused(net, pub, net.join(key), "RATE_LIMITED", text="back-off")
        assert 0 < again["retry_after_ms"] <= 30000, again


def test_restart_between_challenge_and_answer():
    with Cluster("ca-restart") as c:
        net = Net(c, policy={"deadline_ms": 60000})
        key, pub = net.key("patient")
        #  A pipe on stdin tells the paused candidate when to answer.
        cand = subprocess.Popen([joinforge_path(), "join", "--ca", net.join_ep, "--key", key,
                                 "--chain", CHAIN, "--data", c.dir, "--pause"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            challenged = json.loads(cand.stdout.readline())
            assert challenged["stage"] == "challenged", challenged
            paused = json.loads(cand.stdout.readline())
            assert paused["stage"] == "paused", paused
            #  The CA goes down and comes back with the challenge in its store.
            net.restart_ca()
            cand.stdin.write("go\n")
            cand.stdin.flush()
            out, _ = cand.communicate(timeout=60)
        finally:
            if cand.poll() is None:
                cand.kill()
                cand.wait()
        result = json.loads(out.splitlines()[-1])
        assert result["stage"] == "answer" and result["accepted"], result
        assert result["challenge_id"] == challenged["challenge_id"]
        decisions = [e["decision"] for e in net.audit(pub)]
        assert decisions == ["challenged", "accepted"], decisions
        assert net.status()["pending"] == 1


def test_start_refusals():
    with Cluster("ca-config") as c:
        net = Net(c)
        outsider = c.path("outsider.key")
        forge("keygen", "--out", outsider)
        argv = [a if a != net.ca_key else outsider for a in net.ca_argv]
        argv[argv.index("--join") + 1] = free_endpoint()
        argv[argv.index("--store") + 1] = c.path("ca-outsider")
        r = run(argv, check=False, timeout=20)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "is not a CA of the genesis" in r.stderr, r.stderr
        bad = c.write("bad-policy.zpl", zpl({"policy": {"packets": 0}}))
        argv = net.ca_argv + ["--policy", bad]
        argv[argv.index("--join") + 1] = free_endpoint()
        argv[argv.index("--store") + 1] = c.path("ca-badpolicy")
        r = run(argv, check=False, timeout=20)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "policy/packets" in r.stderr, r.stderr
        #  --print-config shows the effective policy, and that this CA
        #  produces no blocks.
        r = run(net.ca_argv + ["--print-config"], timeout=20)
        assert "#      packets = 32" in r.stdout, r.stdout
        assert "#      validity_blocks = 1000" in r.stdout, r.stdout
        assert "#  Block producer: off" in r.stdout, r.stdout
        assert "ca-producer" not in net.ca.log(), net.ca.tail()
        #  Nothing listens on the admin port (binding it to find out would
        #  race with any outgoing connection given that port).
        ports = listening_ports()
        assert int(net.join_ep.rsplit(":", 1)[1]) in ports, "the join port is not seen bound"
        port = int(net.admin_ep.rsplit(":", 1)[1])
        assert port not in ports, "the admin port %d is bound" % port


def test_bench_fifty_candidates():
    with Cluster("ca-bench") as c:
        #  Small proofs of work so 50 candidates solve quickly on a small
        #  machine; the CA's share (sample_size Argon2 at 8 MiB) is the
        #  default's.
        net = Net(c, policy={"packets": 8, "deadline_ms": 120000,
                             "rate_per_key_per_minute": 0, "rate_per_source_per_minute": 0},
                  ca_flags=["--workers", "2"])
        out = forge("bench", "--ca", net.join_ep, "--chain", CHAIN, "--count", 50,
                    "--data", c.dir, "--timeout", 120000, timeout=170)[-1]
        assert out["answered"] == 50 and out["accepted"] == 50, out
        verify = sorted(e["verify_ms"] for e in net.audit() if e["decision"] == "accepted")
        print("BENCH ca answers/s with 50 candidates answering at once: %.1f "
              "(50 answers in %.3f s; CA verification per answer: median %.1f ms, "
              "max %.1f ms; candidates solved in %.0f ms on average)" % (
                  out["answers_per_second"], out["answer_seconds"],
                  verify[len(verify) // 2], verify[-1], out["mean_solve_ms"]))


if __name__ == "__main__":
    run_tests(globals())
