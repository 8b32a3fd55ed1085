"""Control after admission in a whole network (issue 4, item 7, tests
e-g): double signing, expiry and renewal, leaving and jailing, with real
processes on the network of test_certification.py (CertNet: a relay, a
producing CA, a verifier and validators that join through the challenge).

  e. test_double_sign_banned: a member's key signs two different prevotes
     at one height (certchain-forge double-sign publishes both into the
     relay's gossip); honest validators see the equivocation, submit the
     Evidence, and from the next height the offender is out of the set,
     its record BANNED; the CA refuses its join with BANNED (by hand and
     from its own validator, still running); the chain keeps committing.
  f. test_expiry_and_renewal: with a validity of 60 blocks, a validator
     certified once and run with its join off leaves the set exactly at
     its valid_until; one that renews by itself (validator/join 1) is in
     V(h) for every h from its first certificate to past its first
     valid_until.
  g. test_leaving: seven members (the CA and six validators that joined);
     three validators stopped one after another with SIGTERM each resign
     (Resign on chain, exit 0, record RESIGNED); one more killed with
     SIGKILL and kept down is jailed after jail_after heights (record
     JAILED) and the set shrinks by one; the relay's height never stands
     still for long meanwhile.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, forge, need, run_tests, wait_until  # noqa: E402
from test_certification import CertNet, joinforge_path, last_result  # noqa: E402


#  --- e. Double-signing --------------------------------------------------------------------


def test_double_sign_banned():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    joinforge_path()
    with Cluster("cert-double") as c:
        net = CertNet(c, joiners=4)
        net.start(wait=2, validators=(1, 2, 3, 4))
        for pub in net.pubs:
            net.wait_member(pub)
        key4, pub4 = net.keys[3], net.pubs[3]
        start = net.height(net.rpc)

        #  Validator 4's key signs two different prevotes for the height
        #  being decided (and the two after it, in case it moved on).
        out = json.loads(forge("double-sign", "--genesis", net.genesis, "--key", key4,
                               "--source", net.rpc, "--endpoint", net.gossip,
                               "--ahead", 2).stdout)
        assert out["validator"] == pub4 and out["sent"] == 6, out

        def punished():
            net.check_alive()
            return net.txs(net.blocks(start=start), "evidence", pub4)
        found = wait_until(punished, 30, "the Evidence against validator 4 on chain",
                           interval=0.5)
        evidence_at, tx = found[0]
        assert tx["signer"] != pub4 and tx["signer"] in [net.ca_pub] + net.pubs[:3], tx
        assert pub4 in net.members(evidence_at)
        assert pub4 not in net.members(evidence_at + 1), "still in V(h+1)"
        assert pub4 not in net.members()
        #  Its record (the verifier shows the current one for a member of
        #  an earlier set) says banned, for double signing.
        record = net.members(evidence_at)[pub4]
        assert record["status"] == "banned", record
        print("  record of validator 4: %s (%s)" % (record["status"], record.get("reason")))
        logs = "".join(v.log() for v in net.validators[:3]) + net.ca.log()
        assert "double-sign" in logs or "evidence" in logs.lower(), "no evidence logged"
        print("  Evidence committed at height %d (signed by %s), %d block(s) after the votes"
              % (evidence_at, tx["signer"][:12], evidence_at - start))

        #  Banned: the CA refuses its join, by hand and from its own
        #  validator, which is still running and tries to join again.
        result = last_result(net.join_by_hand(key4))
        assert not result["accepted"] and result["code"] == "BANNED", result
        assert "banned on chain" in result["reason"], result
        wait_until(lambda: "banned on chain" in net.validators[3].log(), 30,
                   "validator 4 to log its refusal as banned")

        #  The chain keeps committing without it.
        net.wait_height(evidence_at + 5, timeout=40)
        for b in net.blocks(start=evidence_at + 1):
            assert b["proposer"] != pub4 and pub4 not in b["signers"], b
        assert net.status(net.query)["discarded"] == 0


#  --- f. Expiry and renewal ------------------------------------------------------------------


VALIDITY = 60


def test_expiry_and_renewal():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    joinforge_path()
    with Cluster("cert-expiry") as c:
        #  Validator 1 is in the genesis (never expires); 2 joins and
        #  renews by itself; 3 is certified once by hand and runs with its
        #  join off, so it never renews. Blocks are slowed down so that a
        #  renewal (due 20 blocks before the end) has seconds to run.
        net = CertNet(c, genesis_validators=1, joiners=2,
                      params={"cert_validity": VALIDITY, "timeout_commit_ms": 300})
        net.start(wait=2, validators=(1, 2))
        renewer, lapser = net.pubs[1], net.pubs[2]
        assert last_result(net.join_by_hand(net.keys[2]))["accepted"]
        net.start_validator(3, join=False)
        net.wait_member(renewer)
        net.wait_member(lapser)
        certs = {}
        for pub in (renewer, lapser):
            (h, tx), = net.txs(net.blocks(), "certify", pub)
            #  The CA grants VALIDITY blocks from the height it saw next.
            assert h < tx["valid_until"] <= h + 1 + VALIDITY, (h, tx)
            assert tx["valid_until"] >= h + VALIDITY - 5, (h, tx)
            certs[pub] = (h, tx["valid_until"])
        end = max(until for _, until in certs.values())
        print("  certified: renewer at %d until %d, lapser at %d until %d" % (
            certs[renewer] + certs[lapser]))
        net.wait_height(end + 3, timeout=80)

        #  The lapser is in the set up to its valid_until, then out.
        h, until = certs[lapser]
        assert lapser in net.members(until - 1)
        assert lapser not in net.members(until)
        assert lapser not in net.members()
        assert not net.status(net.admin[2])["in_set"]

        #  The renewer re-joined before the end and never left.
        h, until = certs[renewer]
        chain = net.blocks()
        renewals = net.txs(chain, "certify", renewer)[1:]
        assert renewals, "no renewal for validator 2"
        renewed_at, tx = renewals[0]
        assert renewed_at < until and tx["valid_until"] > until, (renewed_at, tx, until)
        gaps = [x for x in range(h + 1, net.height() + 2) if renewer not in net.members(x)]
        assert not gaps, "validator 2 out of V(h) at %r" % gaps
        print("  renewed at height %d (%d blocks before %d), now valid until %d" % (
            renewed_at, until - renewed_at, until, tx["valid_until"]))
        assert net.status(net.query)["discarded"] == 0


#  --- g. Leaving --------------------------------------------------------------------------------


JAIL_AFTER = 10


class HeightWatch:
    """Samples the relay's height in a thread; longest_stall() is the
    longest time the height did not grow."""

    def __init__(self, net):
        self.net = net
        self.samples = []
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.samples.append((time.monotonic(), self.net.height(self.net.rpc)))
            except Exception:  # noqa: BLE001 (a missed sample is no stall)
                pass
            time.sleep(0.2)

    def stop(self):
        self.running = False
        self.thread.join(5)

    def longest_stall(self):
        longest, since, last = 0.0, None, None
        for t, h in self.samples:
            if last is None or h > last:
                since, last = t, h
            longest = max(longest, t - since)
        return longest


def test_leaving():
    need("relay", "ca", "verifier", "validator", "certchain", "forge")
    with Cluster("cert-leave") as c:
        net = CertNet(c, joiners=6, resign_on_stop=True,
                      params={"jail_after": JAIL_AFTER})
        net.start(wait=2, validators=range(1, 7))
        for pub in net.pubs:
            net.wait_member(pub, timeout=60)
        assert len(net.members()) == 7
        watch = HeightWatch(net)
        try:
            #  Three validators stopped one after another: each resigns.
            member_at = {}
            for i in (1, 2, 3):
                before = net.height(net.rpc)
                member_at[i] = before + 1
                t0 = time.monotonic()
                code = net.validators[i - 1].stop(timeout=40)
                took = time.monotonic() - t0
                assert code == 0, "validator %d exited %s: %s" % (
                    i, code, net.validators[i - 1].tail(30))
                resigns = net.txs(net.blocks(start=before), "resign")
                mine = [(h, tx) for h, tx in resigns if tx["signer"] == net.pubs[i - 1]]
                assert mine, "no Resign of validator %d on chain" % i
                print("  validator %d resigned at height %d, exited in %.1f s" % (
                    i, mine[0][0], took))
                net.wait_member(net.pubs[i - 1], present=False, timeout=10)
                net.wait_height(net.height(net.rpc) + 2, timeout=20)
            members = net.members()
            assert set(members) == {net.ca_pub} | set(net.pubs[3:]), members

            #  One more killed and kept down: jailed after JAIL_AFTER heights.
            victim = net.pubs[3]
            killed_at = net.height(net.rpc)
            net.validators[3].kill()

            def jailed():
                net.check_alive()
                return victim not in net.members()
            wait_until(jailed, 60, "validator 4 jailed", interval=0.5)
            out_at = net.height()
            assert out_at >= killed_at + JAIL_AFTER - 1, (killed_at, out_at)
            members = net.members()
            assert set(members) == {net.ca_pub} | set(net.pubs[4:]), members
            record = net.members(killed_at)[victim]
            assert record["status"] == "jailed", record
            print("  validator 4 killed at height %d, out of V(%d): %s (%s)" % (
                killed_at, out_at + 1, record["status"], record.get("reason")))
            for i, height in member_at.items():
                record = net.members(height)[net.pubs[i - 1]]
                assert record["status"] == "resigned", (i, record)
            net.wait_height(out_at + 3, timeout=30)
        finally:
            watch.stop()
        stall = watch.longest_stall()
        print("  longest time without a new block at the relay: %.1f s" % stall)
        assert stall < 8, "the chain stalled for %.1f s" % stall


if __name__ == "__main__":
    run_tests(globals())
