"""Integration tests of the CA commands of the `certchain` CLI: join, revoke,
ca-log and status --ca (tools/cli/ca.c, send.c, query.c).

One network for the whole file, started on first use: a relay, a producing
genesis CA (services/ca/certchain-ca; it runs the validator engine, so it
makes blocks alone) and a verifier, on free loopback ports. The tests run in
order and build on each other, as an operator would:

  - status --ca shows the CA's GetStatus beside the relay and the verifier;
  - a candidate joins by hand (`certchain join --wait --json`): accepted,
    its Certify committed, the verifier lists it; a certchain-validator with
    its key then takes part (the set is {CA, node}, quorum 2);
  - the CA restarted with a policy above this machine (min_cpu_cores 512)
    refuses the next candidate with PROFILE_BELOW_POLICY, exit 1;
  - ca-log lists those decisions in order (text, --json, --node, --from,
    --count);
  - revoke refuses before sending what the chain would refuse (a signer
    that is no CA: NOT_CA; a node that is no member: NOT_ACTIVE), then the
    CA revokes the joined node: the Revoke commits at height H, the node
    signs H but is in no set after it, and the CA alone keeps committing.

Usage errors of these commands and an unreachable CA are tested without a
network in test_cli.py.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")

#  The CA's policy: generous deadline and no back-off, so a loaded (or
#  sanitizer-built) machine still answers in time and one refusal does not
#  block the next request.
BASE_POLICY = {"deadline_ms": 60000, "backoff_ms": 0}

_NET = {}


def refused(args, code, contains=(), env=None, timeout=60):
    """Runs certchain ARGS expecting exit code and one stderr line
    "certchain: ..." holding every string of contains."""
    r = h.cli(*args, check=False, env=env, timeout=timeout)
    assert r.returncode == code, "exit %d, expected %d for %r (stdout %r, stderr %r)" % (
        r.returncode, code, args, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("certchain: "), \
        "stderr of %r: %r" % (args, r.stderr)
    for text in contains:
        assert text in r.stderr, "%r not in stderr of %r: %r" % (text, args, r.stderr)
    return r


class CaNet:
    """A relay, a producing CA and a verifier of a fresh chain whose genesis
    has the CA and no validator; keys for candidates and an outsider."""

    def __init__(self, c):
        self.c = c
        keys = c.mkdir("keys")
        os.chmod(keys, 0o700)
        out = json.loads(h.forge("keys", "--dir", keys, "--prefix", "k", "--count", 5).stdout)
        paths = [k["path"] for k in out["keys"]]
        pubs = [k["pubkey"] for k in out["keys"]]
        self.ca_key, self.node_key, self.low_key, self.low2_key, self.outsider_key = paths
        self.ca_pub, self.node_pub, self.low_pub, self.low2_pub, self.outsider_pub = pubs
        self.chain_id = "it-cli-ca-%d" % os.getpid()
        self.genesis = c.path("genesis.zpl")
        h.cli("genesis", "--out", self.genesis, "--chain-id", self.chain_id,
              "--ca", self.ca_pub + ":producing", "--param", "cert_validity=100000")
        endpoints = [h.free_endpoint() for _ in range(7)]
        while len(set(endpoints)) != len(endpoints):
            endpoints = [h.free_endpoint() for _ in range(7)]
        (self.rpc, self.pub, self.gossip, self.query, self.join, self.admin,
         self.validator_admin) = endpoints
        relays = {"rpc": self.rpc, "pub": self.pub, "gossip": self.gossip}
        common = {"log": {"level": "info"}, "genesis": {"path": self.genesis}}
        relay = dict(common, store={"path": c.path("relay-data")}, relay=relays)
        self.relay = c.start("relay", [h.binary("relay"), "-c", c.write("relay.zpl",
                                                                        h.zpl(relay))])
        self.policy = c.write("policy.zpl", h.zpl({"policy": BASE_POLICY}))
        ca = dict(common, store={"path": c.path("ca-data")}, relay=relays,
                  ca={"key": self.ca_key, "join": self.join, "admin": self.admin,
                      "policy": self.policy})
        self.ca = c.start("ca", [h.binary("ca"), "-c", c.write("ca.zpl", h.zpl(ca))])
        verifier = dict(common, store={"path": c.path("verifier-data")}, relay=relays,
                        verifier={"query": self.query})
        self.verifier = c.start("verifier", [h.binary("verifier"), "-c",
                                             c.write("verifier.zpl", h.zpl(verifier))])
        self.validator = None
        self.procs = [self.relay, self.ca, self.verifier]

    def env(self):
        env = dict(os.environ)
        env["CERTCHAIN_RELAY"] = self.rpc
        env["CERTCHAIN_VERIFIER"] = self.query
        env["CERTCHAIN_CA"] = self.join
        return env

    def check_alive(self):
        dead = ["%s (exit %s)" % (p.name, p.returncode()) for p in self.procs
                if not p.alive() and not p.stopped]
        if dead:
            raise AssertionError("processes exited: " + ", ".join(dead))

    def height(self):
        out = h.cli_json("status", "--relay", self.rpc, "--verifier", self.query,
                         "--timeout", "2", env=self.env())
        return out["verifier"]["height"]

    def wait_height(self, height, timeout=60):
        def reached():
            self.check_alive()
            return self.height() >= height
        return h.wait_until(reached, timeout, "verifier height %d" % height, interval=0.3)

    def wait_ca_ready(self):
        h.wait_until(lambda: h.cli("status", "--ca", self.join, "--timeout", "1",
                                   env=self.env(), check=False).returncode == 0,
                     30, "the CA to answer GetStatus")

    def restart_ca(self, policy):
        with open(self.policy, "w") as f:
            f.write(h.zpl({"policy": dict(BASE_POLICY, **policy)}))
        assert self.ca.stop() == 0, self.ca.tail()
        self.ca.start()
        self.wait_ca_ready()

    def start_validator(self, key):
        """certchain-validator with a joined key: it only takes part (no
        join of its own), and exits at once when stopped."""
        cfg = {"log": {"level": "info"}, "genesis": {"path": self.genesis},
               "store": {"path": self.c.path("validator-data")},
               "validator": {"key": key, "admin": self.validator_admin, "join": 0,
                             "resign_on_stop": 0},
               "relay": {"rpc": self.rpc, "pub": self.pub, "gossip": self.gossip}}
        self.validator = self.c.start("validator", [h.binary("validator"), "-c",
                                                    self.c.write("validator.zpl", h.zpl(cfg))])
        self.procs.append(self.validator)
        return self.validator


def net():
    if "net" not in _NET:
        h.need("relay", "ca", "verifier", "validator", "forge", "certchain")
        cluster = h.Cluster("cli-ca")
        _NET["cluster"] = cluster
        try:
            n = CaNet(cluster)
            n.wait_ca_ready()
            n.wait_height(2, timeout=60)
            _NET["net"] = n
        except BaseException:
            cluster.dump_logs()
            raise
    return _NET["net"]


def failing(fn):
    """Runs a test body; on failure prints the network's logs first."""
    try:
        fn()
    except BaseException:
        if "cluster" in _NET:
            _NET["cluster"].dump_logs(lines=40)
        raise

#  --- Tests -------------------------------------------------------------------------


def test_status_with_ca():
    def body():
        n = net()
        env = dict(os.environ, CERTCHAIN_RELAY=n.rpc, CERTCHAIN_VERIFIER=n.query)
        env.pop("CERTCHAIN_CA", None)
        #  No CA named: none asked (the default endpoint is not assumed).
        out = h.cli_json("status", env=env)
        assert "ca" not in out, out
        out = h.cli_json("status", "--ca", n.join, env=env)
        ca = out["ca"]
        assert ca["endpoint"] == n.join and ca["service"] == "ca", ca
        assert ca["node"] == n.ca_pub and ca["chain_id"] == n.chain_id, ca
        assert ca["height"] >= 1 and "pending" in ca, ca
        assert ca["genesis_hash"] == out["relay"]["genesis_hash"], out
        #  The environment names it as well as the flag.
        out = h.cli_json("status", env=dict(env, CERTCHAIN_CA=n.join))
        assert out["ca"]["service"] == "ca", out
        r = h.cli("status", "--ca", n.join, env=env)
        rows = [line.split()[0] for line in r.stdout.splitlines()[1:]]
        assert rows == ["relay", "verifier", "ca"], r.stdout
        #  A CA that does not answer: its error in its place, exit 1.
        dead = h.free_endpoint()
        r = h.cli("status", "--ca", dead, "--timeout", "0.5", "--json", env=env, check=False)
        assert r.returncode == 1, r
        out = json.loads(r.stdout)
        assert out["ca"]["endpoint"] == dead and out["ca"]["code"] == "TIMEOUT", out
        assert "height" in out["relay"], out
        assert len(r.stderr.splitlines()) == 1 and dead in r.stderr, r.stderr
    failing(body)


def test_join_accepted_and_waited():
    def body():
        n = net()
        out = h.cli_json("join", "--key", n.node_key, "--data-dir", n.c.dir, "--threads", "2",
                         "--wait", "--timeout", "120", env=n.env(), timeout=150)
        assert set(out) >= {"accepted", "code", "reason", "score", "elapsed_ms", "solve_ms",
                            "certify_tx", "valid_until", "retry_after_ms", "height"}, out
        assert out["accepted"] is True and out["code"] == "OK", out
        assert out["node"] == n.node_pub, out
        assert set(out["score"]) >= {"hashes_per_second", "argon2_mib_per_second"}, out
        assert out["score"]["hashes_per_second"] > 0, out
        assert out["score"]["argon2_mib_per_second"] > 0, out
        assert 0 < out["solve_ms"] <= out["elapsed_ms"], out
        assert HEX64.match(out["certify_tx"]), out
        assert out["height"] >= 2, out
        assert out["valid_until"] > out["height"], out
        _NET["join"] = out
        #  The Certify is on chain, signed by the CA, in the block before the
        #  first height the node signs.
        tx = h.cli_json("tx", out["certify_tx"], env=n.env())
        assert tx["kind"] == "certify" and tx["signer"] == n.ca_pub, tx
        assert tx["height"] == out["height"] - 1 and tx["proof_valid"] is True, tx
        members = h.cli_json("validators", env=n.env())["validators"]
        assert n.node_pub in [m["pubkey"] for m in members], members
        print("BENCH join by hand: %d ms from request to outcome (solve %d ms), score %.0f "
              "hashes/s, %.1f Argon2 MiB/s" % (
                  out["elapsed_ms"], out["solve_ms"], out["score"]["hashes_per_second"],
                  out["score"]["argon2_mib_per_second"]))
        #  With 2 members the quorum is 2: the node's validator must run for
        #  blocks to go on.
        n.start_validator(n.node_key)
        n.wait_height(out["height"] + 2, timeout=60)
        #  Joining again while active is the CA's refusal, told the same way.
        r = refused(["join", "--key", n.node_key, "--data-dir", n.c.dir, "--json"], 1,
                    ["certchain: join: refused by the CA", "(ALREADY_ACTIVE)"], env=n.env(),
                    timeout=90)
        again = json.loads(r.stdout)
        assert again["accepted"] is False and again["code"] == "ALREADY_ACTIVE", again
        assert again["certify_tx"] is None, again
    failing(body)


def test_join_refused_below_policy():
    def body():
        n = net()
        n.restart_ca({"min_cpu_cores": 512})
        r = refused(["join", "--key", n.low_key, "--data-dir", n.c.dir, "--json"], 1,
                    ["certchain: join: refused by the CA", "cpu_cores", "(PROFILE_BELOW_POLICY)"],
                    env=n.env(), timeout=90)
        out = json.loads(r.stdout)
        assert out["accepted"] is False and out["code"] == "PROFILE_BELOW_POLICY", out
        assert "cpu_cores" in out["reason"] and "512" in out["reason"], out
        assert out["solve_ms"] == 0 and out["certify_tx"] is None, out
        assert "height" not in out, out
        #  Text form: the outcome on stdout, the refusal on stderr.
        r = refused(["join", "--key", n.low2_key, "--data-dir", n.c.dir], 1,
                    ["(PROFILE_BELOW_POLICY)"], env=n.env(), timeout=90)
        assert re.search(r"^outcome: refused PROFILE_BELOW_POLICY: .*cpu_cores", r.stdout,
                         re.M), r.stdout
        assert "node: %s" % n.low2_pub in r.stdout, r.stdout
        #  The restarted CA still produces (with the joined validator).
        n.wait_height(n.height() + 2, timeout=60)
    failing(body)


def test_ca_log():
    def body():
        n = net()
        joined = _NET.get("join")
        assert joined, "test_join_accepted_and_waited did not run"
        out = h.cli_json("ca-log", env=n.env())
        assert set(out) >= {"entries", "next_seq", "last_seq"}, out
        entries = out["entries"]
        seqs = [e["seq"] for e in entries]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
        assert out["last_seq"] == seqs[-1] and out["next_seq"] == seqs[-1] + 1, out
        for e in entries:
            assert set(e) >= {"seq", "time_ms", "node", "decision", "code", "name", "reason",
                              "score", "certify_tx", "valid_until", "source"}, e
        ours = {n.node_pub: "node", n.low_pub: "low", n.low2_pub: "low2"}
        story = [(ours[e["node"]], e["decision"], e["name"]) for e in entries
                 if e["node"] in ours]
        assert story == [("node", "challenged", "OK"), ("node", "accepted", "OK"),
                         ("node", "refused", "ALREADY_ACTIVE"),
                         ("low", "refused", "PROFILE_BELOW_POLICY"),
                         ("low2", "refused", "PROFILE_BELOW_POLICY")], story
        accepted = [e for e in entries if e["decision"] == "accepted"][-1]
        assert accepted["certify_tx"] == joined["certify_tx"], (accepted, joined)
        assert accepted["valid_until"] == joined["valid_until"], accepted
        assert accepted["score"]["hashes_per_second"] > 0, accepted
        assert accepted["source"].startswith("127.0.0.1"), accepted
        low = [e for e in entries if e["node"] == n.low_pub][0]
        assert low["code"] == 87 and "cpu_cores" in low["reason"], low
        assert low["score"] is None and low["certify_tx"] is None, low
        #  One node's entries; a window by --from and --count.
        mine = h.cli_json("ca-log", "--node", n.node_pub, env=n.env())["entries"]
        assert [e["decision"] for e in mine] == ["challenged", "accepted", "refused"], mine
        window = h.cli_json("ca-log", "--from", seqs[1], "--count", 2, env=n.env())
        assert [e["seq"] for e in window["entries"]] == seqs[1:3], window
        assert window["next_seq"] == seqs[2] + 1, window
        beyond = h.cli_json("ca-log", "--from", seqs[-1] + 1, env=n.env())
        assert beyond["entries"] == [] and beyond["last_seq"] == seqs[-1], beyond
        #  Text: one line per decision.
        r = h.cli("ca-log", "--node", "@" + n.low_key + ".pub", env=n.env())
        lines = r.stdout.splitlines()
        assert len(lines) == 1, r.stdout
        fields = lines[0].split()
        assert fields[0] == str(low["seq"]) and fields[2] == n.low_pub[:16], lines
        assert fields[3:5] == ["refused", "PROFILE_BELOW_POLICY"], lines
        assert "cpu_cores" in lines[0], lines
        r = h.cli("ca-log", env=n.env())
        assert len(r.stdout.splitlines()) == len(entries), r.stdout
        assert re.search(r" accepted +OK +\d+ H/s [\d.]+ MiB/s", r.stdout), r.stdout
    failing(body)


def test_revoke_refused_before_sending():
    def body():
        n = net()
        env = n.env()
        ca_nonce = h.cli_json("account", n.ca_pub, env=env)["nonce"]
        args = ["revoke", "--node", n.node_pub, "--reason", "test"]
        #  Signed by a key that is no CA: refused here, nothing sent.
        refused(args + ["--key", n.outsider_key], 1,
                ["certchain: revoke:", n.outsider_pub, "not a block-producing CA", "(NOT_CA)"],
                env=env)
        refused(args + ["--key", n.outsider_key, "--genesis", n.genesis], 1,
                ["not a CA of the genesis", "(NOT_CA)"], env=env)
        other = n.c.path("other-genesis.zpl")
        h.cli("genesis", "--out", other, "--chain-id", "another", "--ca",
              n.outsider_pub + ":producing")
        refused(args + ["--key", n.ca_key, "--genesis", other], 1,
                ["not the genesis of the relay's chain", "(WRONG_CHAIN)"], env=env)
        #  A node that is no member, and the CA itself, cannot be revoked.
        refused(["revoke", "--key", n.ca_key, "--node", n.low_pub, "--reason", "x"], 1,
                [n.low_pub, "not an active validator", "(NOT_ACTIVE)"], env=env)
        refused(["revoke", "--key", n.ca_key, "--node", n.ca_pub, "--reason", "x"], 1,
                ["genesis CA", "(UNKNOWN_NODE)"], env=env)
        #  Nothing was sent: no nonce moved a few blocks later.
        n.wait_height(n.height() + 2, timeout=60)
        assert h.cli_json("account", n.outsider_pub, env=env)["nonce"] == 0
        assert h.cli_json("account", n.ca_pub, env=env)["nonce"] == ca_nonce
        assert n.node_pub in [m["pubkey"] for m in
                              h.cli_json("validators", env=env)["validators"]]
    failing(body)


def test_revoke_commits_and_node_leaves():
    def body():
        n = net()
        env = n.env()
        ca_nonce = h.cli_json("account", n.ca_pub, env=env)["nonce"]
        out = h.cli_json("revoke", "--key", n.ca_key, "--node", "@" + n.node_key + ".pub",
                         "--reason", "caught misbehaving", "--genesis", n.genesis, "--wait",
                         "--timeout", "60", env=env, timeout=90)
        assert set(out) >= {"hash", "height"} and HEX64.match(out["hash"]), out
        revoked_at = out["height"]
        tx = h.cli_json("tx", out["hash"], env=env)
        assert tx["kind"] == "revoke" and tx["signer"] == n.ca_pub, tx
        assert tx["height"] == revoked_at and tx["proof_valid"] is True, tx
        assert out["nonce"] == ca_nonce + 1, (out, ca_nonce)
        assert h.cli_json("account", n.ca_pub, env=env)["nonce"] == ca_nonce + 1
        #  It signs the height of its revocation, and no height after it.
        at = h.cli_json("validators", "--height", revoked_at, env=env)["validators"]
        assert n.node_pub in [m["pubkey"] for m in at], at
        after = h.cli_json("validators", env=env)
        assert after["height"] > revoked_at, after
        assert [m["pubkey"] for m in after["validators"]] == [n.ca_pub], after
        #  The CA is a member by genesis, not by a certificate.
        ca, = after["validators"]
        assert ca["is_ca"] is True and ca["status"] == "genesis", ca
        #  The CA alone keeps committing.
        n.wait_height(revoked_at + 2, timeout=60)
        after = h.cli_json("validators", "--height", revoked_at + 1, env=env)["validators"]
        assert n.node_pub not in [m["pubkey"] for m in after], after
        #  Revoked is no longer a member: a second revoke is refused here.
        refused(["revoke", "--key", n.ca_key, "--node", n.node_pub, "--reason", "again"], 1,
                ["(NOT_ACTIVE)"], env=env)
    failing(body)


if __name__ == "__main__":
    try:
        h.run_tests(globals())
    finally:
        if "cluster" in _NET:
            _NET["cluster"].close(graceful=True)
