"""Certification in a whole network (issue 4, item 7, tests a-d): joins,
refusals, a CA restart and revocation, with real processes.

Every test builds its own network on free loopback ports with CertNet
below: a relay, a producing genesis CA (certchain-ca running the validator
engine beside its join server), a verifier, and validators that either join
through the CA's challenge (certchain-validator with validator/join 1, its
own candidate code), or are certified once by certchain-joinforge and run
with their join off where a test needs a node that never joins again, or
are named in the genesis (test f's steady member). What each test checks
is read from the verifier,
the process that applies the patent's rule to every block: its blocks
(certchain-forge blocks --detail 1 names each transaction's kind and the
node a Certify, Revoke or Evidence is about), its GetValidators for any
height (`certchain validators --height H`) and its discarded-block log.

  a. test_joins_through_challenge: at first only the CA produces; three
     validators join; their Certify transactions (signed by the CA) are on
     chain, the first in a block the CA proposed; from then on the
     verifier stores blocks each of them proposed.
  b. test_refusals_leave_nothing_on_chain: a wrong nonce, a key banned by
     the CA's policy (both as certchain-joinforge and as a real validator)
     and, after a CA restart with a stricter policy, a profile below it:
     each refused with its reason in the reply and the audit log, and no
     Certify for any of them ever commits.
  c. test_ca_restart_between_challenge_and_answer: the producing CA is
     restarted while a candidate holds its challenge; the honest answer is
     accepted afterwards, its Certify commits, and the new member produces.
  d. test_revocation: `certchain revoke` takes a member out of V(h+1); the
     chain keeps committing without its proposals or votes; a block it
     proposes afterwards (injected through a relay that skips checks) is
     discarded by the verifier as UNAUTHORIZED_PROPOSER, and the CA refuses
     to certify the revoked key again (REVOKED).

test_certification_control.py holds e-g (control after admission: double
signing, expiry, leaving) on the same CertNet.

bench_certification.py (run by hand) reuses CertNet for the benchmark
figures of item 8.
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Cluster, binary, cli, cli_json, forge, free_port, need, run,  # noqa: E402
                     run_tests, wait_until, zpl)

BALANCE = 10 ** 12


#  --- Helpers ------------------------------------------------------------------


def joinforge_path():
    path = os.path.join(harness.BUILD, "tests", "integration", "certchain-joinforge")
    if not os.access(path, os.X_OK):
        raise harness.Skip("certchain-joinforge not built")
    return path


def joinforge(*args, timeout=60):
    """Runs certchain-joinforge; returns its JSON lines."""
    r = run([joinforge_path()] + [str(a) for a in args], timeout=timeout)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def last_result(lines):
    results = [l for l in lines if l.get("stage") in ("join", "request", "answer", "second")]
    assert results, "no result in %r" % (lines,)
    return results[-1]


class CertNet:
    """A relay, a producing genesis CA, a verifier and validators of a fresh
    chain, started by a Cluster (so they die with it).

    genesis_validators are named in the genesis (members from height 1);
    joiners are keys the genesis does not know: start_validator(i) runs
    certchain-validator for validator i (1-based, genesis ones first) with
    its join on unless join=False. policy (dict) and banned ({pub: why})
    make the CA's policy file; the rate limit per source is off unless the
    policy sets it, since every candidate here comes from 127.0.0.1.
    """

    def __init__(self, cluster, joiners=0, genesis_validators=0, params=None, policy=None,
                 banned=None, resign_on_stop=False, extra_keys=0, injector=False,
                 log_level="info"):
        self.c = cluster
        self.injector = injector
        self.resign_on_stop = resign_on_stop
        self.log_level = log_level
        self.keys_dir = cluster.mkdir("keys")
        os.chmod(self.keys_dir, 0o700)
        (self.ca_key,), (self.ca_pub,) = self._keys("ca", 1)
        (self.faucet_key,), (self.faucet_pub,) = self._keys("faucet", 1)
        self.n_genesis = genesis_validators
        self.n = genesis_validators + joiners
        self.keys, self.pubs = self._keys("validator", self.n)
        self.extra_keys, self.extra_pubs = self._keys("extra", extra_keys)
        self.chain_id = "it-%s-%d" % (cluster.name, os.getpid())
        self.genesis = cluster.path("genesis.zpl")
        args = ["genesis", "--out", self.genesis, "--chain-id", self.chain_id,
                "--ca", self.ca_pub + ":producing",
                "--account", "%s=%d" % (self.faucet_pub, BALANCE)]
        for pub in self.pubs[:genesis_validators]:
            args += ["--validator", pub]
        for name, value in (params or {}).items():
            args += ["--param", "%s=%s" % (name, value)]
        cli(*args)
        count = 9 + self.n
        ports = [free_port() for _ in range(count)]
        while len(set(ports)) != len(ports):
            ports = [free_port() for _ in range(count)]
        ep = ["tcp://127.0.0.1:%d" % p for p in ports]
        (self.rpc, self.pub, self.gossip, self.query, self.join,
         self.ca_admin, self.inject_rpc, self.inject_pub, self.inject_gossip) = ep[:9]
        self.admin = ep[9:]
        self.policy_path = cluster.path("policy.zpl")
        self.set_policy(policy, banned)
        self.relay = None
        self.inject_relay = None
        self.ca = None
        self.verifier = None
        self.validators = [None] * self.n

    def _keys(self, prefix, count):
        if count == 0:
            return [], []
        out = forge("keys", "--dir", self.keys_dir, "--prefix", prefix,
                    "--count", count).stdout
        keys = json.loads(out)["keys"]
        return [k["path"] for k in keys], [k["pubkey"] for k in keys]

    def set_policy(self, policy=None, banned=None):
        """(Re)writes the CA's policy file; a restarted CA reads it."""
        values = {"rate_per_source_per_minute": 0}
        values.update(policy or {})
        tree = {"policy": values}
        if banned:
            tree["banned"] = banned
        with open(self.policy_path, "w") as f:
            f.write(zpl(tree))

    def _common(self, name):
        return {"log": {"level": self.log_level},
                "store": {"path": self.c.path("stores", name)},
                "genesis": {"path": self.genesis},
                "relay": {"rpc": self.rpc, "pub": self.pub, "gossip": self.gossip}}

    # -- Processes --

    def start(self, validators=(), wait=2, timeout=30):
        """Relay, CA, verifier, then validators (1-based list); waits until
        the verifier has `wait` blocks."""
        self.c.mkdir("stores")
        cfg = self._common("relay")
        cfg["relay"] = {"rpc": self.rpc, "pub": self.pub, "gossip": self.gossip}
        self.relay = self.c.start("relay", [binary("relay"), "-c",
                                            self.c.write("relay.zpl", zpl(cfg))])
        cfg = self._common("ca")
        cfg["ca"] = {"key": self.ca_key, "join": self.join, "admin": self.ca_admin,
                     "policy": self.policy_path}
        self.ca = self.c.start("ca", [binary("ca"), "-c", self.c.write("ca.zpl", zpl(cfg))])
        cfg = self._common("verifier")
        cfg["verifier"] = {"query": self.query}
        if self.injector:
            #  A second relay, publishing whatever is uploaded to it
            #  unchecked, is the verifier's block feed; the honest relay
            #  stays its source for catch-up (its GetStatus every 2 s), so
            #  the verifier sees both the chain and the injected blocks.
            inject = {"log": {"level": self.log_level},
                      "store": {"path": self.c.path("stores", "relay-inject")},
                      "genesis": {"path": self.genesis},
                      "relay": {"rpc": self.inject_rpc, "pub": self.inject_pub,
                                "gossip": self.inject_gossip, "unsafe_skip_checks": 1}}
            self.inject_relay = self.c.start("relay-inject", [
                binary("relay"), "-c", self.c.write("relay-inject.zpl", zpl(inject))])
            cfg["relay"] = dict(cfg["relay"], pub=self.inject_pub)
        self.verifier = self.c.start("verifier", [binary("verifier"), "-c",
                                                  self.c.write("verifier.zpl", zpl(cfg))])
        for i in validators:
            self.start_validator(i)
        if wait:
            self.wait_height(wait, timeout=timeout)
        return self

    def start_validator(self, i, join=True, extra=()):
        """Starts validator i (1-based), or restarts it with its store."""
        proc = self.validators[i - 1]
        if proc is not None:
            return proc.start()
        name = "validator-%d" % i
        cfg = self._common(name)
        cfg["validator"] = {"key": self.keys[i - 1], "admin": self.admin[i - 1],
                            "join": 1 if join else 0,
                            "resign_on_stop": 1 if self.resign_on_stop else 0}
        cfg["ca"] = {"join": self.join}
        path = self.c.write(name + ".zpl", zpl(cfg))
        self.validators[i - 1] = self.c.start(name, [binary("validator"), "-c", path]
                                              + list(extra))
        return self.validators[i - 1]

    def procs(self):
        return [p for p in [self.relay, self.inject_relay, self.ca, self.verifier]
                + self.validators if p is not None]

    def check_alive(self):
        dead = ["%s (exit %s)" % (p.name, p.returncode()) for p in self.procs()
                if not p.alive() and not p.stopped]
        if dead:
            raise AssertionError("processes exited: " + ", ".join(dead))

    def restart_ca(self):
        assert self.ca.stop() == 0, self.ca.tail(40)
        self.ca.start()
        self.wait_ca()

    def wait_ca(self, timeout=20):
        wait_until(lambda: self.status(self.join, 500), timeout, "the CA to answer GetStatus")

    # -- Queries --

    def env(self):
        env = dict(os.environ)
        env["CERTCHAIN_RELAY"] = self.rpc
        env["CERTCHAIN_VERIFIER"] = self.query
        env["CERTCHAIN_CA"] = self.join
        return env

    def status(self, endpoint, timeout_ms=2000):
        return json.loads(forge("status", "--endpoint", endpoint, "--timeout-ms",
                                timeout_ms).stdout)

    def height(self, endpoint=None):
        return self.status(endpoint or self.query)["height"]

    def wait_height(self, height, timeout=30, endpoint=None):
        endpoint = endpoint or self.query

        def reached():
            self.check_alive()
            return self.height(endpoint) >= height
        wait_until(reached, timeout, "height %d at %s" % (height, endpoint), interval=0.2)
        return self.height(endpoint)

    def blocks(self, start=1, to=0, endpoint=None):
        """Blocks of the verifier (or endpoint) with each tx's details."""
        out = forge("blocks", "--endpoint", endpoint or self.query, "--from", start,
                    "--to", to, "--detail", 1, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def txs(self, blocks, kind, node=None):
        """[(height, tx)] of the transactions of kind (about node) in blocks."""
        return [(b["height"], tx) for b in blocks for tx in b["tx_list"]
                if tx["kind"] == kind and (node is None or tx.get("node") == node)]

    def discarded(self):
        return json.loads(forge("discarded", "--endpoint", self.query).stdout)["discarded"]

    def members(self, height=None):
        """{pubkey: info} of V(height) (default: the next height), from the
        verifier's GetValidators."""
        args = ["validators"] + (["--height", height] if height else [])
        return {v["pubkey"]: v for v in cli_json(*args, env=self.env())["validators"]}

    def wait_member(self, pub, timeout=40, present=True):
        def check():
            self.check_alive()
            return (pub in self.members()) == present
        wait_until(check, timeout, "%s %s V(next)" % (pub[:12], "in" if present else "out of"),
                   interval=0.3)

    def audit(self, node=None):
        args = ["audit", "--ca", self.join]
        if node:
            args += ["--node", node]
        return [e for e in joinforge(*args) if "seq" in e]

    def join_by_hand(self, key, *flags, timeout=60):
        """certchain-joinforge join (honest unless flags lie)."""
        return joinforge("join", "--ca", self.join, "--key", key, "--chain", self.chain_id,
                         "--data", self.c.dir, *flags, timeout=timeout)


#  --- a. Joining --------------------------------------------------------------------


def test_joins_through_challenge():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    with Cluster("cert-join") as c:
        net = CertNet(c, joiners=3)
        net.start(wait=3)
        before = net.blocks()
        assert len(before) >= 3 and {b["proposer"] for b in before} == {net.ca_pub}, before[:3]
        assert set(net.members()) == {net.ca_pub}

        t0 = time.monotonic()
        for i in (1, 2, 3):
            net.start_validator(i)

        def certified():
            net.check_alive()
            found = {tx["node"]: (h, tx) for h, tx in net.txs(net.blocks(), "certify")}
            return found if set(net.pubs) <= set(found) else None
        certs = wait_until(certified, 60, "three Certify transactions on chain", interval=0.5)
        print("  three joins committed %.1f s after the validators started"
              % (time.monotonic() - t0))
        chain = net.blocks()
        by_height = {b["height"]: b for b in chain}
        for pub in net.pubs:
            h, tx = certs[pub]
            assert tx["signer"] == net.ca_pub, tx
            assert tx["valid_until"] > h + 1, tx
        #  Until the first Certify took effect only the CA produced (a later
        #  Certify may be packed by a validator certified before it).
        first = min(h for h, _ in certs.values())
        assert {b["proposer"] for b in chain if b["height"] <= first} == {net.ca_pub}
        assert by_height[first]["proposer"] == net.ca_pub, by_height[first]

        members = net.members()
        assert set(members) == {net.ca_pub} | set(net.pubs), members
        assert all(members[p]["status"] == "active" for p in net.pubs), members

        #  From then on, blocks proposed by each new validator are stored.
        def produced():
            net.check_alive()
            proposers = {b["proposer"]: b["height"] for b in net.blocks(start=first + 1)}
            return proposers if set(net.pubs) <= set(proposers) else None
        proposers = wait_until(produced, 40, "a block proposed by each new validator",
                               interval=0.5)
        for pub in net.pubs:
            assert proposers[pub] > certs[pub][0], (pub, proposers[pub], certs[pub])
        #  Each new validator's admin socket says it is in the set.
        for i in (1, 2, 3):
            assert net.status(net.admin[i - 1])["in_set"], i
        assert net.status(net.query)["discarded"] == 0, net.discarded()
        for p in net.procs():
            assert p.stop() == 0, (p.name, p.tail(30))



#  --- b. Refusals ---------------------------------------------------------------------


def ca_log(net, node):
    """The CA's audit log entries about node, as `certchain ca-log` reads them."""
    return cli_json("ca-log", "--node", node, env=net.env())["entries"]


def assert_refused(net, node, lines, code, text):
    """Refused by the CA with code, the reason (holding text) in the reply
    and, word for word, in the audit log."""
    result = last_result(lines)
    assert not result["accepted"] and result["from_ca"], result
    assert result["code"] == code, "expected %s, got %r" % (code, result)
    assert text in result["reason"], "%r not in %r" % (text, result["reason"])
    entries = ca_log(net, node)
    refused = [e for e in entries if e["decision"] == "refused" and e["name"] == code]
    assert refused, "no %s refusal in the audit log: %r" % (code, entries)
    assert refused[-1]["reason"] == result["reason"], (refused[-1], result)
    assert not [e for e in entries if e["decision"] == "accepted"], entries
    return result, entries


def test_refusals_leave_nothing_on_chain():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    with Cluster("cert-refuse") as c:
        #  Validator 1's key is banned by the CA's policy; the extra keys
        #  are candidates played by certchain-joinforge.
        net = CertNet(c, joiners=1, extra_keys=2)
        banned = net.pubs[0]
        net.set_policy(banned={banned: "caught cheating"})
        net.start(wait=2)
        cheat_key, cheat = net.extra_keys[0], net.extra_pubs[0]
        small_key, small = net.extra_keys[1], net.extra_pubs[1]

        #  A wrong nonce: challenged, then refused at the answer.
        _, entries = assert_refused(net, cheat, net.join_by_hand(cheat_key, "--wrong-nonce"),
                                    "POW_INVALID", "proof of work wrong at packet")
        assert [e["decision"] for e in entries] == ["challenged", "refused"], entries

        #  A banned key: refused at once, by hand and as a real validator,
        #  whose candidate logs the CA's reason and keeps out of the set.
        _, entries = assert_refused(net, banned, net.join_by_hand(net.keys[0]), "BANNED",
                                    "caught cheating")
        assert [e["decision"] for e in entries] == ["refused"], entries
        validator = net.start_validator(1)
        wait_until(lambda: "caught cheating" in validator.log(), 30,
                   "the banned validator to log the CA's refusal")
        assert "BANNED" in validator.log(), validator.tail()

        #  A profile below policy: the CA restarted with a policy this
        #  machine cannot meet refuses before any challenge.
        net.set_policy({"min_cpu_cores": 100000}, banned={banned: "caught cheating"})
        net.restart_ca()
        result, entries = assert_refused(net, small, net.join_by_hand(small_key),
                                         "PROFILE_BELOW_POLICY", "cpu_cores")
        assert "< 100000" in result["reason"], result
        assert [e["decision"] for e in entries] == ["refused"], entries

        #  Nothing on chain, while the chain went on past every refusal.
        tip = net.height(net.rpc)
        net.wait_height(tip + 3, timeout=30)
        chain = net.blocks()
        assert len(chain) >= tip + 3
        for pub in (cheat, banned, small):
            assert not net.txs(chain, "certify", pub), pub
        assert not net.txs(chain, "certify"), net.txs(chain, "certify")
        assert set(net.members()) == {net.ca_pub}, net.members()
        assert not net.status(net.admin[0])["in_set"]
        assert net.status(net.query)["discarded"] == 0


#  --- c. A CA restarted between challenge and answer -----------------------------------


def test_ca_restart_between_challenge_and_answer():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    joinforge_path()
    with Cluster("cert-restart") as c:
        net = CertNet(c, joiners=1, policy={"deadline_ms": 60000})
        net.start(wait=2)
        key, pub = net.keys[0], net.pubs[0]
        cand = subprocess.Popen([joinforge_path(), "join", "--ca", net.join, "--key", key,
                                 "--chain", net.chain_id, "--data", c.dir, "--pause"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            challenged = json.loads(cand.stdout.readline())
            assert challenged["stage"] == "challenged", challenged
            assert json.loads(cand.stdout.readline())["stage"] == "paused"
            #  The producing CA goes down with the challenge pending: the
            #  chain stops (it is the only producer), then both resume.
            stopped_at = net.height(net.rpc)
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
        assert result["challenge_id"] == challenged["challenge_id"], result
        assert [e["decision"] for e in ca_log(net, pub)] == ["challenged", "accepted"]

        #  The Certify commits after the restart, and the new member runs.
        def certified():
            net.check_alive()
            return net.txs(net.blocks(), "certify", pub)
        (height, tx), = wait_until(certified, 30, "the Certify on chain", interval=0.5)
        assert tx["hash"] == result["certify_tx"] and tx["signer"] == net.ca_pub, tx
        assert height > stopped_at, (height, stopped_at)
        assert pub in net.members()
        net.start_validator(1, join=False)
        wait_until(lambda: [b for b in net.blocks(start=height + 1) if b["proposer"] == pub],
                   30, "a block proposed by the new member", interval=0.5)


#  --- d. Revocation -----------------------------------------------------------------------


def test_revocation():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    with Cluster("cert-revoke") as c:
        net = CertNet(c, joiners=4, injector=True)
        net.start(wait=2)
        #  Validator 4, the one revoked, joins by hand and runs without a
        #  join of its own, so its only ways back are checked here.
        key4, pub4 = net.keys[3], net.pubs[3]
        assert last_result(net.join_by_hand(key4))["accepted"]
        net.start_validator(4, join=False)
        for i in (1, 2, 3):
            net.start_validator(i)
        for pub in net.pubs:
            net.wait_member(pub)
        #  The revoked node took part before: it signed commits.
        wait_until(lambda: [b for b in net.blocks() if pub4 in b["signers"]], 30,
                   "a commit signed by validator 4", interval=0.5)

        out = cli_json("revoke", "--key", net.ca_key, "--node", pub4, "--reason",
                       "test revocation", "--wait", "--timeout", 30, env=net.env(), timeout=40)
        revoked_at = out["height"]
        chain = net.blocks(start=revoked_at, to=revoked_at)
        (h, tx), = net.txs(chain, "revoke", pub4)
        assert tx["signer"] == net.ca_pub and tx["reason"] == "test revocation", tx
        assert pub4 in net.members(revoked_at), "not a member at the Revoke's own height"
        assert pub4 not in net.members(revoked_at + 1), "still in V(h+1)"

        #  The chain goes on without it: it proposes nothing and signs no
        #  commit from the next height on (quorum 3 of CA + 3).
        net.wait_height(revoked_at + 6, timeout=40)
        after = net.blocks(start=revoked_at + 1)
        assert len(after) >= 6
        for b in after:
            assert b["proposer"] != pub4 and pub4 not in b["signers"], b
        assert {b["proposer"] for b in after} <= {net.ca_pub} | set(net.pubs[:3])
        wait_until(lambda: not net.status(net.admin[3])["in_set"], 10,
                   "validator 4 to see itself out of the set")
        #  Revocation keeps it out: the CA (six blocks past the Revoke by
        #  now) refuses to certify it again.
        again = last_result(net.join_by_hand(key4))
        assert not again["accepted"] and again["code"] == "REVOKED", again
        assert "revoked on chain" in again["reason"], again

        #  A block it proposes now, injected through the relay that skips
        #  checks, is discarded as coming from an unauthorized proposer.
        #  The producers are paused so that the verifier's tip is the one
        #  the forged block extends (else it is a mere conflict).
        producers = [net.ca] + net.validators[:3]
        for p in producers:
            os.kill(p.pid, signal.SIGSTOP)
        try:
            tip = stable_tip(net)
            forged = json.loads(forge("rogue-block", "--genesis", net.genesis, "--key", key4,
                                      "--source", net.query, "--relay-rpc",
                                      net.inject_rpc).stdout)
            assert "error" not in forged and forged["height"] == tip["height"] + 1, forged
            assert forged["proposer"] == pub4, forged

            def listed():
                return [d for d in net.discarded() if d["hash"] == forged["hash"]]
            d, = wait_until(listed, 15, "the forged block discarded by the verifier")
            assert d["name"] == "UNAUTHORIZED_PROPOSER", d
            assert d["proposer"] == pub4 and d["height"] == forged["height"], d
            now = net.status(net.query)
            assert (now["height"], now["tip_hash"]) == (tip["height"], tip["tip_hash"]), now
            print("  block by the revoked key discarded: %s" % d["reason"])
        finally:
            for p in producers:
                if p.alive():
                    os.kill(p.pid, signal.SIGCONT)
        net.wait_height(tip["height"] + 2, timeout=30)
        assert forged["hash"] not in {b["hash"] for b in net.blocks(start=tip["height"] + 1)}


def stable_tip(net):
    """The verifier's status once its height has not moved for 2.5 s (it
    asks the honest relay every 2 s)."""
    last = net.status(net.query)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(2.5)
        now = net.status(net.query)
        if now["height"] == last["height"]:
            return now
        last = now
    raise AssertionError("the verifier's height does not settle with the producers paused")


if __name__ == "__main__":
    run_tests(globals())
