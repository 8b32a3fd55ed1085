"""certchain-devnet: up / env / status / down, a restart from the same folder,
two devnets side by side, and down stopping exactly the processes it started.

Each test runs devnets in its own temp dir and brings them down in a finally
block (and, as a last resort, kills every pid they recorded)."""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Cluster, binary, cli_json, devnet, devnet_env, devnet_ports,  # noqa: E402
                     need, pid_alive, run_tests, wait_until)


def recorded_pids(d):
    """name -> pid of every pid file of devnet folder d."""
    result = {}
    pids = os.path.join(d, "pids")
    if os.path.isdir(pids):
        for f in os.listdir(pids):
            if f.endswith(".pid"):
                with open(os.path.join(pids, f)) as fh:
                    result[f[:-4]] = int(fh.readline())
    return result


class Devnet:
    """A devnet folder that is always brought down (then force-killed)."""

    def __init__(self, cluster, name):
        self.dir = cluster.path(name)
        self.seen = {}

    def up(self, *args, timeout=90):
        try:
            return devnet("up", "--dir", self.dir, *args, timeout=timeout)
        finally:
            self.seen.update(recorded_pids(self.dir))

    def down(self):
        self.seen.update(recorded_pids(self.dir))
        return devnet("down", "--dir", self.dir, timeout=60)

    def env(self):
        return devnet_env(self.dir)

    def cli_env(self):
        env = dict(os.environ)
        env.update(self.env())
        return env

    def force_kill(self):
        for pid in self.seen.values():
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def heights(env):
    s = cli_json("status", env=env)
    return s["relay"]["height"], s["verifier"]["height"]


def test_up_env_status_down_restart():
    need("devnet", "certchain", "relay", "validator", "verifier")
    with Cluster("devnet") as c:
        net = Devnet(c, "net")
        try:
            t0 = time.monotonic()
            net.up("--validators", "4")
            print("  up took %.1fs" % (time.monotonic() - t0))
            pids = recorded_pids(net.dir)
            assert sorted(pids) == sorted(["relay", "verifier"] + ["validator-%d" % i
                                                                    for i in range(1, 5)]), pids
            for name, pid in pids.items():
                assert pid_alive(pid), "%s (pid %d) not running after up" % (name, pid)
            for f in ["genesis.zpl", "ports", "relay.zpl", "verifier.zpl", "validator-1.zpl",
                      "keys/faucet.key", "keys/faucet.key.pub", "keys/ca.key",
                      "logs/relay.log"]:
                assert os.path.exists(os.path.join(net.dir, f)), "missing " + f
            assert os.stat(os.path.join(net.dir, "keys/faucet.key")).st_mode & 0o077 == 0

            env = net.env()
            assert env["CERTCHAIN_RELAY"].startswith("tcp://127.0.0.1:"), env
            assert env["CERTCHAIN_VERIFIER"].startswith("tcp://127.0.0.1:"), env
            cenv = net.cli_env()
            relay_h, verifier_h = heights(cenv)
            assert relay_h >= 1 and verifier_h >= 1, (relay_h, verifier_h)

            #  The faucet is funded and a transfer from it commits.
            faucet = open(os.path.join(net.dir, "keys/faucet.key.pub")).read().strip()
            assert cli_json("account", faucet, env=cenv)["balance"] > 0
            to = "11" * 32
            sent = cli_json("send", "--key", os.path.join(net.dir, "keys/faucet.key"),
                            "--to", to, "--amount", "7", "--wait", env=cenv, timeout=60)
            assert sent["height"] >= 1 and len(sent["hash"]) == 64, sent
            assert cli_json("account", to, env=cenv)["balance"] == 7

            out = devnet("status", "--dir", net.dir).stdout
            for name in pids:
                assert name in out, "status does not list %s:\n%s" % (name, out)
            assert "running" in out and "stopped" not in out, out

            net.down()
            for name, pid in pids.items():
                assert not pid_alive(pid), "%s (pid %d) still running after down" % (name, pid)
            assert recorded_pids(net.dir) == {}, "pid files left: %s" % recorded_pids(net.dir)
            out = devnet("status", "--dir", net.dir, check=False).stdout
            assert "running" not in out, out

            #  Up again on the same folder: same chain, same ports, from the stores.
            ports = devnet_ports(net.dir)
            net.up()
            assert devnet_ports(net.dir) == ports
            relay_h2, verifier_h2 = heights(cenv)
            assert verifier_h2 >= sent["height"], (verifier_h2, sent)
            assert cli_json("account", to, env=cenv)["balance"] == 7
            #  The restarted network commits new blocks: down left the set whole.
            wait_until(lambda: heights(cenv)[1] >= verifier_h2 + 3, 30,
                       "the restarted devnet to commit 3 more blocks")
            assert len(cli_json("validators", env=cenv)["validators"]) == 4
            net.down()
        finally:
            try:
                net.down()
            except Exception as e:  # noqa: BLE001
                print("  down failed: %s" % e)
            net.force_kill()


def test_two_side_by_side_and_down_is_exact():
    need("devnet", "certchain", "relay", "validator", "verifier")
    with Cluster("devnet2") as c:
        a = Devnet(c, "a")
        b = Devnet(c, "b")
        bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
        try:
            a.up("--validators", "1")
            b.up("--validators", "1")
            pa, pb = devnet_ports(a.dir), devnet_ports(b.dir)
            assert not set(pa.values()) & set(pb.values()), (pa, pb)
            ea, eb = a.cli_env(), b.cli_env()
            assert ea["CERTCHAIN_RELAY"] != eb["CERTCHAIN_RELAY"]
            ga = cli_json("status", env=ea)
            gb = cli_json("status", env=eb)
            assert ga["verifier"]["height"] >= 1 and gb["verifier"]["height"] >= 1

            #  A pid file pointing at an unrelated process (pid reuse) must not
            #  make down kill it: the recorded binary does not match.
            with open(os.path.join(a.dir, "pids", "relay.pid")) as f:
                relay_line, relay_exe = f.readline(), f.readline()
            with open(os.path.join(a.dir, "pids", "validator-9.pid"), "w") as f:
                f.write("%d\n%s" % (bystander.pid, relay_exe))

            pids_a, pids_b = recorded_pids(a.dir), recorded_pids(b.dir)
            a.down()
            for name, pid in pids_a.items():
                if name != "validator-9":
                    assert not pid_alive(pid), "a: %s still running" % name
            assert bystander.poll() is None, "down killed an unrelated process"
            for name, pid in pids_b.items():
                assert pid_alive(pid), "b: %s was stopped by a's down" % name
            #  b keeps producing blocks after a is gone.
            h = cli_json("status", env=eb)["verifier"]["height"]
            wait_until(lambda: cli_json("status", env=eb)["verifier"]["height"] > h, 30,
                       "devnet b to keep committing")
            b.down()
            for name, pid in pids_b.items():
                assert not pid_alive(pid), "b: %s still running" % name
        finally:
            for net in (a, b):
                try:
                    net.down()
                except Exception:  # noqa: BLE001
                    pass
                net.force_kill()
            bystander.kill()
            bystander.wait()


def test_usage_errors():
    need("devnet")
    r = devnet("up", check=False)
    assert r.returncode != 0 and "--dir" in r.stderr, r.stderr
    r = devnet("frobnicate", "--dir", "/tmp/x", check=False)
    assert r.returncode != 0 and "unknown command" in r.stderr, r.stderr
    with Cluster("devnet3") as c:
        r = devnet("env", "--dir", c.path("nothing"), check=False)
        assert r.returncode != 0 and "ports" in r.stderr, r.stderr
        d = c.mkdir("occupied")
        open(os.path.join(d, "file"), "w").close()
        r = devnet("up", "--dir", d, check=False)
        assert r.returncode != 0 and "not a devnet" in r.stderr, r.stderr


if __name__ == "__main__":
    run_tests(globals())
