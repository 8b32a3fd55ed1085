"""The deployment for real (issue 6, item 3): the image, docker-compose, a
network scaled to five validators and back to three.

Steps, each timed:
  1. Docker: tests/deploy/deps.sh installs docker.io and docker-compose
     when missing. The test then starts a private dockerd of its own in a
     network namespace it creates (nsenter --net, so the daemon sees the
     host's cgroups), with its data, socket and pid file in a temp folder:
     the daemon's bridges and firewall rules exist only in that namespace,
     it never meets a daemon that may already run, and removing the
     namespace and the folder removes everything it made. With
     CERTCHAIN_DOCKER_HOST set, that daemon is used instead (and left
     running; what the test made in it is removed).
  2. `docker-compose config -q` validates deploy/docker-compose.yml.
  3. deploy/build-image.sh builds certchain-root:TAG and certchain:TAG from
     this build's binaries (no registry).
  4. `docker-compose up -d --scale validator=5`: init writes the genesis,
     the relay, the producing CA, the verifier and five validators start;
     each validator makes its key and joins through the CA's challenge.
     Checked: the five keys are the five non-CA members of the set, the
     CA's audit log holds an accepted entry for each (with its Certify
     transaction, from five different addresses), and blocks proposed by
     each of the five are committed.
  5. `--scale validator=3`: the two removed replicas resign (out of the
     set), the chain goes on (height grows, nothing discarded).
  6. `docker-compose down -v --rmi all`, the base image removed, then the
     daemon stopped by its pid, its namespace and folder removed; the test
     fails if anything it made is left.
Root is needed (to start a daemon); without root, without Docker packages
that can be installed, or where the daemon cannot start, the test says
why and exits 77 (meson's skip), never passing.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SOURCE = os.environ.get("CERTCHAIN_SOURCE") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("CERTCHAIN_BUILD") or os.path.join(SOURCE, "build")
COMPOSE_FILE = os.path.join(SOURCE, "deploy", "docker-compose.yml")
TAG = "test-%d" % os.getpid()
PROJECT = "ccdeploy%d" % os.getpid()
T0 = time.monotonic()


def _terminated(signum, frame):
    """SIGTERM (meson's timeout) ends the test like an error, so the
    `finally` below still removes the containers and stops the daemon."""
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminated)


def say(text):
    print("[%5.1fs] %s" % (time.monotonic() - T0, text))
    sys.stdout.flush()


def skip(reason):
    print("SKIP deploy: %s" % reason)
    sys.exit(77)


def run(argv, env=None, timeout=300, check=True, input=None):
    r = subprocess.run(argv, env=env, timeout=timeout, capture_output=True, text=True,
                       input=input)
    if check and r.returncode != 0:
        raise AssertionError("%s exited %d:\n%s%s" % (" ".join(argv), r.returncode,
                                                      r.stdout[-3000:], r.stderr[-3000:]))
    return r


def wait_until(predicate, timeout, what, interval=1.0):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as e:
            last = e
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ds waiting for %s (last: %s)"
                                 % (timeout, what, last))
        time.sleep(interval)


#  --- The daemon ------------------------------------------------------------------


class Daemon:
    """A private dockerd in a namespace of its own, or the daemon named by
    CERTCHAIN_DOCKER_HOST."""

    def __init__(self):
        self.external = os.environ.get("CERTCHAIN_DOCKER_HOST")
        self.popen = None
        self.ns = None
        self.dir = None
        self.docker = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) \
            else shutil.which("docker")
        self.env = dict(os.environ)
        self.env["DOCKER"] = self.docker or "docker"

    def start(self):
        """None when a daemon answers, else the reason it does not."""
        if self.external:
            self.env["DOCKER_HOST"] = self.external
            r = run([self.docker, "version"], env=self.env, check=False, timeout=30)
            return None if r.returncode == 0 else "no daemon at %s: %s" % (
                self.external, r.stderr.strip()[-300:])
        self.dir = tempfile.mkdtemp(prefix="certchain-dockerd-", dir="/var/tmp")
        self.ns = "ccdock%d" % os.getpid()
        r = run(["ip", "netns", "add", self.ns], check=False)
        if r.returncode != 0:
            self.ns = None
            return "cannot create a network namespace: %s" % r.stderr.strip()
        run(["ip", "-n", self.ns, "link", "set", "lo", "up"])
        sock = os.path.join(self.dir, "docker.sock")
        self.log_path = os.path.join(self.dir, "dockerd.log")
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                ["nsenter", "--net=/run/netns/" + self.ns, "dockerd",
                 "--host", "unix://" + sock, "--data-root", os.path.join(self.dir, "data"),
                 "--exec-root", os.path.join(self.dir, "exec"),
                 "--pidfile", os.path.join(self.dir, "docker.pid")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.env["DOCKER_HOST"] = "unix://" + sock
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                return "dockerd exited %d: %s" % (self.popen.returncode, self.log_tail())
            r = run([self.docker, "version"], env=self.env, check=False, timeout=30)
            if r.returncode == 0:
                return None
            time.sleep(0.5)
        return "dockerd did not answer within 60 s: %s" % self.log_tail()

    def log_tail(self, lines=5):
        try:
            with open(self.log_path) as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        """Stops the daemon this test started (by its pid), removes its
        namespace and folder. Returns what could not be removed."""
        left = []
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if self.ns:
            if run(["ip", "netns", "del", self.ns], check=False).returncode != 0:
                left.append("namespace " + self.ns)
            self.ns = None
        if self.dir:
            #  dockerd unmounts its layers at exit; anything still mounted
            #  under the folder is unmounted before it is removed.
            with open("/proc/self/mounts") as f:
                mounts = [line.split()[1] for line in f if self.dir in line.split()[1]]
            for mount in sorted(mounts, key=len, reverse=True):
                run(["umount", "-l", mount], check=False)
            shutil.rmtree(self.dir, ignore_errors=True)
            if os.path.exists(self.dir):
                left.append(self.dir)
            self.dir = None
        return left


#  --- The network -----------------------------------------------------------------


class Deployment:
    def __init__(self, daemon):
        self.d = daemon
        self.env = dict(daemon.env)
        self.env["CERTCHAIN_IMAGE"] = "certchain:" + TAG
        self.env["CERTCHAIN_CHAIN_ID"] = PROJECT
        self.env.pop("CERTCHAIN_GENESIS_ARGS", None)

    def compose(self, *args, timeout=300, check=True):
        return run(["docker-compose", "-p", PROJECT, "-f", COMPOSE_FILE] + list(args),
                   env=self.env, timeout=timeout, check=check)

    def docker(self, *args, timeout=120, check=True):
        return run([self.d.docker] + list(args), env=self.env, timeout=timeout, check=check)

    def containers(self, service):
        out = self.compose("ps", "-q", service).stdout
        return [c for c in out.split() if c]

    def exec_json(self, *argv, timeout=60):
        relay = self.containers("relay")[0]
        out = self.docker("exec", relay, *argv, timeout=timeout).stdout
        return json.loads(out)

    def members(self):
        """{pubkey: info} of the set, from the verifier."""
        return {v["pubkey"]: v for v in self.exec_json("certchain", "validators",
                                                      "--json")["validators"]}

    def height(self):
        return self.exec_json("certchain", "status", "--json")["verifier"]["height"]

    def status(self):
        return self.exec_json("certchain", "status", "--json")

    def blocks(self, first, last):
        """Blocks first..last from the verifier, one exec for all."""
        relay = self.containers("relay")[0]
        script = ('h=%d; while [ $h -le %d ]; do certchain block $h --json || exit 1; '
                  'h=$((h+1)); done' % (first, last))
        out = self.docker("exec", relay, "sh", "-c", script, timeout=120).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def key_of(self, container):
        r = self.docker("exec", container, "sh", "-c",
                        "cat /var/lib/certchain/$HOSTNAME/validator.key.pub", check=False)
        return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None

    def keys(self):
        return {c: self.key_of(c) for c in self.containers("validator")}

    def leftovers(self):
        label = "label=com.docker.compose.project=" + PROJECT
        left = []
        for kind in (["ps", "-a", "-q"], ["volume", "ls", "-q"], ["network", "ls", "-q"]):
            out = self.docker(*(kind + ["--filter", label]), check=False).stdout.split()
            left += ["%s %s" % (kind[0], x) for x in out]
        for image in ("certchain:" + TAG, "certchain-root:" + TAG):
            if self.docker("image", "inspect", image, check=False).returncode == 0:
                left.append("image " + image)
        return left

    def remove(self):
        self.compose("--profile", "tools", "down", "-v", "--rmi", "all", "--remove-orphans",
                     check=False, timeout=180)
        for image in ("certchain:" + TAG, "certchain-root:" + TAG):
            self.docker("rmi", "-f", image, check=False)


def check_network(dep):
    #  4. Five validators: each makes its key, joins, produces.
    t = time.monotonic()
    dep.compose("up", "-d", "--scale", "validator=5", timeout=300)
    say("up --scale validator=5 returned in %.1fs" % (time.monotonic() - t))
    keys = wait_until(lambda: (lambda k: k if len(k) == 5 and all(k.values()) else None)(
        dep.keys()), 60, "five validator keys")
    pubs = set(keys.values())
    assert len(pubs) == 5, "validators share a key: %s" % keys
    members = wait_until(
        lambda: (lambda m: m if pubs <= {p for p, v in m.items() if v["status"] == "active"}
                 else None)(dep.members()), 120, "the five keys in the validator set")
    ca = [p for p, v in members.items() if v["is_ca"]]
    assert set(members) == pubs | set(ca) and len(ca) == 1, members
    say("all five joined in %.1fs after up (set: CA + 5)" % (time.monotonic() - t))
    entries = dep.exec_json("certchain", "ca-log", "--json")["entries"]
    accepted = {e["node"]: e for e in entries if e["decision"] == "accepted"}
    for pub in pubs:
        assert pub in accepted and accepted[pub]["certify_tx"], \
            "no accepted audit entry for %s: %s" % (pub, entries)
    sources = {accepted[p]["source"] for p in pubs}
    assert len(sources) == 5, "five joins from %s" % sources
    say("the CA's audit log accepted each (sources %s)" % ", ".join(sorted(sources)))
    since = max(members[p]["since_height"] for p in pubs)
    proposers = set()

    def all_proposed():
        top = dep.height()
        first = max(since, top - 40)
        proposers.update(b["proposer"] for b in dep.blocks(first, top))
        return pubs <= proposers
    wait_until(all_proposed, 90, "a block proposed by each of the five", interval=2)
    say("blocks proposed by each of the five are committed (height %d)" % dep.height())

    #  5. Down to three: two resign, the chain goes on.
    t = time.monotonic()
    dep.compose("up", "-d", "--scale", "validator=3", timeout=300)
    say("--scale validator=3 returned in %.1fs" % (time.monotonic() - t))
    kept = dep.keys()
    assert len(kept) == 3, kept
    gone = pubs - set(kept.values())
    assert len(gone) == 2, (pubs, kept)
    wait_until(lambda: not gone & set(dep.members()), 60, "the two removed replicas out "
               "of the set")
    h = dep.height()
    wait_until(lambda: dep.height() >= h + 10, 60, "ten more blocks with three validators")
    status = dep.status()
    assert status["verifier"]["discarded"] == 0, status
    members = dep.members()
    assert set(members) == set(kept.values()) | set(ca), members
    say("with three: height %d -> %d, set CA + 3, nothing discarded" % (h, dep.height()))


def main():
    if os.geteuid() != 0:
        skip("not root: starting a Docker daemon needs root")
    if not shutil.which("docker-compose") or not os.access("/usr/sbin/dockerd", os.X_OK):
        r = run([os.path.join(SOURCE, "tests", "deploy", "deps.sh")], check=False,
                timeout=600)
        if r.returncode != 0:
            skip("cannot install docker.io and docker-compose: %s" % r.stderr.strip()[-300:])
        say("installed docker.io and docker-compose")
    for tool in ("docker-compose", "nsenter", "ip"):
        if not shutil.which(tool):
            skip("no %s" % tool)
    daemon = Daemon()
    ok = False
    dep = None
    left = []
    try:
        reason = daemon.start()
        if reason:
            left = daemon.stop()
            skip("no Docker daemon can be started here: %s" % reason)
        say("dockerd %s" % ("at " + daemon.external if daemon.external
                            else "started (pid %d, namespace %s)" % (daemon.popen.pid,
                                                                      daemon.ns)))
        dep = Deployment(daemon)
        #  2. The compose file is valid.
        dep.compose("config", "-q")
        dep.compose("--profile", "tools", "config", "-q")
        say("docker-compose config -q: valid")
        #  3. The image, from this build, without a registry.
        t = time.monotonic()
        out = run([os.path.join(SOURCE, "deploy", "build-image.sh"), "--build", BUILD,
                   "--tag", TAG], env=daemon.env, timeout=600).stdout.strip()
        assert out == "certchain:" + TAG, out
        user = dep.docker("run", "--rm", "certchain:" + TAG, "id", "-u").stdout.strip()
        assert user != "0", "the image runs as root"
        size = dep.docker("image", "inspect", "--format", "{{.Size}}",
                          "certchain:" + TAG).stdout.strip()
        say("image certchain:%s built in %.1fs (%.1f MB, uid %s)" % (
            TAG, time.monotonic() - t, int(size) / 1e6, user))
        check_network(dep)
        ok = True
    finally:
        if not ok and dep is not None:
            try:
                print(dep.compose("logs", "--tail", "15", check=False, timeout=60).stdout[-6000:])
            except Exception as e:  # noqa: BLE001
                print("(logs: %s)" % e)
        if dep is not None:
            t = time.monotonic()
            dep.remove()
            left += dep.leftovers()
            say("down -v --rmi all in %.1fs" % (time.monotonic() - t))
        left += daemon.stop()
    assert not left, "left behind: %s" % left
    say("everything removed; PASS")


if __name__ == "__main__":
    main()
