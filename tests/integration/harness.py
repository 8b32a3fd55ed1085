"""Shared helpers for CertChain's integration tests.

Integration tests start the real binaries on 127.0.0.1 and drive them from
Debian's /usr/bin/python3 (standard library only, plus python3-zmq where a
test needs raw sockets). Meson runs each tests/integration/test_<name>.py with
CERTCHAIN_BUILD set to the build root; this module finds the binaries there.

What it gives a test:
  - binary(name): the path of a built binary ("relay", "validator",
    "verifier", "ca", "certchain", "tap", "devnet", "forge").
  - free_port() / free_endpoint(): loopback ports nobody listens on.
  - Cluster: a context manager owning a temp dir and every process started
    through it; on exit (normal, exception, or interpreter exit via atexit) it
    kills all of them and removes the dir unless CERTCHAIN_KEEP=1.
  - Proc: one started process with its log file; stop() = SIGTERM, then
    SIGKILL after a timeout; kill() = SIGKILL; tail() = end of its log.
  - zpl(dict): ZPL config text from a nested dict (for -c FILE).
  - Network(cluster, validators=N, accounts=M, params={...}): keys, a
    genesis, configs and free ports for a relay, N validators and a
    verifier, started by the cluster; status / blocks / account /
    discarded / events / dump queries through certchain-forge.
  - forge(args...) / devnet(args...): run certchain-forge / -devnet.
  - wait_until(predicate, timeout, what): polls, raises TimeoutError naming
    what it waited for.
  - cli(args...) / cli_json(args...): run `certchain` and parse its --json.
  - run_tests(globals()): a tiny runner; runs every function named test_*
    (or those named on the command line), prints "N passed, N failed" and
    exits non-zero if any failed.

DESIGN: every process is started in its own session (start_new_session) so a
test can signal exactly the processes it started; nothing is ever killed by
name. A Cluster registers itself with atexit as a last resort, so even a test
killed by an uncaught exception outside `with` does not leave daemons behind;
SIGTERM (meson's timeout) is turned into SystemExit for the same reason.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

#  --- Locating binaries ------------------------------------------------------

BUILD = os.environ.get("CERTCHAIN_BUILD") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
SOURCE = os.environ.get("CERTCHAIN_SOURCE") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
KEEP = os.environ.get("CERTCHAIN_KEEP") == "1"


def _terminated(signum, frame):
    """SIGTERM (meson's timeout) ends the test like an error, so every
    Cluster's `with` exit and atexit handler still kills its processes."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)

_PATHS = {
    "relay": "services/relay/certchain-relay",
    "validator": "services/validator/certchain-validator",
    "verifier": "services/verifier/certchain-verifier",
    "ca": "services/ca/certchain-ca",
    "certchain": "tools/cli/certchain",
    "cli": "tools/cli/certchain",
    "tap": "tools/tap/certchain-tap",
    "devnet": "tools/devnet/certchain-devnet",
    "bench": "tools/bench/certchain-bench",
    "forge": "tests/integration/certchain-forge",
}


def binary(name):
    """Absolute path of a built binary by short name; raises if not built."""
    path = os.path.join(BUILD, _PATHS[name])
    if not os.access(path, os.X_OK):
        raise FileNotFoundError("binary %s not built (looked at %s)" % (name, path))
    return path


def have(name):
    """True when binary(name) exists, so a test can say what it skips."""
    return os.access(os.path.join(BUILD, _PATHS[name]), os.X_OK)


def bin_dir_env():
    """Environment for certchain-devnet and scripts: CERTCHAIN_BIN_DIR unset
    (devnet finds siblings in the build tree) and the build dirs on PATH."""
    env = dict(os.environ)
    extra = [os.path.join(BUILD, os.path.dirname(p)) for p in _PATHS.values()]
    env["PATH"] = os.pathsep.join(extra + [env.get("PATH", "/usr/bin:/bin")])
    return env

#  --- Ports -------------------------------------------------------------------


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_endpoint():
    return "tcp://127.0.0.1:%d" % free_port()

#  --- Waiting -----------------------------------------------------------------


def wait_until(predicate, timeout, what, interval=0.1):
    """Call predicate() until it returns a truthy value (which is returned).
    Exceptions inside predicate count as "not yet" (the last one is quoted
    in the TimeoutError so a failure says why), except AssertionError,
    which means "this can no longer happen" and propagates at once."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 (a predicate may fail while starting)
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s%s" % (
                timeout, what, "" if last is None else " (last error: %r)" % (last,)))
        time.sleep(interval)

#  --- Processes ---------------------------------------------------------------


class Proc:
    """One started process: argv, its log file (stdout+stderr), its Popen."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.popen = None
        self.stopped = False    # stopped or killed on purpose (check_alive skips it)
        self.start()

    def start(self):
        """(Re)start with the same argv; the log is appended to, not replaced."""
        self.stopped = False
        log = open(self.log_path, "ab")
        log.write(("=== start %s\n" % " ".join(self.argv)).encode())
        log.flush()
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd,
                                      start_new_session=True)
        log.close()
        return self

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen is not None and self.popen.poll() is None

    def returncode(self):
        return None if self.popen is None else self.popen.poll()

    def stop(self, timeout=10.0):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code."""
        self.stopped = True
        if not self.alive():
            return self.returncode()
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            return self.popen.wait(5)

    def kill(self):
        """SIGKILL (kill -9) and reap."""
        self.stopped = True
        if self.alive():
            self.popen.kill()
        if self.popen is not None:
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
        return self.returncode()

    def wait(self, timeout=None):
        return self.popen.wait(timeout)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, lines=20):
        return "\n".join(self.log().splitlines()[-lines:])


#  Lines that open a sanitizer's report (AddressSanitizer, LeakSanitizer,
#  UndefinedBehaviorSanitizer with its "runtime error").
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: ")


class Cluster:
    """Owns a temp dir and every process started through it.

        with Cluster("network") as c:
            relay = c.start("relay", [binary("relay"), "-c", cfg])
            ...

    On exit every process still alive is SIGKILLed (after a short SIGTERM
    grace when the block ended normally), and the dir is removed unless
    CERTCHAIN_KEEP=1 (then its path is printed). On an exception the last
    lines of every log are printed, since that is where the cause usually is.
    """

    def __init__(self, name="test"):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="certchain-%s-" % name)
        self.procs = []
        self.closed = False
        atexit.register(self.close)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def mkdir(self, *parts):
        p = self.path(*parts)
        os.makedirs(p, exist_ok=True)
        return p

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def start(self, name, argv, env=None, cwd=None):
        """Start argv as a background process logging to <dir>/logs/<name>.log."""
        logs = self.mkdir("logs")
        proc = Proc(name, argv, os.path.join(logs, name + ".log"), env=env, cwd=cwd)
        self.procs.append(proc)
        return proc

    def dump_logs(self, lines=25, out=sys.stderr):
        for p in self.procs:
            out.write("--- %s (pid %s, %s) last %d lines of %s\n" % (
                p.name, p.pid, "alive" if p.alive() else "exit %s" % p.returncode(),
                lines, p.log_path))
            out.write(p.tail(lines) + "\n")

    def sanitizer_reports(self):
        """(process name, first report line) for every report an address,
        leak or undefined-behaviour sanitizer wrote to a log. A sanitized
        build (the CI's second run) prints them to stderr, which is the
        log; a plain build never does, so this is empty there."""
        found = []
        for p in self.procs:
            for line in p.log().splitlines():
                #  "=== start" lines are the harness's own (they quote argv).
                if not line.startswith("=== ") and any(m in line for m in SANITIZER_MARKS):
                    found.append((p.name, line.strip()))
                    break
        return found

    def close(self, graceful=False):
        """Stops every process (SIGTERM first when graceful) and removes the
        dir. After a graceful stop, a sanitizer report in any log fails
        the test: the processes exited, so leaks have been reported too."""
        if self.closed:
            return
        self.closed = True
        if graceful:
            for p in self.procs:
                if p.alive():
                    p.popen.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 5
            for p in self.procs:
                try:
                    p.popen.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
        for p in self.procs:
            p.kill()
        reports = self.sanitizer_reports() if graceful else []
        if reports:
            self.dump_logs(lines=60)
        if KEEP or reports:
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise AssertionError("sanitizer reports: " + "; ".join(
                "%s: %s" % report for report in reports))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.dump_logs()
        self.close(graceful=exc_type is None)
        return False

#  --- Configuration files ------------------------------------------------------


def zpl(tree):
    """ZPL text from a nested dict: {"relay": {"rpc": "tcp://..."}} gives
    relay / 4-space-indented rpc = "tcp://...". Values are quoted."""
    lines = []

    def emit(node, depth):
        for key, value in node.items():
            if isinstance(value, dict):
                lines.append("    " * depth + key)
                emit(value, depth + 1)
            else:
                lines.append('%s%s = "%s"' % ("    " * depth, key, value))
    emit(tree, 0)
    return "\n".join(lines) + "\n"


#  --- Running commands --------------------------------------------------------


class CommandError(Exception):
    """A command exited non-zero; carries argv, exit code, stdout and stderr."""

    def __init__(self, argv, code, out, err):
        self.argv, self.code, self.out, self.err = argv, code, out, err
        super().__init__("%s exited %s: %s" % (" ".join(argv), code,
                                              (err or out).strip()[-2000:]))


def run(argv, timeout=30, check=True, env=None, input=None):
    """Run a command to completion; returns CompletedProcess (text). A
    sanitizer report on its stderr fails the test, even when the command
    was expected to fail (check=False)."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       env=env, input=input)
    reports = [line.strip() for line in (r.stderr or "").splitlines()
               if any(mark in line for mark in SANITIZER_MARKS)]
    if reports:
        raise AssertionError("sanitizer report from %s: %s\n%s" % (
            " ".join(str(a) for a in argv[:3]), reports[0], r.stderr[-4000:]))
    if check and r.returncode != 0:
        raise CommandError(argv, r.returncode, r.stdout, r.stderr)
    return r


def cli(*args, timeout=30, check=True, env=None):
    """Run `certchain ARGS...`; returns CompletedProcess."""
    return run([binary("certchain")] + [str(a) for a in args], timeout=timeout,
               check=check, env=env)


def cli_json(*args, timeout=30, env=None):
    """Run `certchain ARGS... --json` and return the parsed JSON object."""
    r = cli(*(list(args) + ["--json"]), timeout=timeout, env=env)
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        raise CommandError(r.args, r.returncode, r.stdout,
                           "output is not JSON (%s): %r" % (e, r.stdout[-500:]))


def forge(*args, timeout=60, check=True):
    """Run `certchain-forge ARGS...`; returns CompletedProcess."""
    return run([binary("forge")] + [str(a) for a in args], timeout=timeout, check=check)


def devnet(*args, timeout=90, check=True):
    """Run `certchain-devnet ARGS...`; returns CompletedProcess."""
    return run([binary("devnet")] + [str(a) for a in args], timeout=timeout,
               check=check, env=bin_dir_env())

#  --- Devnet helpers ------------------------------------------------------------


def devnet_env(directory):
    """Parse `certchain-devnet env --dir D` into a dict of variables."""
    out = devnet("env", "--dir", directory).stdout
    result = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("export "):
            line = line[len("export "):]
        for part in line.split():
            if "=" in part:
                k, v = part.split("=", 1)
                result[k] = v.strip("'\"")
    return result


def devnet_ports(directory):
    """D/ports as a dict (name -> endpoint or port), as devnet wrote it."""
    result = {}
    with open(os.path.join(directory, "ports")) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                result[k.strip()] = v.strip()
    return result


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    #  A zombie still answers kill(0); treat it as dead.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

#  --- Test runner -----------------------------------------------------------------


def run_tests(namespace, argv=None):
    """Run every callable test_* in namespace (in definition order), or only
    those named in argv. Prints one line per test with its time, then
    "N passed, N failed"; exits 1 if any failed, 77 (meson's skip) if every
    selected test raised Skip."""
    argv = sys.argv[1:] if argv is None else argv
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)]
    if argv:
        tests = [(n, f) for n, f in tests if n in argv]
    passed = failed = skipped = 0
    for name, fn in tests:
        t0 = time.monotonic()
        sys.stdout.write("... %s\n" % name)
        sys.stdout.flush()
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("SKIP %s (%.1fs): %s" % (name, time.monotonic() - t0, e))
        except BaseException as e:  # noqa: BLE001 (report everything, incl. timeouts)
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            failed += 1
            traceback.print_exc(file=sys.stdout)
            print("FAIL %s (%.1fs): %s" % (name, time.monotonic() - t0, e))
        else:
            passed += 1
            print("PASS %s (%.1fs)" % (name, time.monotonic() - t0))
        sys.stdout.flush()
    print("%d passed, %d failed%s" % (passed, failed,
                                      ", %d skipped" % skipped if skipped else ""))
    if failed:
        sys.exit(1)
    if skipped and not passed:
        sys.exit(77)
    sys.exit(0)


class Skip(Exception):
    """Raise in a test when a prerequisite (e.g. a binary) is missing."""


def need(*names):
    """Skip the current test unless every named binary is built."""
    missing = [n for n in names if not have(n)]
    if missing:
        raise Skip("not built: " + ", ".join(missing))

#  --- A network of real processes --------------------------------------------------


class Network:
    """A relay, N validators and a verifier of a fresh chain, started by a
    Cluster (so they die with it). Keys come from `certchain-forge keys`,
    the genesis from `certchain genesis`; every service gets a ZPL config
    in the cluster dir and free loopback ports.

        with Cluster("faults") as c:
            net = Network(c, validators=4, accounts=20,
                          params={"jail_after": 0})
            net.start()                 # relay, validators, verifier
            net.wait_height(3)          # verifier height >= 3
            net.validators[1].kill()    # kill -9

    Attributes: genesis (path), chain_id, keys_dir, validator_keys (paths),
    validator_pubs, account_keys, account_pubs, faucet_key, faucet_pub,
    relay_rpc, relay_pub, relay_gossip, verifier_query, admin (list of
    validator admin endpoints), relay / verifier (Proc), validators (list of
    Proc). Processes are named relay, validator-1.., verifier.
    """

    BALANCE = 10 ** 12

    def __init__(self, cluster, validators=4, accounts=0, params=None, relay_args=(),
                 log_level="info", chain_id=None, resign_on_stop=False):
        self.c = cluster
        self.resign_on_stop = resign_on_stop
        self.n = validators
        self.relay_args = list(relay_args)
        self.log_level = log_level
        self.keys_dir = cluster.mkdir("keys")
        os.chmod(self.keys_dir, 0o700)
        self.validator_keys, self.validator_pubs = self._keys("validator", validators)
        self.account_keys, self.account_pubs = self._keys("account", accounts)
        (self.faucet_key,), (self.faucet_pub,) = self._keys("faucet", 1)
        (self.ca_key,), (self.ca_pub,) = self._keys("ca", 1)
        self.chain_id = chain_id or "it-%s-%d" % (cluster.name, os.getpid())
        self.genesis = cluster.path("genesis.zpl")
        args = ["genesis", "--out", self.genesis, "--chain-id", self.chain_id,
                "--ca", self.ca_pub]
        for pub in self.validator_pubs:
            args += ["--validator", pub]
        for pub in self.account_pubs + [self.faucet_pub]:
            args += ["--account", "%s=%d" % (pub, self.BALANCE)]
        for name, value in (params or {}).items():
            args += ["--param", "%s=%s" % (name, value)]
        cli(*args)
        ports = [free_port() for _ in range(4 + validators)]
        while len(set(ports)) != len(ports):
            ports = [free_port() for _ in range(4 + validators)]
        ep = ["tcp://127.0.0.1:%d" % p for p in ports]
        self.relay_rpc, self.relay_pub, self.relay_gossip, self.verifier_query = ep[:4]
        self.admin = ep[4:]
        self.relay = None
        self.verifier = None
        self.validators = [None] * validators

    def _keys(self, prefix, count):
        if count == 0:
            return [], []
        out = forge("keys", "--dir", self.keys_dir, "--prefix", prefix,
                    "--count", count).stdout
        keys = json.loads(out)["keys"]
        return [k["path"] for k in keys], [k["pubkey"] for k in keys]

    def _common(self, name):
        return {
            "log": {"level": self.log_level},
            "store": {"path": os.path.join(self.c.mkdir("stores"), name)},
            "genesis": {"path": self.genesis},
        }

    def store(self, name):
        """Store dir of process name (relay, validator-i, verifier)."""
        return self.c.path("stores", name)

    def start_relay(self, extra=()):
        cfg = self._common("relay")
        cfg["relay"] = {"rpc": self.relay_rpc, "pub": self.relay_pub,
                        "gossip": self.relay_gossip}
        path = self.c.write("relay.zpl", zpl(cfg))
        self.relay = self.c.start("relay", [binary("relay"), "-c", path]
                                  + self.relay_args + list(extra))
        return self.relay

    def start_validator(self, i, extra=()):
        """Start validator i (1-based), or restart it with the same store."""
        name = "validator-%d" % i
        proc = self.validators[i - 1]
        if proc is not None:
            return proc.start()
        cfg = self._common(name)
        cfg["relay"] = {"rpc": self.relay_rpc, "pub": self.relay_pub,
                        "gossip": self.relay_gossip}
        #  Tests stop and kill validators to make faults, not to shrink the
        #  set: a stopped validator does not resign (issue 4's graceful exit).
        cfg["validator"] = {"admin": self.admin[i - 1], "key": self.validator_keys[i - 1],
                            "resign_on_stop": 1 if self.resign_on_stop else 0}
        path = self.c.write(name + ".zpl", zpl(cfg))
        self.validators[i - 1] = self.c.start(name, [binary("validator"), "-c", path]
                                              + list(extra))
        return self.validators[i - 1]

    def start_verifier(self, extra=()):
        if self.verifier is not None:
            return self.verifier.start()
        cfg = self._common("verifier")
        cfg["relay"] = {"rpc": self.relay_rpc, "pub": self.relay_pub,
                        "gossip": self.relay_gossip}
        cfg["verifier"] = {"query": self.verifier_query}
        path = self.c.write("verifier.zpl", zpl(cfg))
        self.verifier = self.c.start("verifier", [binary("verifier"), "-c", path]
                                     + list(extra))
        return self.verifier

    def start(self, verifier=True, wait=1, timeout=30):
        """Start relay, every validator and (optionally) the verifier, then
        wait until the verifier (or the relay) reaches height `wait`."""
        self.start_relay()
        for i in range(1, self.n + 1):
            self.start_validator(i)
        if verifier:
            self.start_verifier()
        if wait:
            self.wait_height(wait, timeout=timeout,
                             endpoint=self.verifier_query if verifier else self.relay_rpc)
        return self

    def procs(self):
        return [p for p in [self.relay] + self.validators + [self.verifier] if p is not None]

    def check_alive(self):
        """Raise naming every process of the network that has exited,
        except those stopped or killed on purpose (Proc.stop/kill)."""
        dead = ["%s (exit %s)" % (p.name, p.returncode()) for p in self.procs()
                if not p.alive() and not p.stopped]
        if dead:
            raise AssertionError("processes exited: " + ", ".join(dead))

    # -- Queries (through certchain-forge, which prints raw replies as JSON) --

    def status(self, endpoint, timeout_ms=3000):
        return json.loads(forge("status", "--endpoint", endpoint, "--timeout-ms",
                                timeout_ms).stdout)

    def height(self, endpoint=None):
        return self.status(endpoint or self.verifier_query)["height"]

    def wait_height(self, height, timeout=60, endpoint=None):
        """Wait until endpoint (default: the verifier) reports >= height;
        fails early if a process of the network died."""
        endpoint = endpoint or self.verifier_query

        def reached():
            self.check_alive()
            return self.height(endpoint) >= height
        return wait_until(reached, timeout, "height %d at %s" % (height, endpoint),
                          interval=0.2)

    def blocks(self, endpoint=None, start=1, to=0, txs=False):
        """Every block of endpoint as a list of dicts (forge blocks)."""
        args = ["blocks", "--endpoint", endpoint or self.relay_rpc, "--from", start,
                "--to", to]
        if txs:
            args += ["--txs", "1"]
        out = forge(*args, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def account(self, pub, endpoint=None):
        return json.loads(forge("account", "--endpoint", endpoint or self.verifier_query,
                                "--address", pub).stdout)

    def discarded(self, endpoint=None):
        return json.loads(forge("discarded", "--endpoint",
                                endpoint or self.verifier_query).stdout)["discarded"]

    def events(self, seconds=2, service=None):
        args = ["events", "--endpoint", self.relay_pub, "--seconds", seconds]
        if service:
            args += ["--service", service]
        out = forge(*args, timeout=seconds + 30).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def dump(self, name, txs=False):
        """Blocks in the store of a STOPPED process (list; last item: tip)."""
        args = ["dump", "--genesis", self.genesis, "--store", self.store(name)]
        if txs:
            args += ["--txs", "1"]
        out = forge(*args, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def env(self):
        """Environment for the CLI with this network's endpoints."""
        env = dict(os.environ)
        env["CERTCHAIN_RELAY"] = self.relay_rpc
        env["CERTCHAIN_VERIFIER"] = self.verifier_query
        return env


#  --- Protobuf, the little tests need to build and read raw messages -------------------------------------------


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def f_int(number, value):
    return varint(number << 3) + varint(value)


def f_bytes(number, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def parse(data):
    """Fields of one message: {number: [values]} (ints or bytes)."""
    fields = {}
    i = 0

    def read_varint():
        nonlocal i
        shift = value = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
    while i < len(data):
        key = read_varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = read_varint()
        elif wire == 2:
            length = read_varint()
            value = bytes(data[i:i + length])
            i += length
        elif wire == 1:
            value = bytes(data[i:i + 8])
            i += 8
        elif wire == 5:
            value = bytes(data[i:i + 4])
            i += 4
        else:
            raise ValueError("wire type %d" % wire)
        fields.setdefault(number, []).append(value)
    return fields


def one(fields, number, default=None):
    values = fields.get(number)
    return values[-1] if values else default


def zigzag(n):
    return (n >> 1) ^ -(n & 1)
