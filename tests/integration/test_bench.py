"""certchain-bench (issue 5): the smallest real run and the usage errors.

`certchain-bench --smoke` starts a real network (relay, producing CA,
verifier) in a folder of its own, measures the Ed25519 ceiling, submits a
few hundred pre-signed transfers and reads them back from the verifier.
This test checks that the JSON document it writes has every key a reader
of docs/performance.md relies on, that the transfers were committed, that
every process the bench started is gone afterwards, and that bad usage and
missing binaries fail with their exit codes. The figures themselves are
not asserted: they depend on the machine (see docs/performance.md).
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Cluster, binary, need, pid_alive, run_tests  # noqa: E402

TOP_KEYS = {"bench", "mode", "elapsed_s", "machine", "ceiling", "scenarios", "targets"}
MACHINE_KEYS = {"cpu_model", "cpus", "memory_gib", "load_before", "load_after", "buildtype"}
CEILING_KEYS = {"threads", "verifications_per_s_one_core", "verifications_per_s_all_cores",
                "duration_s", "all_cores_start", "all_cores_end", "distinct_signatures",
                "verifications_per_s_all_cores_one_signature"}
RUN_KEYS = {"members", "verifiers", "rate_control", "target_rate", "submitted", "succeeded",
            "failed", "refused", "lost", "send_rate", "throughput", "latency_ms", "duration_s",
            "verifications_per_tx", "ceiling_tx_per_s", "ratio", "ratio_one_signature", "blocks",
            "block_txs", "max_block_txs", "start_height", "end_height", "sign_seconds", "window_s",
            "machine_share", "processes", "problem"}
SHARE_KEYS = {"busy_percent", "network_percent", "bench_percent", "others_percent"}
LATENCY_KEYS = {"count", "min", "avg", "p50", "p99", "max"}
PROCESS_KEYS = {"name", "pid", "cpu_s", "cpu_percent", "rss_idle_mib", "rss_peak_mib"}
TARGET_KEYS = {"name", "target", "measured", "value", "met"}


def bench(*args, timeout=60):
    return subprocess.run([binary("bench")] + [str(a) for a in args], capture_output=True,
                          text=True, timeout=timeout)


def test_smoke_run_writes_every_key():
    need("bench", "relay", "ca", "verifier")
    with Cluster("bench") as c:
        out = c.path("bench.json")
        r = bench("--smoke", "--json", out, "--work-dir", c.dir)
        assert r.returncode == 0, r.stdout + r.stderr
        with open(out) as f:
            doc = json.load(f)
        assert TOP_KEYS <= set(doc), sorted(TOP_KEYS - set(doc))
        assert doc["mode"] == "smoke"
        assert MACHINE_KEYS <= set(doc["machine"]), doc["machine"]
        assert doc["machine"]["cpus"] >= 1
        assert CEILING_KEYS <= set(doc["ceiling"]), doc["ceiling"]
        ceiling = doc["ceiling"]
        assert ceiling["verifications_per_s_all_cores"] > 0
        assert ceiling["verifications_per_s_all_cores_one_signature"] > 0
        assert ceiling["distinct_signatures"] > 1
        #  The better of the two measurements is the one used.
        assert ceiling["verifications_per_s_all_cores"] == max(ceiling["all_cores_start"],
                                                               ceiling["all_cores_end"])

        run = doc["scenarios"]["saturation-1"]
        assert RUN_KEYS <= set(run), sorted(RUN_KEYS - set(run))
        assert LATENCY_KEYS <= set(run["latency_ms"]), run["latency_ms"]
        assert SHARE_KEYS <= set(run["machine_share"]), run["machine_share"]
        assert run["machine_share"]["network_percent"] > 0, run["machine_share"]
        assert run["succeeded"] > 0, run
        assert run["succeeded"] + run["failed"] == run["submitted"], run
        assert run["failed"] == 0, run["problem"]
        assert run["members"] == 1 and run["verifiers"] == 1
        assert run["verifications_per_tx"] == 2
        assert run["throughput"] > 0 and run["ceiling_tx_per_s"] > 0
        #  The ratio is against the distinct-signature ceiling; the other
        #  against the one-signature loop, from the same run's figures.
        assert abs(run["ratio"] - run["throughput"] / run["ceiling_tx_per_s"]) < 1e-6, run
        loop = ceiling["verifications_per_s_all_cores_one_signature"]
        assert abs(run["ratio_one_signature"] - run["throughput"] * 2 / loop) < 1e-6, run
        lat = run["latency_ms"]
        assert 0 <= lat["min"] <= lat["p50"] <= lat["p99"] <= lat["max"], lat
        assert lat["count"] == run["succeeded"]
        assert run["block_txs"] >= run["succeeded"]

        names = [p["name"] for p in run["processes"]]
        assert names == ["relay", "ca", "verifier", "bench"], names
        for p in run["processes"]:
            assert PROCESS_KEYS <= set(p), p
            assert p["rss_peak_mib"] > 0, p

        assert len(doc["targets"]) == 8, doc["targets"]
        for t in doc["targets"]:
            assert TARGET_KEYS <= set(t), t
        memory = [t for t in doc["targets"] if t["name"].startswith("RSS")]
        assert all(t["met"] is not None for t in memory), memory

        #  The tables are printed too, the run's row among them.
        assert "| saturation-1 | 1 | %d | 0 |" % run["succeeded"] in r.stdout, r.stdout
        assert "### Targets" in r.stdout

        #  Everything the bench started is gone, its folder removed.
        for p in run["processes"]:
            if p["name"] != "bench":
                assert not pid_alive(p["pid"]), p
        left = [n for n in os.listdir(c.dir) if n.startswith("certchain-bench-")]
        assert left == [], left


def test_bad_usage_exits_2():
    need("bench")
    r = bench("--no-such-option", "1")
    assert r.returncode == 2, r.stderr
    assert "unknown option" in r.stderr and "usage:" in r.stderr
    r = bench("--txs", "many")
    assert r.returncode == 2, r.stderr
    r = bench("--only", "everything")
    assert r.returncode == 2 and "unknown scenario" in r.stderr, r.stderr
    #  Attaching needs all four endpoints and files.
    r = bench("--relay", "tcp://127.0.0.1:1", "--verifier", "tcp://127.0.0.1:2")
    assert r.returncode == 2 and "--faucet" in r.stderr, r.stderr
    r = bench("--help")
    assert r.returncode == 0 and "--quick" in r.stdout


def test_missing_binaries_fail_clearly():
    need("bench")
    with Cluster("bench-missing") as c:
        r = bench("--smoke", "--bin-dir", c.path("nowhere"), "--work-dir", c.dir)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "certchain-relay not found" in r.stderr, r.stderr


if __name__ == "__main__":
    run_tests(globals())
