"""One source of truth for the topology (issue 6, item 5): from the same
topology file, docker-compose's side (deploy/certchain-entrypoint: init
makes the genesis, ca writes its policy) and certchain-devnet build the
same genesis (chain id, faucet account, consensus parameters, a producing
CA) and the same CA policy, and both equal what the file names.

The entrypoint is a plain POSIX shell script, so it runs here as it runs
in the container, with its folders pointed at a temp dir
(CERTCHAIN_GENESIS_DIR, ...) and the build's binaries on PATH; for the ca
role a stand-in certchain-ca on PATH records the flags and the policy file
it is given instead of starting a CA. The devnet side is a real
`certchain-devnet up --validators 0` (the CA alone), brought down after.
Also: a topology with an unknown key or a bad value is refused by both,
naming the key; deploy/topology.env itself is valid and names every
consensus parameter of certchain genesis and every policy key of
certchain-ca with the code's defaults."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Cluster, binary, bin_dir_env, cli, devnet, need, run, run_tests  # noqa: E402

DEPLOY = os.path.join(harness.SOURCE, "deploy")
ENTRYPOINT = os.path.join(DEPLOY, "certchain-entrypoint")
TOOL = os.path.join(DEPLOY, "certchain-topology")
DEFAULT_TOPOLOGY = os.path.join(DEPLOY, "topology.env")

#  A topology whose values differ from every default, so a side that
#  ignored the file would show.
TOPOLOGY = """\
#  test topology
CHAIN_ID=topo-test
VALIDATORS=1
FAUCET=1
FAUCET_BALANCE=777000
PARAM_TIMEOUT_COMMIT_MS=60
PARAM_JAIL_AFTER=7
PARAM_CERT_VALIDITY=5000
PARAM_MAX_BLOCK_TXS=1234
PARAM_MAX_VALIDATORS=
POLICY_PACKETS=8
POLICY_DEADLINE_MS="4321"
POLICY_MIN_MEMORY_MB=64
POLICY_BACKOFF_MS=2500
"""


def read_zpl(path):
    """A ZPL file as nested dicts (name -> value string, or dict for a
    section); comments and blank lines skipped."""
    root = {}
    stack = [(-1, root)]
    with open(path) as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            depth = (len(line) - len(line.lstrip(" "))) // 4
            body = line.strip()
            while stack[-1][0] >= depth:
                stack.pop()
            parent = stack[-1][1]
            if "=" in body:
                name, value = (part.strip() for part in body.split("=", 1))
                parent[name] = value.strip('"')
            else:
                parent[body] = {}
                stack.append((depth, parent[body]))
    return root


def genesis_shape(path):
    """What a genesis says apart from its keys and time: chain id, params,
    the account balances, and the CAs' produces flags."""
    g = read_zpl(path)
    return {
        "chain_id": g["chain"]["id"],
        "params": g["params"],
        "balances": sorted(a.get("balance") for a in g.get("account", {}).values()),
        "cas": sorted(c.get("produces", "0") for c in g["ca"].values()),
        "validators": len(g.get("validator", {})),
    }


def entrypoint_env(c, topology):
    """The environment that runs deploy/certchain-entrypoint outside a
    container, its folders under the cluster dir."""
    env = bin_dir_env()
    env["PATH"] = DEPLOY + os.pathsep + env["PATH"]
    for name in ("genesis", "ca", "faucet", "data"):
        env["CERTCHAIN_%s_DIR" % name.upper()] = c.mkdir("compose", name)
    env["CERTCHAIN_TOPOLOGY"] = topology
    env.pop("CERTCHAIN_CHAIN_ID", None)
    env.pop("CERTCHAIN_GENESIS_ARGS", None)
    return env


def compose_side(c, topology):
    """Runs the entrypoint's init and ca roles on topology; returns (the
    genesis path, the flags the CA got, the policy file's text)."""
    env = entrypoint_env(c, topology)
    run(["sh", ENTRYPOINT, "init"], env=env, timeout=30)
    #  A stand-in certchain-ca: records its arguments and exits.
    shim = c.mkdir("shim")
    record = c.path("ca-args")
    with open(os.path.join(shim, "certchain-ca"), "w") as f:
        f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s\n' % record)
    os.chmod(os.path.join(shim, "certchain-ca"), 0o755)
    env["PATH"] = shim + os.pathsep + env["PATH"]
    run(["sh", ENTRYPOINT, "ca"], env=env, timeout=30)
    with open(record) as f:
        args = f.read().splitlines()
    policy_path = args[args.index("--policy") + 1]
    with open(policy_path) as f:
        policy = f.read()
    return os.path.join(env["CERTCHAIN_GENESIS_DIR"], "genesis.zpl"), args, policy


def policy_lines(text):
    """The non-comment lines of a policy file, from its `policy` line on."""
    lines = [line.rstrip() for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    return lines[lines.index("policy"):]


def test_compose_init_and_devnet_build_the_same_network():
    need("certchain", "devnet", "relay", "ca", "validator", "verifier")
    with Cluster("topology") as c:
        topology = c.write("topology.env", TOPOLOGY)
        genesis, ca_args, compose_policy = compose_side(c, topology)
        assert "--policy" in ca_args, ca_args

        d = c.path("devnet")
        try:
            devnet("up", "--dir", d, "--topology", topology, "--validators", "0", timeout=90)
        finally:
            devnet("down", "--dir", d, timeout=60, check=False)
        with open(os.path.join(d, "ca-policy.zpl")) as f:
            devnet_policy = f.read()

        compose_shape = genesis_shape(genesis)
        devnet_shape = genesis_shape(os.path.join(d, "genesis.zpl"))
        assert compose_shape == devnet_shape, (compose_shape, devnet_shape)
        assert policy_lines(compose_policy) == policy_lines(devnet_policy), \
            (compose_policy, devnet_policy)

        #  ... and both are what the file names (the rest: the defaults).
        assert compose_shape["chain_id"] == "topo-test"
        assert compose_shape["balances"] == ["777000"]
        assert compose_shape["cas"] == ["1"] and compose_shape["validators"] == 0
        params = compose_shape["params"]
        assert (params["timeout_commit_ms"], params["jail_after"], params["cert_validity"],
                params["max_block_txs"]) == ("60", "7", "5000", "1234"), params
        assert params["max_validators"] == "64", params     # empty value: the default
        assert policy_lines(compose_policy) == [
            "policy", "    packets = 8", "    deadline_ms = 4321",
            "    min_memory_mb = 64", "    backoff_ms = 2500"], compose_policy
        #  The faucet's keys: where each side keeps them, matching the genesis.
        faucet_compose = c.path("compose", "faucet", "faucet.key.pub")
        faucet_devnet = os.path.join(d, "keys", "faucet.key.pub")
        for pub, path in ((faucet_compose, genesis),
                          (faucet_devnet, os.path.join(d, "genesis.zpl"))):
            with open(pub) as f:
                key = f.read().strip()
            accounts = read_zpl(path)["account"].values()
            assert [a["address"] for a in accounts] == [key], (pub, accounts)
        #  The CA accepts the policy: its effective policy shows the values.
        printed = run([binary("ca"), "--print-config", "--genesis", genesis,
                       "--key", c.path("compose", "ca", "ca.key"),
                       "--policy", c.write("policy.zpl", compose_policy)]).stdout
        for line in ("#      packets = 8", "#      deadline_ms = 4321",
                     "#      validity_blocks = 5000", "#      argon2_ops = 1"):
            assert line in printed, (line, printed[-3000:])


def test_init_overrides_and_no_faucet():
    """Compose's CERTCHAIN_CHAIN_ID replaces CHAIN_ID and a --param of
    CERTCHAIN_GENESIS_ARGS wins over the file's; FAUCET=0: no account, no
    faucet key; a second init is a no-op."""
    need("certchain")
    with Cluster("topology-env") as c:
        topology = c.write("topology.env", TOPOLOGY.replace("FAUCET=1", "FAUCET=0"))
        env = entrypoint_env(c, topology)
        env["CERTCHAIN_CHAIN_ID"] = "other"
        env["CERTCHAIN_GENESIS_ARGS"] = "--param jail_after=9"
        run(["sh", ENTRYPOINT, "init"], env=env)
        genesis = os.path.join(env["CERTCHAIN_GENESIS_DIR"], "genesis.zpl")
        shape = genesis_shape(genesis)
        assert shape["chain_id"] == "other", shape
        assert shape["params"]["jail_after"] == "9", shape
        assert shape["params"]["timeout_commit_ms"] == "60", shape
        assert shape["balances"] == [], shape
        assert os.listdir(env["CERTCHAIN_FAUCET_DIR"]) == []
        with open(genesis) as f:
            before = f.read()
        out = run(["sh", ENTRYPOINT, "init"], env=env).stdout
        assert "nothing to do" in out, out
        with open(genesis) as f:
            assert f.read() == before


def test_bad_topology_refused_by_both():
    """A typo in a key, a value with a space, a parameter certchain genesis
    does not know: the compose init and devnet both refuse, naming it, and
    leave no genesis."""
    need("certchain", "devnet")
    cases = [
        ("PARAM_TIMEOUT_COMMIT_MS=60\nPOLICY_PACKETS=8\nFAUCETT=1\n", "FAUCETT"),
        ("CHAIN_ID=a b\n", "CHAIN_ID"),
        ("PARAM_NO_SUCH_PARAM=5\n", "no_such_param"),
        ("FAUCET=yes\n", "FAUCET"),
    ]
    for n, (extra, word) in enumerate(cases):
        with Cluster("topology-bad-%d" % n) as c:
            topology = c.write("topology.env", TOPOLOGY + extra)
            env = entrypoint_env(c, topology)
            r = run(["sh", ENTRYPOINT, "init"], env=env, check=False)
            assert r.returncode != 0 and word in r.stderr, (extra, r.stdout, r.stderr)
            assert not os.path.exists(os.path.join(env["CERTCHAIN_GENESIS_DIR"],
                                                   "genesis.zpl")), extra
            d = c.path("devnet")
            r = devnet("up", "--dir", d, "--topology", topology, "--validators", "0",
                       check=False, timeout=60)
            devnet("down", "--dir", d, check=False, timeout=60)
            assert r.returncode != 0 and word in r.stderr, (extra, r.stdout, r.stderr)
            assert not os.path.exists(os.path.join(d, "genesis.zpl")), extra


def test_default_topology_names_every_key_with_its_default():
    """deploy/topology.env is valid, and names every consensus parameter
    (certchain genesis's defaults) and every policy key (certchain-ca's
    defaults), so an operator sees every knob; `get VALIDATORS` gives the
    count the README scales to."""
    need("certchain", "ca")
    run(["sh", TOOL, "check", DEFAULT_TOPOLOGY])
    assert run(["sh", TOOL, "get", "VALIDATORS", DEFAULT_TOPOLOGY]).stdout.strip().isdigit()
    with open(DEFAULT_TOPOLOGY) as f:
        text = f.read()
    values = dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", text, re.M))
    with Cluster("topology-defaults") as c:
        key = c.path("ca.key")
        cli("keygen", "--out", key)
        genesis = c.path("genesis.zpl")
        cli("genesis", "--out", genesis, "--chain-id", "d", "--ca", "@%s.pub:producing" % key)
        for name, value in read_zpl(genesis)["params"].items():
            assert values.get("PARAM_" + name.upper()) == value, (name, value)
        printed = run([binary("ca"), "--print-config", "--genesis", genesis,
                       "--key", key]).stdout
    block = printed[printed.index("#  Effective CA policy"):]
    block = block[:block.index("\n\n")]
    policy = re.findall(r"^#      ([a-z0-9_]+) = (\S+)$", block, re.M)
    assert policy, printed[-2000:]
    for name, value in policy:
        want = "" if name == "validity_blocks" else value   # follows cert_validity
        assert values.get("POLICY_" + name.upper()) == want, (name, value)


if __name__ == "__main__":
    run_tests(globals())
