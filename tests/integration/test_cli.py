"""Integration tests of the `certchain` command-line tool (tools/cli).

Local commands (keygen, genesis) run against a temp dir; the network
commands (send, account, tx, block, status, validators) against one real
network of a relay, one validator and a verifier started once for this file
(harness.Network) and stopped at exit. Every command is checked in text and
--json form (the keys the scripts rely on), and every refusal for its exit
code (2 for usage, 1 otherwise), an empty stdout and exactly one line on
stderr that names the command and the error.

The CLI's JSON writer has its own Check binary (tools/cli/test-cli-json,
since the unit suite is not the CLI's to edit); test_json_writer runs it.
"""

import json
import os
import re
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HEX64 = re.compile(r"^[0-9a-f]{64}$")

#  --- Helpers -------------------------------------------------------------------


def refused(args, code=None, contains=(), env=None, timeout=30):
    """Runs certchain ARGS expecting a refusal: non-zero exit (or exactly
    code), nothing on stdout but a --json document where one is promised,
    and one stderr line "certchain: ..." holding every string of contains.
    Returns the CompletedProcess."""
    r = h.cli(*args, check=False, env=env, timeout=timeout)
    assert r.returncode != 0, "expected a refusal of %r, got exit 0: %r" % (args, r.stdout)
    if code is not None:
        assert r.returncode == code, "exit %d, expected %d for %r (stderr %r)" % (
            r.returncode, code, args, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) >= 1 and all(line.startswith("certchain: ") for line in lines), \
        "stderr of %r: %r" % (args, r.stderr)
    for text in contains:
        assert text in r.stderr, "%r not in stderr of %r: %r" % (text, args, r.stderr)
    return r


def one_line_refusal(args, code=None, contains=(), env=None):
    r = refused(args, code, contains, env)
    assert len(r.stderr.splitlines()) == 1, "more than one stderr line: %r" % r.stderr
    assert r.stdout == "", "stdout not empty on error: %r" % r.stdout
    return r


_NET = {}


def net():
    """The shared 1-validator network, started on first use."""
    if "net" not in _NET:
        h.need("relay", "validator", "verifier", "forge", "certchain")
        cluster = h.Cluster("cli")
        _NET["cluster"] = cluster
        try:
            _NET["net"] = h.Network(cluster, validators=1, accounts=2).start(wait=1, timeout=60)
        except BaseException:
            cluster.dump_logs()
            raise
    return _NET["net"]


def tmpdir():
    if "tmp" not in _NET:
        _NET["tmp_cluster"] = h.Cluster("cli-local")
        _NET["tmp"] = _NET["tmp_cluster"].dir
    return _NET["tmp"]


#  --- JSON writer -----------------------------------------------------------------


def test_json_writer():
    path = os.path.join(h.BUILD, "tools/cli/test-cli-json")
    if not os.access(path, os.X_OK):
        raise h.Skip("test-cli-json not built (tests disabled)")
    r = h.run([path], check=False, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Failures: 0, Errors: 0" in r.stdout, r.stdout


#  --- keygen ----------------------------------------------------------------------


def test_keygen_text_and_modes():
    h.need("certchain")
    key = os.path.join(tmpdir(), "k1.key")
    r = h.cli("keygen", "--out", key)
    pub = r.stdout.strip()
    assert HEX64.match(pub), r.stdout
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(key + ".pub").st_mode) == 0o644
    with open(key + ".pub") as f:
        assert f.read().strip() == pub
    with open(key) as f:
        assert HEX64.match(f.read().strip())


def test_keygen_json():
    h.need("certchain")
    key = os.path.join(tmpdir(), "k2.key")
    out = h.cli_json("keygen", "--out", key)
    assert HEX64.match(out["pubkey"]), out
    assert out["path"] == key
    with open(key + ".pub") as f:
        assert f.read().strip() == out["pubkey"]


def test_keygen_refuses_overwrite():
    h.need("certchain")
    key = os.path.join(tmpdir(), "k3.key")
    pub = h.cli("keygen", "--out", key).stdout.strip()
    with open(key) as f:
        secret = f.read()
    one_line_refusal(["keygen", "--out", key], 1, ["certchain: keygen:", "(EXISTS)"])
    with open(key) as f:
        assert f.read() == secret
    with open(key + ".pub") as f:
        assert f.read().strip() == pub
    #  Only the public file there: refused too, and no secret left behind.
    lone = os.path.join(tmpdir(), "k4.key")
    with open(lone + ".pub", "w") as f:
        f.write("x\n")
    one_line_refusal(["keygen", "--out", lone], 1, ["(EXISTS)"])
    assert not os.path.exists(lone)


def test_keygen_usage():
    h.need("certchain")
    one_line_refusal(["keygen"], 2, ["certchain: keygen:", "--out"])
    one_line_refusal(["keygen", "--out"], 2, ["needs a value"])
    one_line_refusal(["keygen", "--out", os.path.join(tmpdir(), "x.key"), "extra"], 2,
                     ["unexpected argument"])
    assert not os.path.exists(os.path.join(tmpdir(), "x.key"))


#  --- genesis ---------------------------------------------------------------------


def _keys(*names):
    pubs = []
    for name in names:
        path = os.path.join(tmpdir(), name + ".key")
        if not os.path.exists(path):
            h.cli("keygen", "--out", path)
        with open(path + ".pub") as f:
            pubs.append((path + ".pub", f.read().strip()))
    return pubs


def test_genesis_writes_and_reports():
    h.need("certchain")
    (ca_file, ca), (v1_file, v1), (_, v2), (acc_file, acc) = _keys("gca", "gv1", "gv2", "gacc")
    out_path = os.path.join(tmpdir(), "genesis-a.zpl")
    out = h.cli_json("genesis", "--out", out_path, "--chain-id", "cli-test",
                     "--time-ms", "1700000000000",
                     "--ca", "@%s:producing" % ca_file, "--validator", "@" + v1_file,
                     "--validator", v2, "--account", "%s=500" % acc,
                     "--account", "@%s=7" % v1_file,
                     "--param", "timeout_propose_ms=777", "--param", "max_validators=9")
    assert set(out) >= {"path", "hash", "chain_id"}, out
    assert out["path"] == out_path and out["chain_id"] == "cli-test"
    assert HEX64.match(out["hash"])
    with open(out_path) as f:
        text = f.read()
    #  The file names its own hash; it must be the one reported.
    assert "hash %s" % out["hash"] in text, text
    assert 'id = "cli-test"' in text and "time_ms = 1700000000000" in text
    assert "timeout_propose_ms = 777" in text and "max_validators = 9" in text
    for key in (ca, v1, v2, acc):
        assert key in text
    assert "produces = 1" in text
    assert "balance = 500" in text and "balance = 7" in text
    #  Text form.
    out_b = os.path.join(tmpdir(), "genesis-b.zpl")
    r = h.cli("genesis", "--out", out_b, "--chain-id", "cli-b", "--ca", ca + ":producing")
    assert "path: %s" % out_b in r.stdout and "chain_id: cli-b" in r.stdout
    assert re.search(r"^hash: [0-9a-f]{64}$", r.stdout, re.M), r.stdout


def test_genesis_refusals():
    h.need("certchain")
    (_, ca), (_, v1) = _keys("rca", "rv1")
    ca += ":producing"
    path = os.path.join(tmpdir(), "genesis-r.zpl")
    base = ["genesis", "--out", path, "--chain-id", "cli-r"]
    #  A bad key: a usage error that names the option and what is expected.
    one_line_refusal(base + ["--ca", ca, "--validator", "nothex"], 2,
                     ["--validator", "'nothex' is not a public key", "64 hex characters"])
    one_line_refusal(base + ["--ca", ca, "--validator", v1[:-2]], 2, ["not a public key"])
    #  A key file that is not there: an IO failure naming the file.
    one_line_refusal(base + ["--ca", "@" + os.path.join(tmpdir(), "missing.pub") + ":producing"], 1,
                     ["missing.pub", "(IO)"])
    #  A key file that is not a key.
    junk = os.path.join(tmpdir(), "junk.pub")
    with open(junk, "w") as f:
        f.write("hello\n")
    one_line_refusal(base + ["--ca", "@" + junk], 1, ["certchain: genesis: --ca:"])
    #  No block producer at all: common/genesis says so.
    one_line_refusal(base + ["--ca", ca[:64]], 1, ["no block producer", "(CONFIG)"])
    one_line_refusal(base + ["--ca", ca, "--validator", v1, "--validator", v1], 1,
                     ["(EXISTS)"])
    one_line_refusal(base + ["--ca", ca, "--account", v1], 2, ["KEY=BALANCE"])
    one_line_refusal(base + ["--ca", ca, "--account", "%s=-5" % v1], 2, ["KEY=BALANCE"])
    one_line_refusal(base + ["--ca", ca, "--param", "nosuch=1"], 2,
                     ["unknown parameter 'nosuch'", "timeout_propose_ms"])
    one_line_refusal(base + ["--ca", ca, "--param", "max_validators=4294967296"], 2,
                     ["max_validators"])
    one_line_refusal(base, 2, ["--ca"])
    one_line_refusal(["genesis", "--out", path, "--ca", ca], 2, ["--chain-id"])
    #  What common/genesis refuses comes through with its field named.
    one_line_refusal(base + ["--ca", ca, "--param", "timeout_propose_ms=0"], 1, ["(CONFIG)"])
    assert not os.path.exists(path), "a refused genesis left a file"
    h.cli("genesis", *(base[1:] + ["--ca", ca]))
    one_line_refusal(base + ["--ca", ca], 1, ["(EXISTS)"])


#  --- Usage and unreachable services ---------------------------------------------


def test_usage_errors():
    h.need("certchain")
    r = h.cli(check=False)
    assert r.returncode == 2 and "usage: certchain" in r.stderr
    r = h.cli("--help")
    assert r.returncode == 0 and "send" in r.stdout and "CERTCHAIN_VERIFIER" in r.stdout
    r = h.cli("send", "--help")
    assert "--amount" in r.stdout and "--wait" in r.stdout and "CERTCHAIN_RELAY" in r.stdout
    one_line_refusal(["frobnicate"], 2, ["unknown command 'frobnicate'"])
    one_line_refusal(["account"], 2, ["certchain: account: missing argument"])
    one_line_refusal(["account", "abc"], 2, ["not a public key"])
    one_line_refusal(["account", "00" * 32, "--bogus"], 2, ["unknown option '--bogus'"])
    one_line_refusal(["account", "00" * 32, "--json=1"], 2, ["takes no value"])
    one_line_refusal(["account", "00" * 32, "--timeout", "soon"], 2, ["--timeout"])
    one_line_refusal(["account", "00" * 32, "--relay", "tcp://x:1"], 2,
                     ["unknown option '--relay'"])
    one_line_refusal(["tx", "1234"], 2, ["not a hash"])
    one_line_refusal(["block", "tip"], 2, ["'latest'"])
    one_line_refusal(["block", "0"], 2, ["'latest'"])
    one_line_refusal(["validators", "--height", "x"], 2, ["--height"])
    key = os.path.join(tmpdir(), "k1.key")
    if not os.path.exists(key):
        h.cli("keygen", "--out", key)
    one_line_refusal(["send", "--key", key, "--amount", "5"], 2, ["--to"])
    one_line_refusal(["send", "--key", key, "--to", "00" * 32], 2, ["--amount"])
    one_line_refusal(["send", "--key", key, "--to", "00" * 32, "--amount", "5x"], 2,
                     ["--amount"])
    one_line_refusal(["send", "--key", key, "--to", "00" * 32, "--amount", "1",
                      "--amount", "2"], 2, ["given twice"])


def test_send_refuses_loose_key_file():
    h.need("certchain")
    key = os.path.join(tmpdir(), "loose.key")
    if not os.path.exists(key):
        h.cli("keygen", "--out", key)
    os.chmod(key, 0o644)
    one_line_refusal(["send", "--key", key, "--to", "00" * 32, "--amount", "1",
                      "--relay", h.free_endpoint(), "--verifier", h.free_endpoint()],
                     1, ["(PERMISSIONS)"])


def test_unreachable_services():
    h.need("certchain")
    dead = h.free_endpoint()
    start = time.monotonic()
    r = one_line_refusal(["account", "00" * 32, "--verifier", dead, "--timeout", "0.5"], 1,
                         ["certchain: account:", dead, "(TIMEOUT)"])
    assert time.monotonic() - start < 5, "the timeout was not applied"
    #  The environment gives the endpoint when no flag does; a flag wins.
    env = dict(os.environ, CERTCHAIN_VERIFIER=dead)
    one_line_refusal(["validators", "--timeout", "0.5"], 1, [dead, "(TIMEOUT)"], env=env)
    other = h.free_endpoint()
    one_line_refusal(["block", "latest", "--timeout", "0.5", "--verifier", other], 1,
                     [other, "(TIMEOUT)"], env=env)
    #  JSON asked for: still nothing on stdout for a failed query.
    r = refused(["tx", "ab" * 32, "--json", "--timeout", "0.5"], 1, ["(TIMEOUT)"], env=env)
    assert r.stdout == ""
    #  A malformed endpoint is refused at once.
    one_line_refusal(["account", "00" * 32, "--verifier", "nonsense"], 1, ["nonsense"])
    #  status: each service that does not answer shows an error, exit 1
    #  (the CA is asked only when named; a CERTCHAIN_CA left in the
    #  caller's environment must not add a fourth).
    no_ca = dict(os.environ)
    no_ca.pop("CERTCHAIN_CA", None)
    r = h.cli("status", "--relay", dead, "--verifier", other, "--validator", h.free_endpoint(),
              "--timeout", "0.5", "--json", check=False, env=no_ca)
    assert r.returncode == 1, r
    out = json.loads(r.stdout)
    assert "error" in out["relay"] and "error" in out["verifier"], out
    assert len(out["validators"]) == 1 and "error" in out["validators"][0]
    assert out["relay"]["endpoint"] == dead
    assert len(r.stderr.splitlines()) == 3 and "(TIMEOUT)" in r.stderr
    #  send: the relay is asked first (chain id), and its silence is named.
    key = os.path.join(tmpdir(), "k1.key")
    if not os.path.exists(key):
        h.cli("keygen", "--out", key)
    one_line_refusal(["send", "--key", key, "--to", "00" * 32, "--amount", "1",
                      "--relay", dead, "--verifier", other, "--timeout", "0.5"], 1,
                     ["relay", "(TIMEOUT)"])


#  --- CA commands without a network (tests/integration/test_cli_ca.py has them
#  against a real CA) ---------------------------------------------------------------


def test_ca_commands_usage():
    h.need("certchain")
    r = h.cli("--help")
    for name in ("join", "revoke", "ca-log", "CERTCHAIN_CA"):
        assert name in r.stdout, r.stdout
    r = h.cli("join", "--help")
    assert "--threads" in r.stdout and "--data-dir" in r.stdout and "--ca" in r.stdout
    assert "whole command (default 60)" in r.stdout and "each reply" not in r.stdout
    key = os.path.join(tmpdir(), "k1.key")
    if not os.path.exists(key):
        h.cli("keygen", "--out", key)
    node = "ab" * 32
    one_line_refusal(["join"], 2, ["certchain: join: --key FILE is required"])
    for bad in ("0", "257", "x", "-1"):
        one_line_refusal(["join", "--key", key, "--threads", bad], 2, ["--threads", "1 to 256"])
    one_line_refusal(["join", "--key", key, "--data-dir", ""], 2, ["--data-dir"])
    one_line_refusal(["join", "--key", key, "extra"], 2, ["unexpected argument"])
    one_line_refusal(["join", "--key", key, "--wait=1"], 2, ["takes no value"])
    one_line_refusal(["revoke", "--node", node, "--reason", "r"], 2, ["--key FILE"])
    one_line_refusal(["revoke", "--key", key, "--reason", "r"], 2, ["--node KEY"])
    one_line_refusal(["revoke", "--key", key, "--node", node], 2, ["--reason TEXT"])
    one_line_refusal(["revoke", "--key", key, "--node", node, "--reason", ""], 2,
                     ["--reason: 1 to 256 bytes"])
    one_line_refusal(["revoke", "--key", key, "--node", node, "--reason", "x" * 257], 2,
                     ["--reason: 1 to 256 bytes, got 257"])
    one_line_refusal(["revoke", "--key", key, "--node", node, "--reason", "a\x1b[2Jb"], 2,
                     ["printable"])
    one_line_refusal(["revoke", "--key", key, "--node", "nothex", "--reason", "r"], 2,
                     ["--node", "not a public key"])
    one_line_refusal(["revoke", "--key", key, "--node", node, "--reason", "r", "--fee", "x"],
                     2, ["--fee"])
    one_line_refusal(["revoke", "--key", key, "--node",
                      "@" + os.path.join(tmpdir(), "missing.pub"), "--reason", "r"], 1,
                     ["--node", "(IO)"])
    one_line_refusal(["ca-log", "--from", "x"], 2, ["--from"])
    one_line_refusal(["ca-log", "--count", "0"], 2, ["--count"])
    one_line_refusal(["ca-log", "--node", "abc"], 2, ["--node", "not a public key"])
    one_line_refusal(["ca-log", "--relay", "tcp://x:1"], 2, ["unknown option '--relay'"])
    one_line_refusal(["ca-log", "first"], 2, ["unexpected argument"])


def test_ca_commands_unreachable():
    h.need("certchain")
    dead = h.free_endpoint()
    key = os.path.join(tmpdir(), "k1.key")
    if not os.path.exists(key):
        h.cli("keygen", "--out", key)
    start = time.monotonic()
    r = one_line_refusal(["join", "--key", key, "--ca", dead, "--timeout", "0.5", "--json"], 1,
                         ["certchain: join:", "CA", dead, "(TIMEOUT)"])
    assert time.monotonic() - start < 5, "the timeout was not applied"
    env = dict(os.environ, CERTCHAIN_CA=dead)
    one_line_refusal(["ca-log", "--timeout", "0.5", "--json"], 1,
                     ["certchain: ca-log:", dead, "(TIMEOUT)"], env=env)
    one_line_refusal(["ca-log", "--ca", "nonsense"], 1, ["nonsense"], env=env)
    one_line_refusal(["revoke", "--key", key, "--node", "ab" * 32, "--reason", "r",
                      "--relay", dead, "--verifier", h.free_endpoint(), "--timeout", "0.5"], 1,
                     ["relay", "(TIMEOUT)"])
    #  A candidate key that is not private enough is refused before anything.
    loose = os.path.join(tmpdir(), "loose-join.key")
    if not os.path.exists(loose):
        h.cli("keygen", "--out", loose)
    os.chmod(loose, 0o644)
    one_line_refusal(["join", "--key", loose, "--ca", dead], 1, ["(PERMISSIONS)"])


#  --- Against a running network ----------------------------------------------------


def test_status():
    n = net()
    env = n.env()
    out = h.cli_json("status", "--validator", n.admin[0], env=env)
    assert out["relay"]["height"] >= 1 and out["verifier"]["height"] >= 1, out
    assert out["relay"]["service"] == "relay" and out["verifier"]["service"] == "verifier"
    assert out["relay"]["chain_id"] == n.chain_id
    (validator,) = out["validators"]
    assert set(validator) >= {"endpoint", "node", "height", "round", "mempool", "in_set"}
    assert validator["endpoint"] == n.admin[0]
    assert validator["node"] == n.validator_pubs[0]
    assert validator["in_set"] is True and validator["height"] >= 1
    r = h.cli("status", "--validator", n.admin[0], env=env)
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["SERVICE", "ENDPOINT", "HEIGHT"], r.stdout
    assert [line.split()[0] for line in lines[1:]] == ["relay", "verifier", "validator"]
    assert "in set" in lines[3]
    #  One validator down among answering services: its error, exit 1.
    dead = h.free_endpoint()
    r = h.cli("status", "--validator", n.admin[0], "--validator", dead, "--timeout", "1",
              "--json", env=env, check=False)
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert "height" in out["relay"] and "height" in out["validators"][0]
    assert out["validators"][1]["endpoint"] == dead and "error" in out["validators"][1]
    assert r.stderr.count("\n") == 1 and "(TIMEOUT)" in r.stderr


def test_account():
    n = net()
    out = h.cli_json("account", n.account_pubs[1], env=n.env())
    assert set(out) >= {"address", "balance", "nonce", "height"}, out
    assert out["address"] == n.account_pubs[1]
    assert out["balance"] == n.BALANCE and out["nonce"] == 0 and out["height"] >= 1
    #  By public key file, in text.
    r = h.cli("account", "@" + n.account_keys[1] + ".pub", env=n.env())
    assert "balance: %d" % n.BALANCE in r.stdout and "nonce: 0" in r.stdout, r.stdout
    #  An address nobody paid is empty, not an error.
    out = h.cli_json("account", "ab" * 32, env=n.env())
    assert out["balance"] == 0 and out["nonce"] == 0


def test_send_wait_then_tx_and_block():
    n = net()
    env = n.env()
    to = n.account_pubs[0]
    before = h.cli_json("account", to, env=env)["balance"]
    sent = h.cli_json("send", "--key", n.faucet_key, "--to", to, "--amount", "1234",
                      "--fee", "0", "--wait", "--timeout", "60", env=env, timeout=90)
    assert set(sent) >= {"hash", "height"}, sent
    assert HEX64.match(sent["hash"]) and sent["height"] >= 1
    after = h.cli_json("account", to, env=env)
    assert after["balance"] == before + 1234, (before, after)
    faucet = h.cli_json("account", n.faucet_pub, env=env)
    assert faucet["nonce"] >= 1

    tx = h.cli_json("tx", sent["hash"], env=env)
    assert set(tx) >= {"hash", "height", "index", "block_hash", "proof_valid"}, tx
    assert tx["hash"] == sent["hash"] and tx["height"] == sent["height"]
    assert tx["proof_valid"] is True
    assert tx["kind"] == "transfer" and tx["signer"] == n.faucet_pub
    assert tx["to"] == to and tx["amount"] == 1234
    r = h.cli("tx", sent["hash"], env=env)
    assert "proof_valid: true" in r.stdout and "height: %d" % sent["height"] in r.stdout

    block = h.cli_json("block", sent["height"], env=env)
    assert set(block) >= {"height", "hash", "round", "time_ms", "proposer", "parent_hash",
                          "app_hash", "txs", "commit_signers"}, block
    assert block["height"] == sent["height"] and block["hash"] == tx["block_hash"]
    assert block["proposer"] == n.validator_pubs[0]
    assert {"hash": sent["hash"], "kind": "transfer", "signer": n.faucet_pub} in block["txs"]
    assert block["commit_signers"] == [n.validator_pubs[0]]
    parent = h.cli_json("block", sent["height"] - 1, env=env) if sent["height"] > 1 else None
    if parent:
        assert block["parent_hash"] == parent["hash"]
    latest = h.cli_json("block", "latest", env=env)
    assert latest["height"] >= sent["height"]
    r = h.cli("block", sent["height"], env=env)
    assert "proposer: %s" % n.validator_pubs[0] in r.stdout and sent["hash"] in r.stdout

    #  Without --wait: the hash at once; the nonce follows the committed one.
    second = h.cli_json("send", "--key", n.faucet_key, "--to", to, "--amount", "1", env=env)
    assert set(second) >= {"hash"} and "height" not in second
    h.wait_until(lambda: h.cli("tx", second["hash"], env=env, check=False).returncode == 0,
                 30, "second transfer committed")
    r = h.cli("send", "--key", n.faucet_key, "--to", to, "--amount", "1", "--wait", env=env,
              timeout=60)
    assert re.search(r"^hash: [0-9a-f]{64}$", r.stdout, re.M), r.stdout
    assert re.search(r"^height: \d+$", r.stdout, re.M), r.stdout


def test_send_refusals():
    n = net()
    env = n.env()
    one_line_refusal(["send", "--key", n.account_keys[1], "--to", n.account_pubs[0],
                      "--amount", str(n.BALANCE + 1)], 1,
                     ["certchain: send: insufficient balance", "(INSUFFICIENT_BALANCE)"],
                     env=env)
    #  An explicit nonce far ahead is accepted by the relay but never
    #  commits: --wait gives up with TIMEOUT, naming the tx.
    r = one_line_refusal(["send", "--key", n.account_keys[1], "--to", n.account_pubs[0],
                          "--amount", "1", "--nonce", "99", "--wait", "--timeout", "2"], 1,
                         ["not committed", "(TIMEOUT)"], env=env)
    one_line_refusal(["tx", "cd" * 32], 1, ["certchain: tx:", "(NOT_FOUND)"], env=env)
    one_line_refusal(["block", "999999999"], 1, ["certchain: block:"], env=env)
    assert r.returncode == 1


def test_validators():
    n = net()
    out = h.cli_json("validators", env=n.env())
    assert set(out) >= {"height", "validators"}, out
    (validator,) = out["validators"]
    assert set(validator) >= {"pubkey", "status", "is_ca", "since_height", "valid_until"}
    assert validator["pubkey"] == n.validator_pubs[0]
    assert validator["status"] == "active" and validator["is_ca"] is False
    at_one = h.cli_json("validators", "--height", "1", env=n.env())
    assert at_one["height"] == 1 and at_one["validators"][0]["pubkey"] == n.validator_pubs[0]
    r = h.cli("validators", env=n.env())
    assert n.validator_pubs[0] in r.stdout and "active" in r.stdout


def test_flags_override_environment():
    n = net()
    env = dict(os.environ, CERTCHAIN_VERIFIER=h.free_endpoint(),
               CERTCHAIN_RELAY=h.free_endpoint())
    out = h.cli_json("account", n.faucet_pub, "--verifier", n.verifier_query, env=env)
    assert out["address"] == n.faucet_pub
    out = h.cli_json("status", "--relay", n.relay_rpc, "--verifier", n.verifier_query, env=env)
    assert out["relay"]["height"] >= 1 and out["verifier"]["height"] >= 1


if __name__ == "__main__":
    try:
        h.run_tests(globals())
    finally:
        for key in ("cluster", "tmp_cluster"):
            if key in _NET:
                _NET[key].close(graceful=True)
