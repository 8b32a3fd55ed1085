"""Benchmark figures of certification (issue 4, item 8): printed, not
asserted. Not part of the meson suite; run it by hand from the repository:

    CERTCHAIN_BUILD=$PWD/build /usr/bin/python3 tests/integration/bench_certification.py

One network (test_certification.CertNet: a relay, a producing CA, a
verifier) on loopback, then three measurements:

  1. Join request to certificate committed, two ways, each the median of
     JOINS joins one after another (each new member running before the
     next join, so the chain keeps committing):
       - real validators joining by themselves: the figure each one logs
         ("N ms from the join request to the commit");
       - certchain-joinforge's honest join (common/join, as `certchain
         join`), timed from here until the verifier answers for the
         Certify (GetTx), the new member then started with its join off.
  2. The CA's verification time per answer: verify_ms of every accepted
     decision in its audit log (`certchain ca-log --json`).
  3. Answers per second one CA verifies with CANDIDATES candidates joining
     at once (certchain-joinforge bench: all request and solve, then all
     answer at the same moment), the CA restarted with a policy of 8
     packets so that the candidates on this small machine solve quickly;
     the CA's share (the Argon2 sample at 8 MiB) is the default's. Last,
     since their Certify transactions stall the chain (members that never
     run).
"""

import os
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, cli_json, wait_until  # noqa: E402
from test_certification import CertNet, joinforge, last_result  # noqa: E402

JOINS = int(os.environ.get("CERTCHAIN_BENCH_JOINS", "5"))
CANDIDATES = int(os.environ.get("CERTCHAIN_BENCH_CANDIDATES", "50"))

CERTIFIED = re.compile(r"certified: Certify \w+ committed at height (\d+).*?; (\d+) ms from the "
                       r"join request to the commit")


def median_line(values, unit="ms"):
    return "median %.0f %s (min %.0f, max %.0f, n=%d)" % (
        statistics.median(values), unit, min(values), max(values), len(values))


def main():
    with Cluster("cert-bench") as c:
        net = CertNet(c, joiners=2 * JOINS)
        net.start(wait=2)
        print("machine: %d CPUs online" % os.cpu_count())

        #  1a. Validators joining by themselves, one after another.
        logged = []
        for i in range(1, JOINS + 1):
            proc = net.start_validator(i)
            match = wait_until(lambda: CERTIFIED.search(proc.log()), 60,
                               "validator %d certified" % i, interval=0.2)
            logged.append(int(match.group(2)))
            net.wait_member(net.pubs[i - 1])
            net.wait_height(net.height(net.rpc) + 2, timeout=30)
        print("BENCH join request to Certify committed, validators (their log): %s"
              % median_line(logged))

        #  1b. Joins by hand, timed from outside until the verifier has the tx.
        outside, solve = [], []
        for i in range(JOINS + 1, 2 * JOINS + 1):
            t0 = time.monotonic()
            result = last_result(joinforge("join", "--ca", net.join, "--key", net.keys[i - 1],
                                           "--chain", net.chain_id, "--data", c.dir))
            assert result["accepted"], result
            wait_until(lambda: cli_json("tx", result["certify_tx"], env=net.env()), 60,
                       "Certify of key %d committed" % i, interval=0.05)
            outside.append(1000 * (time.monotonic() - t0))
            solve.append(result["solve_ms"])
            net.start_validator(i, join=False)
            net.wait_member(net.pubs[i - 1])
            net.wait_height(net.height(net.rpc) + 2, timeout=30)
        print("BENCH join request to Certify committed, joinforge (timed outside): %s; "
              "solving alone: %s" % (median_line(outside), median_line(solve)))

        #  2. The CA's verification time per answer, from its audit log.
        entries = cli_json("ca-log", env=net.env())["entries"]
        verify = [e["verify_ms"] for e in entries if e["decision"] == "accepted"]
        print("BENCH CA verification time per answer (audit log verify_ms): %s"
              % median_line(verify))

        #  3. Many candidates answering at once.
        net.set_policy({"packets": 8, "deadline_ms": 120000, "rate_per_key_per_minute": 0})
        net.restart_ca()
        seq = max(e["seq"] for e in entries)
        out = joinforge("bench", "--ca", net.join, "--chain", net.chain_id, "--count",
                        CANDIDATES, "--data", c.dir, "--timeout", 120000, timeout=300)[-1]
        burst = [e["verify_ms"] for e in cli_json("ca-log", "--from", seq + 1,
                                                  env=net.env())["entries"]
                 if e["decision"] == "accepted"]
        print("BENCH CA answers/s with %d candidates answering at once: %.1f "
              "(%d answered, %d accepted in %.3f s; verify_ms %s; candidates solved in "
              "%.0f ms on average)" % (CANDIDATES, out["answers_per_second"], out["answered"],
                                       out["accepted"], out["answer_seconds"],
                                       median_line(burst) if burst else "-",
                                       out["mean_solve_ms"]))


if __name__ == "__main__":
    main()
