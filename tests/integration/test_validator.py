"""Integration test of certchain-validator with a real certchain-relay.

  - one validator: blocks are produced, a transfer submitted to the relay is
    committed (the relay's GetTx finds it), the admin socket answers GetStatus;
    block rate and transaction throughput are printed;
  - four validators: heights advance, every validator reports the same app
    hash as the relay's stored block at every height it was seen at;
  - restart: SIGTERM (exit 0) then start again resumes from the stored tip,
    and a validator stopped while the others go on catches up and rejoins;
    all four stopped, or killed with -9 mid-height, resume the chain;
  - a relay that lost its store is refilled by the validator's uploads;
  - a validator whose key is not in genesis keeps running, follows the chain
    and reports in_set false;
  - configuration: a key file readable by others is refused (exit 2), an
    occupied admin port exits 1, --print-config works.

Certification (issue 4), with a certchain-ca (not producing: genesis CA
key(500)) and a certchain-verifier next to the genesis validators:
  - join: a validator with an uncertified key passes the CA's challenge, its
    Certify is committed, the verifier lists it in GetValidators and stores
    blocks it proposed; then a genesis member stopped with SIGTERM resigns,
    leaves the set, exits 0, and the chain goes on committing;
  - refused: a CA whose policy is above this machine (min_cpu_cores 512)
    refuses with the reason, which the validator logs; it asks again no
    sooner than the CA's back-off;
  - renewal: with cert_validity 40 the joined validator renews before its
    certificate ends and is in V(h) at every height across the first expiry.
The join-to-certified time is printed (from the validator's own log line).

The wire is spoken with python3-protobuf: the message classes come from
proto/*.proto through a descriptor set that protoc-c (a build dependency)
writes. Keys and signatures use libsodium through ctypes, the same library
the services use.

CERTCHAIN_VALIDATOR_BIN, when set, names the validator binary to run (e.g.
an AddressSanitizer build: build-val-asan/services/validator/...).

The old tests start validators with validator/resign_on_stop = 0: they stop
and restart members to test restarts, which must not take them out of the
set; the certification tests turn it on where they test leaving.
"""

import ctypes
import ctypes.util
import datetime
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zmq  # noqa: E402  (python3-zmq)

from harness import (SOURCE, Cluster, binary, free_endpoint, need, run,  # noqa: E402
                     run_tests, wait_until, zpl)

CHAIN = "validator-test"
GENESIS_TIME_MS = 1764147600000

#  --- Protobuf classes from the schemas -------------------------------------------

_PROTO = {}


def proto(name):
    """The python class of certchain.<name>, built once from proto/*.proto."""
    if not _PROTO:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
        out = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                           "certchain-validator-test-%d.desc" % os.getpid())
        run(["protoc-c", "--proto_path=" + os.path.join(SOURCE, "proto"),
             "--descriptor_set_out=" + out, "--include_imports", "rpc.proto"])
        files = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            files.ParseFromString(f.read())
        os.unlink(out)
        pool = descriptor_pool.DescriptorPool()
        for file in files.file:
            pool.Add(file)
        for message in ("Request", "Reply", "Signed", "TxBody", "Transfer", "Block",
                        "BlockHeader", "MetricsEvent", "Certify"):
            descriptor = pool.FindMessageTypeByName("certchain." + message)
            if hasattr(message_factory, "GetMessageClass"):
                _PROTO[message] = message_factory.GetMessageClass(descriptor)
            else:
                _PROTO[message] = message_factory.MessageFactory(pool).GetPrototype(descriptor)
    return _PROTO[name]

#  --- Keys and signatures (libsodium) ---------------------------------------------


_SODIUM = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
_SODIUM.sodium_init()


class Key:
    """An Ed25519 key pair from a 32-byte seed."""

    def __init__(self, seed):
        self.seed = seed
        public = ctypes.create_string_buffer(32)
        self._secret = ctypes.create_string_buffer(64)
        _SODIUM.crypto_sign_seed_keypair(public, self._secret, seed)
        self.public = public.raw

    @property
    def hex(self):
        return self.public.hex()

    def sign(self, domain, body):
        message = domain.encode() + b"\0" + bytes([len(CHAIN)]) + CHAIN.encode() + body
        signature = ctypes.create_string_buffer(64)
        _SODIUM.crypto_sign_detached(signature, None, message, ctypes.c_ulonglong(len(message)),
                                     self._secret)
        return signature.raw

    def save(self, path, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as f:
            f.write(self.seed.hex() + "\n")
        os.chmod(path, mode)
        return path


def key(n):
    """Deterministic key number n."""
    return Key(hashlib.blake2b(b"validator-test-key-%d" % n, digest_size=32).digest())


def transfer(sender, to, amount, nonce, fee=1):
    """A signed Transfer envelope (a Signed message) and its tx hash."""
    body = proto("TxBody")(chain_id=CHAIN, signer=sender.public, nonce=nonce, fee=fee)
    body.transfer.to = to
    body.transfer.amount = amount
    data = body.SerializeToString()
    envelope = proto("Signed")(body=data, signature=sender.sign("certchain/tx/1", data),
                               signer=sender.public)
    return envelope, hashlib.blake2b(data, digest_size=32).digest()

#  --- Genesis and processes ----------------------------------------------------------


def genesis_text(validators, accounts, balance=10 ** 12, params=None):
    """Genesis ZPL: validators (Keys), accounts (Keys), params (name -> int);
    one CA, key(500), that does not produce."""
    lines = ["chain", '    id = "%s"' % CHAIN, "    time_ms = %d" % GENESIS_TIME_MS]
    if params:
        lines.append("params")
        lines += ["    %s = %d" % (k, v) for k, v in params.items()]
    #  A CA that does not produce: genesis needs one, the set stays ours.
    lines += ["ca", "    1", '        pubkey = "%s"' % key(500).hex, "        produces = 0"]
    lines.append("validator")
    for i, v in enumerate(validators, 1):
        lines += ["    %d" % i, '        pubkey = "%s"' % v.hex]
    lines.append("account")
    for i, a in enumerate(accounts, 1):
        lines += ["    %d" % i, '        address = "%s"' % a.hex,
                  "        balance = %d" % balance]
    return "\n".join(lines) + "\n"


def validator_binary():
    return os.environ.get("CERTCHAIN_VALIDATOR_BIN") or binary("validator")


class Net:
    """A relay and validators in one Cluster, with rpc helpers."""

    def __init__(self, cluster, members, accounts, params=None):
        self.c = cluster
        self.ctx = zmq.Context.instance()
        self.members = members
        self.accounts = accounts
        self.genesis = cluster.write("genesis.zpl", genesis_text(members, accounts,
                                                                  params=params))
        self.relay_rpc = free_endpoint()
        self.relay_pub = free_endpoint()
        self.relay_gossip = free_endpoint()
        config = cluster.write("relay.cfg", zpl({
            "relay": {"rpc": self.relay_rpc, "pub": self.relay_pub,
                      "gossip": self.relay_gossip},
            "store": {"path": cluster.path("relay-data")},
            "genesis": {"path": self.genesis}}))
        self.relay = cluster.start("relay", [binary("relay"), "-c", config])
        wait_until(lambda: self.relay_status() if self.relay.alive() else
                   sys.exit("relay exited:\n" + self.relay.tail(10)), 10, "the relay")
        self.validators = {}
        self.admins = {}
        #  The CA's join endpoint: no CA listens there until start_ca.
        self.ca_join = free_endpoint()
        self.ca = None
        self.verifier = None
        self.verifier_query = None

    def start_validator(self, name, k, admin=None, extra=(), join=1, resign=0,
                        resign_timeout_ms=30000):
        keyfile = self.c.path(name + ".key")
        if not os.path.exists(keyfile):
            k.save(keyfile)
        admin = admin or self.admins.get(name) or free_endpoint()
        self.admins[name] = admin
        config = self.c.write(name + ".cfg", zpl({
            "validator": {"key": keyfile, "admin": admin, "threads": 2, "join": join,
                          "resign_on_stop": resign,
                          "resign_timeout_ms": resign_timeout_ms},
            "ca": {"join": self.ca_join},
            "relay": {"rpc": self.relay_rpc, "pub": self.relay_pub,
                      "gossip": self.relay_gossip},
            "store": {"path": self.c.path(name + "-data")},
            "genesis": {"path": self.genesis}}))
        if name in self.validators:
            return self.validators[name].start()
        proc = self.c.start(name, [validator_binary(), "-c", config] + list(extra))
        self.validators[name] = proc
        return proc

    def start_ca(self, policy=None):
        """certchain-ca with key(500) (the genesis CA) on self.ca_join; policy
        is a dict for the policy file's "policy" section."""
        keyfile = self.c.path("ca.key")
        if not os.path.exists(keyfile):
            key(500).save(keyfile)
        #  A port picked just now, and nothing connects before the CA has
        #  bound it: a client reconnecting to a port nobody listens on may
        #  end up connected to itself (TCP self-connect) and hold it.
        self.ca_join = free_endpoint()
        argv = [binary("ca"), "--genesis", self.genesis, "--key", keyfile,
                "--store", self.c.path("ca-data"), "--join", self.ca_join,
                "--relay-rpc", self.relay_rpc, "--relay-pub", self.relay_pub,
                "--relay-gossip", self.relay_gossip]
        if policy:
            argv += ["--policy", self.c.write("policy.zpl", zpl({"policy": policy}))]
        self.ca = self.c.start("ca", argv)
        wait_until(lambda: "join " + self.ca_join in self.ca.log() if self.ca.alive()
                   else sys.exit("ca exited:\n" + self.ca.tail(10)), 20, "the CA started")
        request = proto("Request")()
        request.get_status.SetInParent()
        status = self.call(self.ca_join, request).status
        assert status.service == "ca", status
        return self.ca

    def start_verifier(self):
        self.verifier_query = free_endpoint()
        config = self.c.write("verifier.cfg", zpl({
            "verifier": {"query": self.verifier_query},
            "relay": {"rpc": self.relay_rpc, "pub": self.relay_pub,
                      "gossip": self.relay_gossip},
            "store": {"path": self.c.path("verifier-data")},
            "genesis": {"path": self.genesis}}))
        self.verifier = self.c.start("verifier", [binary("verifier"), "-c", config])
        wait_until(lambda: "query on " + self.verifier_query in self.verifier.log()
                   if self.verifier.alive() else sys.exit("verifier exited:\n"
                                                          + self.verifier.tail(10)),
                   20, "the verifier started")
        return self.verifier

    def verifier_height(self):
        request = proto("Request")()
        request.get_status.SetInParent()
        return self.call(self.verifier_query, request, timeout=1).status.height

    def verifier_validators(self, height=0):
        """The public keys of V(height) at the verifier (0: next height)."""
        request = proto("Request")()
        request.get_validators.height = height
        reply = self.call(self.verifier_query, request)
        assert reply.WhichOneof("kind") == "validators", reply
        return [v.record.pubkey for v in reply.validators.validators]

    def verifier_block(self, height):
        """(Block, BlockHeader) the verifier stored at height, or None."""
        request = proto("Request")()
        request.get_block.height = height
        reply = self.call(self.verifier_query, request)
        if reply.WhichOneof("kind") != "block":
            return None
        block = proto("Block")()
        block.ParseFromString(reply.block)
        header = proto("BlockHeader")()
        header.ParseFromString(block.header)
        return block, header

    def call(self, endpoint, request, timeout=5.0):
        """One request on a fresh DEALER; returns the Reply."""
        sock = self.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(endpoint)
        try:
            request.id = 7
            sock.send_multipart([b"req", request.SerializeToString()])
            if not sock.poll(int(timeout * 1000)):
                raise TimeoutError("no reply from %s" % endpoint)
            frames = sock.recv_multipart()
            reply = proto("Reply")()
            reply.ParseFromString(frames[1])
            return reply
        finally:
            sock.close()

    def status(self, name):
        request = proto("Request")()
        request.get_status.SetInParent()
        reply = self.call(self.admins[name], request)
        assert reply.WhichOneof("kind") == "status", reply
        return reply.status

    def relay_status(self):
        request = proto("Request")()
        request.get_status.SetInParent()
        return self.call(self.relay_rpc, request).status

    def relay_block(self, height):
        request = proto("Request")()
        request.get_block.height = height
        reply = self.call(self.relay_rpc, request)
        if reply.WhichOneof("kind") != "block":
            return None
        block = proto("Block")()
        block.ParseFromString(reply.block)
        header = proto("BlockHeader")()
        header.ParseFromString(block.header)
        return block, header

    def relay_tx_height(self, tx_hash):
        request = proto("Request")()
        request.get_tx.hash = tx_hash
        reply = self.call(self.relay_rpc, request)
        return reply.tx_info.height if reply.WhichOneof("kind") == "tx_info" else None

    def submit(self, envelopes):
        """SubmitTxBatch in chunks; asserts every tx was accepted."""
        for start in range(0, len(envelopes), 500):
            request = proto("Request")()
            for envelope in envelopes[start:start + 500]:
                request.submit_tx_batch.txs.add().CopyFrom(envelope)
            reply = self.call(self.relay_rpc, request, timeout=10)
            assert reply.WhichOneof("kind") == "submit_result", reply
            errors = [r for r in reply.submit_result.results if r.HasField("error")]
            assert not errors, errors[:3]

    def alive(self):
        for name, proc in self.validators.items():
            assert proc.alive(), "%s exited %s:\n%s" % (name, proc.returncode(), proc.tail(30))


def load(net, senders, per_sender, recipient):
    """Signs per_sender transfers from each sender, submits them, waits until
    the relay has all of them committed; returns (count, seconds)."""
    envelopes, last = [], []
    for sender in senders:
        for nonce in range(1, per_sender + 1):
            envelope, tx_hash = transfer(sender, recipient.public, 1, nonce)
            envelopes.append(envelope)
        last.append(tx_hash)
    start_height = net.relay_status().height
    t0 = time.monotonic()
    net.submit(envelopes)
    wait_until(lambda: all(net.relay_tx_height(h) for h in last), 60,
               "all %d transfers committed" % len(envelopes), interval=0.05)
    seconds = time.monotonic() - t0
    blocks = net.relay_status().height - start_height
    return len(envelopes), seconds, blocks


def block_rate(net, seconds=5.0):
    h0 = net.relay_status().height
    t0 = time.monotonic()
    time.sleep(seconds)
    return (net.relay_status().height - h0) / (time.monotonic() - t0)

#  --- Tests -------------------------------------------------------------------------


def test_single_validator():
    need("relay", "validator")
    with Cluster("validator-1") as c:
        v = key(1)
        senders = [key(1000 + i) for i in range(21)]
        recipient = key(2000)
        net = Net(c, [v], senders + [recipient])
        net.start_validator("v1", v)
        wait_until(lambda: net.relay_status().height >= 3, 30, "relay height 3")
        status = net.status("v1")
        assert status.service == "validator", status
        assert status.node == v.hex, status
        assert status.chain_id == CHAIN, status
        assert status.in_set and status.validators == 1, status
        assert status.height >= 3 and len(status.app_hash) == 32, status

        #  One transfer, committed and visible at the relay.
        envelope, tx_hash = transfer(senders[0], recipient.public, 5, 1)
        net.submit([envelope])
        height = wait_until(lambda: net.relay_tx_height(tx_hash), 20, "the transfer committed")
        print("transfer committed at height %d" % height)

        #  Its metrics event reaches the relay's pub (through the gossip).
        sub = net.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, b"evt")
        sub.connect(net.relay_pub)

        def validator_event():
            while sub.poll(100):
                topic, payload = sub.recv_multipart()
                event = proto("MetricsEvent")()
                event.ParseFromString(payload)
                if event.service == "validator" and event.node == v.hex and event.height > 0:
                    return event
            return None
        event = wait_until(validator_event, 10, "a validator metrics event")
        sub.close()
        assert any(counter.name == "uploads" for counter in event.counters), event

        rate = block_rate(net)
        count, seconds, blocks = load(net, senders[1:], 500, recipient)
        print("1 validator: %.1f blocks/s idle; %d transfers committed in %.2f s "
              "(%.0f tx/s, %d blocks)" % (rate, count, seconds, count / seconds, blocks))
        assert net.status("v1").mempool == 0
        net.alive()
        assert rate > 0.5, rate
        #  A clean stop after the load (under ASan: no leak, exit 0).
        assert net.validators["v1"].stop() == 0, net.validators["v1"].tail(20)


def test_four_validators():
    need("relay", "validator")
    with Cluster("validator-4") as c:
        members = [key(i) for i in range(1, 5)]
        senders = [key(1000 + i) for i in range(20)]
        recipient = key(2000)
        net = Net(c, members, senders + [recipient])
        for i, m in enumerate(members, 1):
            net.start_validator("v%d" % i, m)
        wait_until(lambda: net.relay_status().height >= 3, 40, "relay height 3")

        #  Sample every validator's (height, app hash) while the chain runs.
        seen = {}
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            for name in net.validators:
                s = net.status(name)
                assert s.in_set and s.validators == 4, s
                seen.setdefault(s.height, {})[name] = s.app_hash
            time.sleep(0.05)
        net.alive()
        heights = sorted(seen)
        assert heights[-1] - heights[0] >= 2, heights
        proposers = set()
        for height in heights:
            block = net.relay_block(height)
            if block is None:
                continue
            _, header = block
            proposers.add(header.proposer)
            for name, app_hash in seen[height].items():
                assert app_hash == header.app_hash, (height, name)
        shared = [h for h in heights if len(seen[h]) >= 2]
        assert shared, seen
        assert len(proposers) >= 2, "blocks from one proposer only"

        rate = block_rate(net)
        count, seconds, blocks = load(net, senders, 250, recipient)
        print("4 validators: %.1f blocks/s idle; %d transfers committed in %.2f s "
              "(%.0f tx/s, %d blocks); %d heights compared, %d proposers"
              % (rate, count, seconds, count / seconds, blocks, len(heights), len(proposers)))
        net.alive()
        for name, proc in net.validators.items():
            assert proc.stop() == 0, (name, proc.tail(20))


def test_restart():
    need("relay", "validator")
    with Cluster("validator-restart") as c:
        members = [key(i) for i in range(1, 5)]
        #  No pause between heights: a kill lands inside a height more often.
        net = Net(c, members, [key(1000)], params={"timeout_commit_ms": 1})
        for i, m in enumerate(members, 1):
            net.start_validator("v%d" % i, m)
        wait_until(lambda: net.relay_status().height >= 3, 40, "relay height 3")

        #  One of four stops cleanly; the others go on without it.
        v4 = net.validators["v4"]
        stopped_at = net.status("v4").height
        assert v4.stop() == 0, v4.tail(20)
        assert "store closed" in v4.log(), v4.tail(10)
        h = net.relay_status().height
        wait_until(lambda: net.relay_status().height >= h + 3, 30, "3 blocks without v4")

        #  Started again: resumes from its stored tip, catches up, rejoins.
        net.start_validator("v4", members[3])
        first = wait_until(lambda: net.status("v4"), 10, "v4 admin")
        assert first.height >= stopped_at, (first.height, stopped_at)
        target = net.relay_status().height
        wait_until(lambda: net.status("v4").height >= target, 30, "v4 caught up")
        s = net.status("v4")
        block = net.relay_block(s.height)
        assert block and block[1].app_hash == s.app_hash, s.height
        h = net.relay_status().height
        wait_until(lambda: net.status("v4").height >= h + 2, 30, "v4 following")
        net.alive()

        #  All stop and start again: the chain resumes where it was. Then
        #  the same with kill -9 at moments that fall anywhere in a height,
        #  so that some validators die having signed in a round the others
        #  never finished: restarted, each resends what it signed before.
        rng = random.Random(7)
        for cycle in range(4):
            tip = net.relay_status().height
            for name in net.validators:
                if cycle == 0:
                    assert net.validators[name].stop() == 0
                else:
                    net.validators[name].kill()
            for i, m in enumerate(members, 1):
                net.start_validator("v%d" % i, m)
            wait_until(lambda: net.relay_status().height >= tip + 2, 30,
                       "the chain resumed (cycle %d)" % cycle)
            time.sleep(rng.uniform(0.0, 0.4))
        assert "last signed: height" in net.validators["v1"].log()
        net.alive()


def test_relay_refilled():
    need("relay", "validator")
    with Cluster("validator-refill") as c:
        v = key(1)
        net = Net(c, [v], [key(1000)])
        net.start_validator("v1", v)
        wait_until(lambda: net.relay_status().height >= 10, 30, "relay height 10")
        #  The relay loses its store: the validator uploads what it lacks.
        assert net.relay.stop() == 0
        shutil.rmtree(c.path("relay-data"))
        net.relay.start()
        wait_until(lambda: net.relay_status().height >= net.status("v1").height - 1 > 10, 30,
                   "the relay refilled")
        s = net.status("v1")
        block = net.relay_block(10)
        assert block, "block 10 missing at the relay"
        refilled = net.relay_block(s.height - 1)
        assert refilled, "block %d missing at the relay" % (s.height - 1)
        net.alive()
        assert "uploading the missing blocks" in net.validators["v1"].log()


def test_outsider_follows():
    need("relay", "validator")
    with Cluster("validator-outsider") as c:
        member, outsider = key(1), key(99)
        net = Net(c, [member], [key(1000)])
        net.start_validator("v1", member)
        net.start_validator("out", outsider)
        wait_until(lambda: net.relay_status().height >= 10, 30, "relay height 10")
        target = net.relay_status().height
        wait_until(lambda: net.status("out").height >= target, 20, "the outsider following")
        s = net.status("out")
        assert not s.in_set and s.validators == 1, s
        assert s.node == outsider.hex
        wait_until(lambda: "not in the validator set at height" in net.validators["out"].log(),
                   5, "the waiting line")
        assert net.validators["out"].log().count("not in the validator set") == 1
        block = net.relay_block(s.height)
        assert block and block[1].app_hash == s.app_hash
        net.alive()


def test_config_errors():
    need("validator")
    with Cluster("validator-config") as c:
        k = key(1)
        genesis = c.write("genesis.zpl", genesis_text([k], [key(1000)]))
        loose = k.save(c.path("loose.key"), mode=0o644)
        base = [validator_binary(), "--genesis", genesis, "--store", c.path("data"),
                "--relay-rpc", free_endpoint(), "--relay-pub", free_endpoint(),
                "--relay-gossip", free_endpoint()]
        r = run(base + ["--key", loose, "--admin", free_endpoint()], check=False, timeout=20)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert "chmod 600" in r.stderr and r.stderr.count("\n") <= 2, r.stderr

        r = run(base + ["--threads", "zero"], check=False, timeout=20)
        assert r.returncode == 2 and "validator/threads" in r.stderr, r.stderr

        r = run(base + ["--print-config"], check=False, timeout=20)
        assert r.returncode == 0 and "mempool" in r.stdout and "max_txs" in r.stdout, r.stdout

        good = k.save(c.path("good.key"))
        admin = free_endpoint()
        port = int(admin.rsplit(":", 1)[1])
        holder = socket.socket()
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        try:
            r = run(base + ["--key", good, "--admin", admin], check=False, timeout=20)
        finally:
            holder.close()
        assert r.returncode == 1 and "validator/admin" in r.stderr, (r.returncode, r.stderr)

        #  A clean stop right after start: exit 0.
        p = subprocess.Popen(base + ["--key", good, "--admin", free_endpoint()],
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
        assert p.returncode == 0, (p.returncode, err)
        assert "store closed" in err, err


#  --- Certification (issue 4) -------------------------------------------------------


def log_time(line):
    """Wall time (seconds) of a log line's ISO stamp."""
    stamp = line.split(" ", 1)[0]
    moment = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def log_lines(proc, text):
    return [line for line in proc.log().splitlines() if text in line]


def certified(proc):
    """(height of the Certify, ms from the join request to its commit) from
    the validator's "certified" line, or None."""
    match = re.search(r"certified: Certify \w+ committed at height (\d+), valid until height "
                      r"\d+; (\d+) ms from the join request to the commit", proc.log())
    return (int(match.group(1)), int(match.group(2))) if match else None


def cert_net(c, members, params=None, resign=0):
    """Relay, genesis members (started), verifier; the CA is started by the test."""
    net = Net(c, members, [key(1000)], params=params)
    for i, m in enumerate(members, 1):
        net.start_validator("v%d" % i, m, resign=resign)
    wait_until(lambda: net.relay_status().height >= 2, 40, "relay height 2")
    net.start_verifier()
    return net


def others_alive(net, *names):
    for name, proc in net.validators.items():
        if name not in names:
            assert proc.alive(), "%s exited %s:\n%s" % (name, proc.returncode(), proc.tail(30))


def test_join_then_resign():
    need("relay", "validator", "verifier", "ca")
    with Cluster("validator-join") as c:
        members = [key(i) for i in range(1, 5)]
        net = cert_net(c, members, resign=1)
        net.start_ca()
        joiner = key(60)
        t0 = time.monotonic()
        proc = net.start_validator("joiner", joiner, resign=1)
        wait_until(lambda: net.status("joiner").join_state == "member", 60,
                   "the joiner certified")
        seconds = time.monotonic() - t0
        assert "join accepted: measured score" in proc.log(), proc.tail(20)
        height, join_ms = certified(proc)
        status = net.status("joiner")
        assert status.in_set and status.validators == 5, status
        assert status.valid_until > height + 1, status
        genesis_status = net.status("v1")
        assert genesis_status.join_state == "member", genesis_status
        assert genesis_status.valid_until == 2 ** 64 - 1, genesis_status

        #  The verifier: V(h) without it, V(h + 1) with it, and blocks it proposed.
        wait_until(lambda: net.verifier_height() >= height + 1, 30, "the verifier at the Certify")
        assert joiner.public not in net.verifier_validators(height)
        assert joiner.public in net.verifier_validators(height + 1)
        assert joiner.public in net.verifier_validators()

        def proposed():
            for h in range(height + 1, net.verifier_height() + 1):
                block = net.verifier_block(h)
                if block and block[1].proposer == joiner.public:
                    return h
            return None
        first = wait_until(proposed, 30, "a block proposed by the joiner at the verifier")
        print("join: certified in %d ms from the join request to the Certify's commit "
              "(height %d), %.1f s from process start to member; first block proposed "
              "by it stored by the verifier at height %d" % (join_ms, height, seconds, first))
        others_alive(net)

        #  A genesis member stopped with SIGTERM resigns first.
        leaver = net.validators["v1"]
        t1 = time.monotonic()
        assert leaver.stop(timeout=40) == 0, leaver.tail(30)
        stop_seconds = time.monotonic() - t1
        log = leaver.log()
        assert "stopping: resigning from the validator set first" in log, leaver.tail(20)
        match = re.search(r"resign committed at height (\d+)", log)
        assert match, leaver.tail(20)
        resigned = int(match.group(1))
        assert "out of the validator set from height %d" % (resigned + 1) in log
        assert "store closed" in log
        wait_until(lambda: net.verifier_height() >= resigned + 3, 30,
                   "the chain committing after the Resign")
        assert members[0].public in net.verifier_validators(resigned)
        assert members[0].public not in net.verifier_validators(resigned + 1)
        after = net.verifier_validators()
        assert len(after) == 4 and joiner.public in after, after
        print("resign: SIGTERM to exit %.2f s, Resign committed at height %d; the chain "
              "went on to height %d" % (stop_seconds, resigned, net.verifier_height()))
        others_alive(net, "v1")


def test_join_refused_backoff():
    need("relay", "validator", "ca")
    with Cluster("validator-refused") as c:
        net = Net(c, [key(1)], [key(1000)])
        net.start_validator("v1", key(1))
        wait_until(lambda: net.relay_status().height >= 2, 30, "relay height 2")
        net.start_ca(policy={"min_cpu_cores": 512, "backoff_ms": 3000})
        proc = net.start_validator("joiner", key(61))
        refusal = "join refused by the CA: PROFILE_BELOW_POLICY: "
        wait_until(lambda: len(log_lines(proc, refusal)) >= 2, 40, "two refusals")
        refusals = log_lines(proc, refusal)
        starts = log_lines(proc, "joining (not a member of the set): measuring")
        assert "cpu_cores" in refusals[0] and "< 512" in refusals[0], refusals[0]
        assert "(next try in 3000 ms)" in refusals[0], refusals[0]
        assert len(starts) >= 2, starts
        waited = log_time(starts[1]) - log_time(refusals[0])
        #  Log stamps are cut to the millisecond: allow that much.
        assert waited >= 2.998, "asked again %.3f s after the refusal" % waited
        assert "RATE_LIMITED" not in proc.log(), proc.tail(10)
        status = net.status("joiner")
        assert not status.in_set and status.join_state in ("backoff", "requesting"), status
        assert status.valid_until == 0, status
        print("refused: asked again %.2f s after a refusal with a 3 s back-off" % waited)
        net.alive()


def test_renewal():
    need("relay", "validator", "verifier", "ca")
    with Cluster("validator-renewal") as c:
        members = [key(i) for i in range(1, 5)]
        net = cert_net(c, members, params={"cert_validity": 40, "timeout_commit_ms": 300})
        net.start_ca(policy={"backoff_ms": 1000})
        joiner = key(62)
        proc = net.start_validator("joiner", joiner)
        wait_until(lambda: net.status("joiner").join_state == "member", 60,
                   "the joiner certified")
        height, _ = certified(proc)
        first_until = net.status("joiner").valid_until
        assert height + 1 < first_until <= height + 42, (height, first_until)
        #  Renewed before the end, without leaving the set.
        wait_until(lambda: net.status("joiner").valid_until > first_until, 60, "the renewal")
        renewed_until = net.status("joiner").valid_until
        wait_until(lambda: net.verifier_height() >= first_until + 2, 60,
                   "the verifier past the first expiry")
        for h in range(height + 1, first_until + 3):
            assert joiner.public in net.verifier_validators(h), "not in V(%d)" % h
        log = proc.log()
        assert "join (renewal) accepted" in log and "certified (renewed)" in log, proc.tail(20)
        renewed = re.search(r"certified \(renewed\): Certify \w+ committed at height (\d+)", log)
        print("renewal: certificate until %d renewed at height %d (until %d); in the set at "
              "every height from %d to %d" % (first_until, int(renewed.group(1)), renewed_until,
                                              height + 1, first_until + 2))
        net.alive()


def test_stop_bounded():
    need("relay", "validator")
    with Cluster("validator-stop") as c:
        members = [key(1), key(2)]
        net = Net(c, members, [key(1000)])
        net.start_validator("v1", members[0], resign=1, resign_timeout_ms=2000)
        net.start_validator("v2", members[1])
        wait_until(lambda: net.relay_status().height >= 3, 30, "relay height 3")
        #  Without v2 there is no quorum: the Resign cannot be committed, and
        #  the wait for it ends after resign_timeout_ms.
        net.validators["v2"].kill()
        v1 = net.validators["v1"]
        t0 = time.monotonic()
        assert v1.stop(timeout=20) == 0, v1.tail(20)
        waited = time.monotonic() - t0
        assert 2.0 <= waited < 8.0, waited
        assert "the Resign was not committed within 2000 ms" in v1.log(), v1.tail(10)
        #  Still a member when it comes back; a second signal ends the wait.
        net.start_validator("v1", members[0], resign=1, resign_timeout_ms=60000)
        wait_until(lambda: net.status("v1").join_state == "member", 20, "v1 back, a member")
        v1.popen.send_signal(signal.SIGTERM)
        wait_until(lambda: v1.log().count("stopping: resigning") == 2, 10, "the second stop")
        t0 = time.monotonic()
        v1.popen.send_signal(signal.SIGTERM)
        assert v1.wait(10) == 0, v1.tail(20)
        v1.stopped = True
        assert time.monotonic() - t0 < 5.0
        log = v1.log()
        assert "second signal: exiting now" in log and log.count("store closed") == 2, log[-2000:]


if __name__ == "__main__":
    run_tests(globals())
