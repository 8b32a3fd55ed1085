"""certchain-devnet: validators that join through the CA's challenge (the
default), `add`, `stop` (resigns) and `start`, a network made from a
topology file (--topology), the --genesis-validators way,
a restart from the same folder, two devnets side by side, down stopping
exactly the processes it started; and the operator documentation: the
example configs under deploy/examples load, and every command and config key
README.md names exists.

Each test runs devnets in its own temp dir and brings them down in a finally
block (and, as a last resort, kills every pid they recorded)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Cluster, binary, cli, cli_json, devnet, devnet_env, devnet_ports,  # noqa: E402
                     forge, need, pid_alive, run, run_tests, wait_until)


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

    def run(self, command, *args, timeout=90, check=True):
        try:
            return devnet(command, "--dir", self.dir, *args, timeout=timeout, check=check)
        finally:
            self.seen.update(recorded_pids(self.dir))

    def up(self, *args, timeout=90):
        return self.run("up", *args, timeout=timeout)

    def down(self):
        self.seen.update(recorded_pids(self.dir))
        return devnet("down", "--dir", self.dir, timeout=60)

    def env(self):
        return devnet_env(self.dir)

    def cli_env(self):
        env = dict(os.environ)
        env.update(self.env())
        return env

    def pub(self, name):
        with open(os.path.join(self.dir, "keys", name + ".key.pub")) as f:
            return f.read().strip()

    def validator_set(self):
        return {v["pubkey"] for v in cli_json("validators", env=self.cli_env())["validators"]}

    def height(self):
        return cli_json("status", env=self.cli_env())["verifier"]["height"]

    def blocks(self, start, to=0):
        """Blocks the verifier stored, as forge prints them (proposer, ...)."""
        out = forge("blocks", "--endpoint", self.env()["CERTCHAIN_VERIFIER"], "--from", start,
                    "--to", to, timeout=60).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def force_kill(self):
        for pid in self.seen.values():
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def close(self):
        try:
            self.down()
        except Exception as e:  # noqa: BLE001
            print("  down failed: %s" % e)
        self.force_kill()


def wait_proposed_by(net, pubs, since, timeout=30):
    """Waits until the verifier stored, above height since, a block
    proposed by each key in pubs; returns {pub: height}."""
    found = {}

    def seen():
        for b in net.blocks(since + 1):
            if b["proposer"] in pubs and b["proposer"] not in found:
                found[b["proposer"]] = b["height"]
        return len(found) == len(pubs)
    wait_until(seen, timeout, "blocks proposed by each of %d validators" % len(pubs),
               interval=0.5)
    return found


def test_up_joins_then_add_stop_start_down_restart():
    need("devnet", "certchain", "relay", "ca", "validator", "verifier", "forge")
    with Cluster("devnet") as c:
        net = Devnet(c, "net")
        try:
            t0 = time.monotonic()
            out = net.up("--validators", "3").stderr
            print("  up (3 joins) took %.1fs" % (time.monotonic() - t0))
            assert "join" in out, out
            pids = recorded_pids(net.dir)
            assert sorted(pids) == sorted(["relay", "ca", "verifier", "validator-1",
                                           "validator-2", "validator-3"]), pids
            for name, pid in pids.items():
                assert pid_alive(pid), "%s (pid %d) not running after up" % (name, pid)
            for f in ["genesis.zpl", "ports", "relay.zpl", "ca.zpl", "verifier.zpl",
                      "validator-1.zpl", "ca-policy.zpl", "keys/faucet.key", "keys/ca.key",
                      "logs/ca.log", "logs/validator-3.log"]:
                assert os.path.exists(os.path.join(net.dir, f)), "missing " + f
            assert os.stat(os.path.join(net.dir, "keys/faucet.key")).st_mode & 0o077 == 0
            #  The policy file holds the CA's defaults, says how to change
            #  it, and is what the CA loads.
            policy = open(os.path.join(net.dir, "ca-policy.zpl")).read()
            assert "deadline_ms = " in policy and "stop --dir" in policy, policy
            printed = run([binary("ca"), "-c", os.path.join(net.dir, "ca.zpl"),
                           "--print-config"]).stdout
            assert "ca-policy.zpl" in printed, printed

            ca = net.pub("ca")
            joined = {net.pub("validator-%d" % i) for i in (1, 2, 3)}
            env = net.env()
            cenv = net.cli_env()

            #  The genesis has no validator: height 1 is signed by the
            #  producing CA alone.
            first = cli_json("validators", "--height", 1, env=cenv)["validators"]
            assert [v["pubkey"] for v in first] == [ca], first
            for key in ("CERTCHAIN_RELAY", "CERTCHAIN_VERIFIER", "CERTCHAIN_CA",
                        "CERTCHAIN_RELAY_PUB"):
                assert env[key].startswith("tcp://127.0.0.1:"), env
            assert env["CERTCHAIN_CA"] == devnet_ports(net.dir)["ca_join"]

            #  Every validator is in the set, through a Certify on chain
            #  (the CA's audit log names the tx; the verifier has it).
            assert net.validator_set() == joined | {ca}, net.validator_set()
            log = cli_json("ca-log", env=cenv)["entries"]
            accepted = {e["node"]: e for e in log if e["decision"] == "accepted"}
            assert set(accepted) == joined, log
            certified_at = 0
            for node, entry in accepted.items():
                assert entry["score"]["hashes_per_second"] > 0, entry
                tx = cli_json("tx", entry["certify_tx"], env=cenv)
                assert tx["kind"] == "certify" and tx["proof_valid"], tx
                certified_at = max(certified_at, tx["height"])
            #  From the next height the verifier stores blocks they propose.
            by = wait_proposed_by(net, joined, certified_at)
            print("  first blocks by the joined validators: %s" % sorted(by.values()))

            #  A transfer from the faucet commits.
            to = "11" * 32
            sent = cli_json("send", "--key", os.path.join(net.dir, "keys/faucet.key"),
                            "--to", to, "--amount", "7", "--wait", env=cenv, timeout=60)
            assert sent["height"] >= 1 and len(sent["hash"]) == 64, sent
            assert cli_json("account", to, env=cenv)["balance"] == 7

            out = net.run("status").stdout
            for name in pids:
                assert name in out, "status does not list %s:\n%s" % (name, out)
            assert "stopped" not in out, out
            assert env["CERTCHAIN_CA"] in out, out

            #  add: one more joins and proposes.
            t0 = time.monotonic()
            net.run("add", "1")
            print("  add (1 join) took %.1fs" % (time.monotonic() - t0))
            fourth = net.pub("validator-4")
            assert fourth in net.validator_set()
            wait_proposed_by(net, {fourth}, net.height() - 1)

            #  stop: one SIGTERM; the validator resigns and leaves the set,
            #  the chain goes on; start: it joins again.
            r = net.run("stop", "2")
            assert "out of the validator set" in r.stderr, r.stderr
            assert not pid_alive(pids["validator-2"])
            assert net.pub("validator-2") not in net.validator_set()
            h = net.height()
            wait_until(lambda: net.height() >= h + 2, 20, "blocks after validator-2 resigned")
            net.run("start", "validator-2")
            assert net.pub("validator-2") in net.validator_set()

            #  down: every process stops, nobody resigns (the set stays whole).
            pids = recorded_pids(net.dir)
            assert len(pids) == 7, pids
            members = net.validator_set()
            t0 = time.monotonic()
            net.down()
            print("  down took %.1fs" % (time.monotonic() - t0))
            for name, pid in pids.items():
                assert not pid_alive(pid), "%s (pid %d) still running after down" % (name, pid)
            assert recorded_pids(net.dir) == {}, "pid files left: %s" % recorded_pids(net.dir)
            out = net.run("status", check=False).stdout
            assert "running" not in out, out

            #  Up again on the same folder: same chain, same ports, same set,
            #  no join needed.
            ports = devnet_ports(net.dir)
            net.up()
            assert devnet_ports(net.dir) == ports
            assert net.height() >= sent["height"]
            assert cli_json("account", to, env=cenv)["balance"] == 7
            assert net.validator_set() == members
            h = net.height()
            wait_until(lambda: net.height() >= h + 3, 30,
                       "the restarted devnet to commit 3 more blocks")
            net.down()
        finally:
            net.close()


def test_topology_file():
    """up --topology FILE (and no --validators): the chain id, the
    consensus parameters, the faucet (off here) and the CA policy the file
    names, and its validator count; a --param given to up wins over the
    file's. tests/integration/test_topology.py checks that compose's init
    builds the same from the same file."""
    need("devnet", "certchain", "relay", "ca", "validator", "verifier")
    with Cluster("devnet-topology") as c:
        topology = c.write("net.env", "\n".join([
            "#  a test topology", "CHAIN_ID=topo-devnet", "VALIDATORS=1", "FAUCET=0",
            "FAUCET_BALANCE=", "PARAM_TIMEOUT_COMMIT_MS=80", "PARAM_JAIL_AFTER=9",
            "PARAM_MAX_BLOCK_TXS=999", "POLICY_PACKETS=8", "POLICY_DEADLINE_MS=4321",
            "POLICY_MIN_MEMORY_MB=64", ""]))
        net = Devnet(c, "net")
        try:
            out = net.up("--topology", topology, "--param", "jail_after=11").stderr
            assert "topology: %s" % topology in out, out
            status = cli_json("status", env=net.cli_env())
            assert status["verifier"]["chain_id"] == "topo-devnet", status
            assert len(net.validator_set()) == 2, net.validator_set()   # the CA and 1
            with open(os.path.join(net.dir, "genesis.zpl")) as f:
                genesis = f.read()
            for line in ('id = "topo-devnet"', "timeout_commit_ms = 80", "jail_after = 11",
                         "max_block_txs = 999", "timeout_propose_ms = 1000"):
                assert line in genesis, (line, genesis)
            assert "account" not in genesis.split("\nca\n")[-1], genesis
            assert not os.path.exists(os.path.join(net.dir, "keys", "faucet.key"))
            printed = run([binary("ca"), "-c", os.path.join(net.dir, "ca.zpl"),
                           "--print-config"]).stdout
            for line in ("#  Effective CA policy (%s/ca-policy.zpl)" % net.dir,
                         "#      packets = 8", "#      deadline_ms = 4321",
                         "#      min_memory_mb = 64", "#      sample_size = 4"):
                assert line in printed, (line, printed[-3000:])
            with open(os.path.join(net.dir, "topology.env")) as f, open(topology) as g:
                assert f.read() == g.read()
        finally:
            net.close()


def test_genesis_validators():
    need("devnet", "certchain", "relay", "ca", "validator", "verifier", "forge")
    with Cluster("devnet-genesis") as c:
        net = Devnet(c, "net")
        try:
            net.up("--validators", "2", "--genesis-validators")
            pids = recorded_pids(net.dir)
            assert sorted(pids) == ["ca", "relay", "validator-1", "validator-2", "verifier"]
            genesis_set = {net.pub("validator-1"), net.pub("validator-2")}
            #  In the set from height 1 (no Certify), the CA not producing.
            first = cli_json("validators", "--height", 1, env=net.cli_env())["validators"]
            assert {v["pubkey"] for v in first} == genesis_set, first
            assert "produces = 0" in open(os.path.join(net.dir, "genesis.zpl")).read()
            wait_proposed_by(net, genesis_set, 0)
            assert cli_json("ca-log", env=net.cli_env())["entries"] == []
            #  add joins through the (non-producing) CA.
            net.run("add", "1")
            assert net.pub("validator-3") in net.validator_set()
            net.down()
            for name, pid in pids.items():
                assert not pid_alive(pid), "%s still running" % name
        finally:
            net.close()


def test_two_side_by_side_and_down_is_exact():
    need("devnet", "certchain", "relay", "ca", "validator", "verifier")
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
            for key in ("CERTCHAIN_RELAY", "CERTCHAIN_VERIFIER", "CERTCHAIN_CA"):
                assert ea[key] != eb[key], key
            assert a.height() >= 1 and b.height() >= 1

            #  A pid file pointing at an unrelated process (pid reuse) must not
            #  make down kill it: the recorded binary does not match.
            with open(os.path.join(a.dir, "pids", "relay.pid")) as f:
                f.readline()
                relay_exe = f.readline()
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
            h = b.height()
            wait_until(lambda: b.height() > h, 30, "devnet b to keep committing")
            b.down()
            for name, pid in pids_b.items():
                assert not pid_alive(pid), "b: %s still running" % name
        finally:
            for net in (a, b):
                net.close()
            bystander.kill()
            bystander.wait()


def test_usage_errors():
    need("devnet")
    r = devnet("up", check=False)
    assert r.returncode != 0 and "--dir" in r.stderr, r.stderr
    r = devnet("frobnicate", "--dir", "/tmp/x", check=False)
    assert r.returncode != 0 and "unknown command" in r.stderr, r.stderr
    r = devnet("up", "--dir", "/tmp/x", "--validators", "0", "--genesis-validators",
               check=False)
    assert r.returncode != 0 and "at least 1" in r.stderr, r.stderr
    with Cluster("devnet3") as c:
        r = devnet("env", "--dir", c.path("nothing"), check=False)
        assert r.returncode != 0 and "ports" in r.stderr, r.stderr
        r = devnet("add", "--dir", c.path("nothing"), check=False)
        assert r.returncode != 0 and "one argument" in r.stderr, r.stderr
        r = devnet("add", "--dir", c.path("nothing"), "2", check=False)
        assert r.returncode != 0 and "run up first" in r.stderr, r.stderr
        d = c.mkdir("occupied")
        open(os.path.join(d, "file"), "w").close()
        r = devnet("up", "--dir", d, check=False)
        assert r.returncode != 0 and "not a devnet" in r.stderr, r.stderr

#  --- The operator documentation ------------------------------------------------------

EXAMPLES = os.path.join(harness.SOURCE, "deploy", "examples")
SERVICES = {"relay": "relay", "ca": "ca", "validator": "validator", "verifier": "verifier"}


def _genesis(c):
    """A genesis with a producing CA (for the CA's --print-config, which
    reads the genesis to check its key and size the policy)."""
    keys = c.mkdir("keys")
    os.chmod(keys, 0o700)
    key = os.path.join(keys, "ca.key")
    cli("keygen", "--out", key)
    path = c.path("genesis.zpl")
    cli("genesis", "--out", path, "--chain-id", "docs", "--ca", "@%s.pub:producing" % key)
    return path, key


def test_example_configs_load():
    """Each deploy/examples/<service>.zpl loads with --print-config, and the
    printed configuration has the example's values (so no key is misspelt:
    an unknown key is an error). The genesis and key paths are given as
    flags (a flag overrides the file), since the examples' relative paths
    name files an operator makes first."""
    need("certchain", "relay", "ca", "validator", "verifier")
    with Cluster("examples") as c:
        genesis, ca_key = _genesis(c)
        files = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".zpl"))
        seen = set()
        for f in files:
            service = os.path.splitext(f)[0]
            if service not in SERVICES:
                continue
            seen.add(service)
            path = os.path.join(EXAMPLES, f)
            argv = [binary(SERVICES[service]), "-c", path, "--genesis", genesis]
            if service == "ca":
                argv += ["--key", ca_key, "--policy", os.path.join(EXAMPLES, "ca-policy.zpl")]
            r = run(argv + ["--print-config"], check=False, timeout=20)
            assert r.returncode == 0, "%s: exit %d: %s" % (f, r.returncode, r.stderr)
            for line in open(path):
                m = re.match(r'\s+(\w+)\s*=\s*"([^"]*)"', line)
                overridden = m and ((m.group(1) == "path" and m.group(2).endswith("genesis.zpl"))
                                    or (service == "ca" and m.group(1) in ("key", "policy")))
                if m and not overridden:
                    assert '%s = "%s"' % m.groups() in r.stdout, "%s: %s not in:\n%s" % (
                        f, line.strip(), r.stdout)
            if service == "ca":
                #  The example policy loads, and the CA prints it back.
                assert "Effective CA policy (%s)" % os.path.join(EXAMPLES, "ca-policy.zpl") \
                    in r.stdout, r.stdout
        assert seen == set(SERVICES), "examples missing for %s" % (set(SERVICES) - seen)


def _readme():
    with open(os.path.join(harness.SOURCE, "README.md")) as f:
        return f.read()


def test_readme_names_only_what_exists():
    """README.md opens with the demo and the test command; every `certchain
    COMMAND`, every certchain-devnet command, every --flag of a service
    and every section/key config path it names exists in the code."""
    need("certchain", "devnet", "relay", "ca", "validator", "verifier", "tap")
    text = _readme()
    first = re.search(r"```sh\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert [line.split()[0] for line in first] == ["scripts/demo.sh", "scripts/test.sh"], first
    assert all("#" in line for line in first), first
    for path in ("scripts/demo.sh", "scripts/test.sh"):
        assert os.access(os.path.join(harness.SOURCE, path), os.X_OK), path

    helps = {}
    for name in ("relay", "ca", "validator", "verifier", "tap"):
        helps[name] = run([binary(name), "--help"], check=False).stdout
    cli_help = cli("--help", check=False).stdout
    devnet_help = devnet("--help").stdout

    #  `certchain COMMAND --flag ...` and `certchain-devnet COMMAND --flag`,
    #  up to the end of the line, a backquote or a table bar.
    command_helps = {}
    for command, rest in re.findall(r"\bcertchain ([a-z][a-z-]+)((?: [^\n`|]*)?)", text):
        assert re.search(r"^  %s " % re.escape(command), cli_help, re.M), \
            "README names `certchain %s`, which the CLI lacks" % command
        if command not in command_helps:
            command_helps[command] = cli(command, "--help", check=False).stdout
        for flag in re.findall(r"(--[a-z][a-z0-9-]*)", rest):
            assert flag in command_helps[command], \
                "README gives `certchain %s %s`, which it lacks" % (command, flag)
    for command, rest in re.findall(r"certchain-devnet ([a-z]+)((?: [^\n`|]*)?)", text):
        assert re.search(r"^  %s\b" % command, devnet_help, re.M), \
            "README names `certchain-devnet %s`, which does not exist" % command
        for flag in re.findall(r"(--[a-z][a-z0-9-]*)", rest):
            assert flag in devnet_help, \
                "README gives `certchain-devnet %s %s`, unknown" % (command, flag)
    #  Flags given to a service binary on a README line.
    for binary_name, flags in re.findall(r"certchain-(relay|ca|validator|verifier|tap)"
                                         r"((?: [^\n`|]*)?)", text):
        for flag in re.findall(r"(--[a-z][a-z0-9-]*)", flags):
            assert flag in helps[binary_name], \
                "README gives certchain-%s %s, which it lacks" % (binary_name, flag)
    #  Config keys written section/key in backquotes.
    all_help = "\n".join(helps.values())
    for key in set(re.findall(r"`((?:relay|ca|validator|verifier|log|store|genesis|"
                              r"mempool)/[a-z_]+)`", text)):
        assert "key %s)" % key in all_help, "README names config key %s, unknown" % key
    #  Policy keys named in the README's policy table.
    with Cluster("readme") as c:
        genesis, ca_key = _genesis(c)
        policy = run([binary("ca"), "--print-config", "--genesis", genesis, "--key", ca_key],
                     check=False).stdout
    for key in set(re.findall(r"^\| `([a-z0-9_]+)` \|", text, re.M)):
        if key.startswith(("min_", "require_", "packets", "difficulty", "argon2", "sample",
                           "deadline", "validity", "rate_", "backoff", "max_clock")):
            assert "#      %s = " % key in policy, "README names policy key %s, unknown" % key


if __name__ == "__main__":
    run_tests(globals())
