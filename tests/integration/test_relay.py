"""Integration test of certchain-relay as a process: its command line and
exit codes, clean stops, the rpc socket (SubmitTx, SubmitTxBatch, GetStatus
and the reads of an empty chain), gossip forwarding with dedupe and counted
drops, its metrics event, and UploadBlock refusals of forged blocks (with
certchain-forge, when it is built).

Storing real blocks through UploadBlock is covered in-process by the relay's
own Check test (services/relay/test_relay.c, suite unit), which builds and
seals blocks with libcertchain; the network tests cover it end to end.

The test speaks the wire directly: [type][protobuf] frames over python3-zmq,
with the few protobuf messages it needs encoded and decoded by the small
codec below (field numbers from proto/*.proto). The relay does not verify
transaction signatures, so transactions here carry well-formed but random
signatures; the genesis needs valid Ed25519 public keys, derived below from
fixed seeds in pure Python.
"""

import hashlib
import json
import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zmq  # noqa: E402  (python3-zmq)

from harness import (f_bytes, f_int, one, parse, zigzag,  # noqa: E402
                     Cluster, Skip, binary, forge, free_endpoint, free_port,  # noqa: E402
                     have, run, run_tests, wait_until)

CHAIN = "relay-test"

def H(data):
    return hashlib.blake2b(data, digest_size=32).digest()


ERROR_NAMES = {4: "MALFORMED", 5: "OVERSIZE", 7: "NOT_FOUND", 12: "UNSUPPORTED",
               14: "BAD_FIELD", 21: "WRONG_CHAIN", 36: "DUPLICATE", 39: "NO_PAYLOAD",
               60: "WRONG_HEIGHT", 50: "UNAUTHORIZED_PROPOSER"}


def error_of(fields):
    """(name, message) of an Error message's fields."""
    code = zigzag(one(fields, 1, 0))
    name = one(fields, 3, b"").decode()
    assert not name or ERROR_NAMES.get(code, name) == name, (code, name)
    return name, one(fields, 2, b"").decode()

#  --- Ed25519 public keys from seeds (RFC 8032, pure Python) ------------------


_P = 2 ** 255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_I = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _I % _P
    if x & 1 != sign:
        x = _P - x
    return x


_BY = 4 * pow(5, _P - 2, _P) % _P
_B = (_recover_x(_BY, 0), _BY)


def _add(a, b):
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    return ((x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P,
            (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P)


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    point, q = (0, 1), _B
    while a:
        if a & 1:
            point = _add(point, q)
        q = _add(q, q)
        a >>= 1
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


#  RFC 8032 test 1: the derivation above is right or the test stops here.
assert ed25519_public(bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")).hex() == \
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def pubkey(n):
    return ed25519_public(bytes([0x52, n]) + bytes(30))

#  --- Messages ---------------------------------------------------------------


def tx_body(signer, nonce, to=None, amount=5, chain=CHAIN, fee=1):
    transfer = f_bytes(1, to if to is not None else pubkey(200)) + f_int(2, amount)
    return (f_bytes(1, chain) + f_bytes(2, signer) + f_int(3, nonce) + f_int(4, fee)
            + f_bytes(10, transfer))


def signed(body, signer, signature=None):
    return (f_bytes(1, body) + f_bytes(2, signature if signature is not None else os.urandom(64))
            + f_bytes(3, signer))


def transfer(nonce, signer=None, **kw):
    """(envelope bytes, tx hash) of a transfer with a random signature."""
    signer = signer or pubkey(100)
    body = tx_body(signer, nonce, **kw)
    return signed(body, signer), H(body)


def vote_message(height, round_=0, validator=None):
    validator = validator or pubkey(1)
    vote = f_int(1, 1) + f_int(2, height) + f_int(3, round_) + f_bytes(4, H(b"block")) \
        + f_bytes(5, validator)
    return f_bytes(11, signed(vote, validator))


def request(rid, number, body=b""):
    return f_int(1, rid) + f_bytes(number, body)

#  --- A relay under test -----------------------------------------------------


GENESIS_TIME = 1764147600000


def write_genesis(cluster, cas=1, validators=2, ca_keys=None, validator_keys=None):
    """A genesis of producing CAs and validators (public keys derived from
    fixed seeds, or the given ones) and one funded account."""
    ca_keys = ca_keys or [pubkey(1 + i) for i in range(cas)]
    validator_keys = validator_keys if validator_keys is not None else \
        [pubkey(10 + i) for i in range(validators)]
    lines = ["chain", '    id = "%s"' % CHAIN, "    time_ms = %d" % GENESIS_TIME, "ca"]
    for i, key in enumerate(ca_keys):
        lines += ["    %d" % (i + 1), '        pubkey = "%s"' % key.hex(), "        produces = 1"]
    if validator_keys:
        lines.append("validator")
    for i, key in enumerate(validator_keys):
        lines += ["    %d" % (i + 1), '        pubkey = "%s"' % key.hex()]
    lines += ["account", "    1", '        address = "%s"' % pubkey(100).hex(),
              "        balance = 1000000"]
    return cluster.write("genesis.zpl", "\n".join(lines) + "\n")


class Relay:
    """A relay process with its own ports, store and genesis in cluster."""

    def __init__(self, cluster, name="relay", extra=(), genesis=None):
        self.cluster = cluster
        self.rpc, self.pub, self.gossip = free_endpoint(), free_endpoint(), free_endpoint()
        self.store = cluster.path(name + "-data")
        self.genesis = genesis or write_genesis(cluster)
        self.argv = [binary("relay"), "--rpc", self.rpc, "--pub", self.pub,
                     "--gossip", self.gossip, "--store", self.store,
                     "--genesis", self.genesis] + list(extra)
        self.proc = cluster.start(name, self.argv)
        self.ctx = zmq.Context.instance()
        self.dealer = self.ctx.socket(zmq.DEALER)
        self.dealer.setsockopt(zmq.LINGER, 0)
        self.dealer.connect(self.rpc)
        self.next_id = 1
        wait_until(lambda: self.status(timeout=500), 15, "the relay answering GetStatus")

    def call(self, number, body=b"", timeout=5000):
        """Sends one request; returns the Reply's fields."""
        rid = self.next_id
        self.next_id += 1
        self.dealer.send_multipart([b"req", request(rid, number, body)])
        deadline = time.monotonic() + timeout / 1000.0
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0 or not self.dealer.poll(left):
                raise TimeoutError("no reply to request %d" % rid)
            frames = self.dealer.recv_multipart()
            assert frames[0] == b"rep" and len(frames) == 2, frames
            reply = parse(frames[1])
            if one(reply, 1, 0) == rid:
                return reply

    def status(self, timeout=5000):
        reply = self.call(16, b"", timeout)
        return parse(one(reply, 14))

    def subscriber(self, topic=b""):
        sub = self.ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.SUBSCRIBE, topic)
        sub.connect(self.pub)
        return sub

    def publisher(self):
        pub = self.ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.LINGER, 0)
        pub.connect(self.gossip)
        return pub

    def event(self, sub, timeout=5.0):
        """The relay's next own MetricsEvent on sub (subscribed to evt):
        (fields, {counter: value})."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not sub.poll(100):
                continue
            topic, payload = sub.recv_multipart()
            event = parse(payload)
            if topic == b"evt" and one(event, 1) == b"relay":
                counters = {}
                for c in event.get(11, []):
                    c = parse(c)
                    counters[one(c, 1).decode()] = one(c, 2, 0)
                return event, counters
        raise TimeoutError("no relay metrics event")

    def close(self):
        self.dealer.close()
        return self.proc.stop()


def submit(relay, envelope):
    """SubmitTx: ("ok", hash) or (error name, message)."""
    reply = relay.call(10, f_bytes(1, envelope))
    if 10 in reply:
        return error_of(parse(one(reply, 10)))
    results = parse(one(reply, 11)).get(1, [])
    assert len(results) == 1, results
    return "ok", one(parse(results[0]), 1)


def batch_txs(payload):
    """The Signed envelopes of a TxBatch (topic "txb"), in order."""
    return parse(payload).get(1, [])


def recv_txs(sub, timeout=0.5):
    """Every transaction published on "txb" until timeout passes without one."""
    got = []
    while True:
        frames = recv_topic(sub, b"txb", timeout)
        if not frames:
            return got
        assert len(frames) == 2, frames
        got.extend(batch_txs(frames[1]))


def recv_topic(sub, topic, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sub.poll(100):
            frames = sub.recv_multipart()
            if frames[0] == topic:
                return frames
    return None

#  --- Command line and process ---------------------------------------------


def test_print_config():
    r = run([binary("relay"), "--print-config", "--rpc", "tcp://127.0.0.1:9999"])
    assert 'rpc = "tcp://127.0.0.1:9999"' in r.stdout, r.stdout
    for expected in ('pub = "tcp://127.0.0.1:7102"', 'gossip = "tcp://127.0.0.1:7103"',
                     'unsafe_skip_checks = "0"', 'max_message_kb = "16384"',
                     'path = "./relay-data"', 'level = "info"', 'cache_mb = "8"'):
        assert expected in r.stdout, (expected, r.stdout)
    with Cluster("relay-cfg") as c:
        #  The printed configuration loads again, and a file is overridden by flags.
        path = c.write("relay.zpl", r.stdout)
        again = run([binary("relay"), "-c", path, "--print-config", "--pub", "tcp://127.0.0.1:1"])
        assert 'rpc = "tcp://127.0.0.1:9999"' in again.stdout
        assert 'pub = "tcp://127.0.0.1:1"' in again.stdout
    r = run([binary("relay"), "--help"])
    assert "--unsafe-skip-checks" in r.stdout and "--max-message-kb" in r.stdout


def test_bad_config_exits_2():
    with Cluster("relay-bad") as c:
        genesis = write_genesis(c)
        cases = [
            ["--bogus", "1"],
            ["--max-message-kb", "lots"],
            ["--max-message-kb", "1"],
            ["--unsafe-skip-checks", "maybe"],
            ["--log-level", "loud"],
            ["--rpc"],
            ["-c", c.write("bad.zpl", "relay\n    colour = \"red\"\n")],
            ["-c", c.path("missing.zpl")],
            ["--genesis", c.path("missing-genesis.zpl")],
            ["--genesis", c.write("broken.zpl", "chain\n    id = \"x\"\n")],
        ]
        for extra in cases:
            argv = [binary("relay"), "--genesis", genesis, "--store", c.path("data"),
                    "--rpc", free_endpoint(), "--pub", free_endpoint(),
                    "--gossip", free_endpoint()] + extra
            r = run(argv, check=False, timeout=20)
            assert r.returncode == 2, (extra, r.returncode, r.stderr)
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, (extra, r.stderr)


def test_occupied_port_exits_1():
    with Cluster("relay-port") as c:
        genesis = write_genesis(c)
        port = free_port()
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", port))
        holder.listen(1)
        try:
            for key in ("--rpc", "--pub", "--gossip"):
                endpoints = {"--rpc": free_endpoint(), "--pub": free_endpoint(),
                             "--gossip": free_endpoint()}
                endpoints[key] = "tcp://127.0.0.1:%d" % port
                argv = [binary("relay"), "--genesis", genesis, "--store", c.path("data")]
                for k, v in endpoints.items():
                    argv += [k, v]
                r = run(argv, check=False, timeout=20)
                assert r.returncode == 1, (key, r.returncode, r.stderr)
                lines = [line for line in r.stderr.splitlines() if line.strip()]
                assert len(lines) == 1 and "relay/" + key[2:] in lines[0], (key, r.stderr)
                assert str(port) in lines[0], r.stderr
        finally:
            holder.close()


def test_store_held_exits_1():
    with Cluster("relay-store") as c:
        first = Relay(c)
        argv = [binary("relay"), "--genesis", first.genesis, "--store", first.store,
                "--rpc", free_endpoint(), "--pub", free_endpoint(), "--gossip", free_endpoint()]
        r = run(argv, check=False, timeout=20)
        assert r.returncode == 1, (r.returncode, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "store" in lines[0], r.stderr
        first.close()


def test_sigterm_and_sigint_stop_cleanly():
    with Cluster("relay-stop") as c:
        relay = Relay(c)
        envelope, tx_hash = transfer(1)
        assert submit(relay, envelope)[0] == "ok"
        t0 = time.monotonic()
        assert relay.close() == 0, relay.proc.tail()
        assert time.monotonic() - t0 < 5
        #  The store was closed: a second relay opens it at once.
        again = c.start("relay2", relay.argv)
        dealer = zmq.Context.instance().socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        dealer.connect(relay.rpc)
        relay.dealer = dealer
        relay.proc = again
        wait_until(lambda: relay.status(timeout=500), 15, "the restarted relay")
        relay.proc.popen.send_signal(signal.SIGINT)
        assert relay.proc.wait(10) == 0, relay.proc.tail()
        dealer.close()
        assert "stopping at height 0" in relay.proc.log()

#  --- Transactions -------------------------------------------------------------


def test_submit_tx():
    with Cluster("relay-submit") as c:
        relay = Relay(c)
        sub = relay.subscriber(b"txb")
        time.sleep(0.3)
        envelope, tx_hash = transfer(1)
        assert submit(relay, envelope) == ("ok", tx_hash)
        #  Published as a TxBatch of one, holding the envelope as sent.
        frames = recv_topic(sub, b"txb")
        assert frames is not None and frames[0] == b"txb", frames
        assert batch_txs(frames[1]) == [envelope], frames
        #  The same transaction again is refused, and not published again.
        name, message = submit(relay, envelope)
        assert name == "DUPLICATE", (name, message)
        assert recv_topic(sub, b"txb", 0.5) is None
        #  Malformed: a body that is not a TxBody.
        signer = pubkey(100)
        assert submit(relay, signed(b"\xff\xff\xff", signer))[0] == "MALFORMED"
        #  A SubmitTx without a transaction.
        reply = relay.call(10, b"")
        assert error_of(parse(one(reply, 10)))[0] == "MALFORMED"
        #  Field sizes: a 10-byte signer, a short signature.
        assert submit(relay, signed(tx_body(signer, 2), signer[:10]))[0] == "BAD_FIELD"
        assert submit(relay, signed(tx_body(signer, 2), signer, b"x" * 10))[0] == "BAD_FIELD"
        #  Body rules without the signature: another chain, no payload,
        #  a body signer that is not the envelope's.
        assert submit(relay, transfer(3, chain="other")[0])[0] == "WRONG_CHAIN"
        no_payload = f_bytes(1, CHAIN) + f_bytes(2, signer) + f_int(3, 4)
        assert submit(relay, signed(no_payload, signer))[0] == "NO_PAYLOAD"
        assert submit(relay, signed(tx_body(pubkey(101), 5), signer))[0] == "BAD_FIELD"
        #  Oversized: a transaction over 64 KiB.
        big = tx_body(signer, 6) + f_bytes(15, b"p" * (70 * 1024))
        assert submit(relay, signed(big, signer))[0] == "OVERSIZE"
        #  A forged copy (same body, other signature) is not kept out by
        #  the first one: the relay does not verify, the mempools do.
        forged = signed(tx_body(signer, 7), signer)
        genuine = signed(tx_body(signer, 7), signer)
        assert submit(relay, forged)[0] == "ok"
        assert submit(relay, genuine)[0] == "ok"
        #  Nothing refused reached the subscribers.
        got = recv_txs(sub)
        assert got == [forged, genuine], len(got)
        evt = relay.subscriber(b"evt")
        event, counters = relay.event(evt)
        assert counters.get("submitted") == 3, counters
        assert counters.get("refused.DUPLICATE") == 1, counters
        assert counters.get("refused.MALFORMED") == 2, counters
        assert counters.get("refused.OVERSIZE") == 1, counters
        sub.close()
        evt.close()
        assert relay.close() == 0


def test_submit_tx_batch():
    with Cluster("relay-batch") as c:
        relay = Relay(c)
        sub = relay.subscriber(b"txb")
        time.sleep(0.3)
        first, first_hash = transfer(1)
        second, second_hash = transfer(2)
        signer = pubkey(100)
        malformed = signed(b"\x0a\xff", signer)
        batch = b"".join(f_bytes(1, e) for e in (first, first, malformed, second))
        reply = relay.call(11, batch)
        results = [parse(r) for r in parse(one(reply, 11)).get(1, [])]
        assert len(results) == 4, results
        assert one(results[0], 1) == first_hash and 2 not in results[0]
        assert one(results[1], 1) == first_hash
        assert error_of(parse(one(results[1], 2)))[0] == "DUPLICATE"
        assert error_of(parse(one(results[2], 2)))[0] == "MALFORMED"
        assert one(results[3], 1) == second_hash and 2 not in results[3]
        #  The accepted ones went out together, as one TxBatch, in order.
        frames = recv_topic(sub, b"txb")
        assert frames is not None and batch_txs(frames[1]) == [first, second], frames
        assert recv_topic(sub, b"txb", 0.5) is None
        #  An empty batch answers an empty result list.
        reply = relay.call(11, b"")
        assert 11 in reply and not parse(one(reply, 11)).get(1)
        #  A batch over the limit is refused whole.
        tiny = f_bytes(1, b"")
        reply = relay.call(11, tiny * 10001)
        assert error_of(parse(one(reply, 10)))[0] == "OVERSIZE"
        #  A batch submitted again: every tx a duplicate.
        reply = relay.call(11, f_bytes(1, first) + f_bytes(1, second))
        results = [parse(r) for r in parse(one(reply, 11)).get(1, [])]
        assert [error_of(parse(one(r, 2)))[0] for r in results] == ["DUPLICATE"] * 2
        assert recv_txs(sub) == []
        sub.close()
        assert relay.close() == 0

#  --- Reads ----------------------------------------------------------------------


def test_status_and_reads_of_an_empty_chain():
    with Cluster("relay-status") as c:
        relay = Relay(c, genesis=write_genesis(c, cas=2, validators=3))
        status = relay.status()
        assert one(status, 1) == b"relay"
        assert one(status, 3) == CHAIN.encode()
        assert one(status, 4, 0) == 0
        genesis_hash = one(status, 12)
        assert len(genesis_hash) == 32
        #  At height 0 the tip is the genesis.
        assert one(status, 5) == genesis_hash
        assert len(one(status, 6)) == 32
        assert one(status, 10) == 5, status
        #  GetBlock latest / by height / by hash, GetBlocks, GetTx: nothing yet.
        for body in (b"", f_int(1, 1), f_bytes(2, H(b"nothing"))):
            reply = relay.call(14, body)
            assert error_of(parse(one(reply, 10)))[0] == "NOT_FOUND", body
        reply = relay.call(14, f_bytes(2, b"short"))
        assert error_of(parse(one(reply, 10)))[0] == "BAD_FIELD"
        reply = relay.call(13, f_int(1, 1) + f_int(2, 10))
        assert 12 in reply and not parse(one(reply, 12)).get(1)
        reply = relay.call(15, f_bytes(1, H(b"tx")))
        assert error_of(parse(one(reply, 10)))[0] == "NOT_FOUND"
        reply = relay.call(15, f_bytes(1, b"abc"))
        assert error_of(parse(one(reply, 10)))[0] == "BAD_FIELD"
        #  Requests the relay does not serve, and junk on the rpc socket.
        reply = relay.call(17, f_bytes(1, pubkey(100)))
        assert error_of(parse(one(reply, 10)))[0] == "UNSUPPORTED"
        for frames in ([b"req", b"\xff\xff\xff"], [b"what", b""], [b"req"],
                       [b"req", b"", b"extra"]):
            relay.dealer.send_multipart(frames)
            assert relay.dealer.poll(3000), frames
            reply = relay.dealer.recv_multipart()
            assert reply[0] == b"rep"
            assert error_of(parse(one(parse(reply[1]), 10)))[0] in ("MALFORMED", "UNSUPPORTED")
        #  UploadBlock of junk is refused (the relay verifies).
        reply = relay.call(12, f_bytes(1, b"\x0a\x03abc\xff"))
        assert error_of(parse(one(reply, 10)))[0] in ("MALFORMED", "BAD_FIELD")
        assert relay.status() and relay.proc.alive()
        assert relay.close() == 0

#  --- Gossip -------------------------------------------------------------------------


def test_gossip_forwarded_once_and_junk_dropped():
    with Cluster("relay-gossip") as c:
        relay = Relay(c)
        sub = relay.subscriber()
        pub = relay.publisher()
        #  Wait until the relay's subscription reached our PUB: probe with
        #  distinct events until one comes back.
        probe = [0]

        def probe_through():
            probe[0] += 1
            payload = f_bytes(1, "probe") + f_int(3, probe[0])
            pub.send_multipart([b"evt", payload])
            frames = recv_topic(sub, b"evt", 0.3)
            return frames is not None and frames[1] == payload
        wait_until(probe_through, 10, "gossip reaching the relay")
        #  The same vote twice: forwarded once.
        vote = vote_message(7)
        pub.send_multipart([b"cns", vote])
        pub.send_multipart([b"cns", vote])
        #  Junk of every kind, then a second, different vote as a marker.
        signer = pubkey(1)
        bad_vote = f_bytes(11, signed(f_int(1, 9) + f_bytes(5, signer), signer))
        junk = [
            [b"cns", os.urandom(40)],                   # not a ConsensusMessage
            [b"cns", b""],                              # neither vote nor proposal
            [b"cns", bad_vote],                         # vote type 9
            [b"tx", b"\xff\x01"],                       # not a Signed
            [b"tx", signed(b"\xff", signer)],           # body not a TxBody
            [b"txb", b"\xff\x01"],                      # not a TxBatch
            [b"txb", f_bytes(1, signed(b"\xff", signer))],  # a tx in it not a TxBody
            [b"evt", b"\xff\xff"],                      # not a MetricsEvent
            [b"blk", b"\x00"],                          # blocks come by UploadBlock only
            [b"xyz", b"hello"],                         # unknown topic
            [b"cns", vote, b"third frame"],             # three frames
            [b"cns"],                                   # one frame
        ]
        for frames in junk:
            pub.send_multipart(frames)
        marker = vote_message(8)
        envelope, _ = transfer(1)
        pub.send_multipart([b"tx", envelope])
        batch = f_bytes(1, transfer(2)[0]) + f_bytes(1, transfer(3)[0])
        pub.send_multipart([b"txb", batch])
        pub.send_multipart([b"cns", marker])
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not sub.poll(200):
                if marker in got:
                    break
                continue
            frames = sub.recv_multipart()
            if frames[0] != b"evt":
                got.append(frames[1])
                assert len(frames) == 2, frames
        assert got.count(vote) == 1, "vote forwarded %d times" % got.count(vote)
        assert got.count(marker) == 1
        assert got.count(envelope) == 1
        assert got.count(batch) == 1
        assert len(got) == 4, "%d messages forwarded" % len(got)
        #  Every drop counted, by reason.
        evt = relay.subscriber(b"evt")

        def counted():
            event, counters = relay.event(evt)
            return counters if counters.get("drop.DUPLICATE") == 1 else None
        counters = wait_until(counted, 5, "the drops in the metrics event")
        assert counters.get("drop.MALFORMED", 0) >= 7, counters
        assert counters.get("drop.BAD_FIELD", 0) >= 1, counters
        assert counters.get("drop.UNSUPPORTED", 0) == 2, counters
        assert counters.get("forwarded", 0) >= 5, counters
        assert relay.proc.alive() and relay.status()
        for s in (sub, pub, evt):
            s.close()
        assert relay.close() == 0


def test_metrics_event_every_second():
    with Cluster("relay-evt") as c:
        relay = Relay(c)
        sub = relay.subscriber(b"evt")
        first, _ = relay.event(sub, 5)
        second, _ = relay.event(sub, 5)
        t1, t2 = one(first, 3), one(second, 3)
        assert 500 <= t2 - t1 <= 2000, (t1, t2)
        assert one(first, 4, 0) == 0
        sub.close()
        assert relay.close() == 0

#  --- Blocks (with certchain-forge) -------------------------------------------------


def forge_json(*args):
    """certchain-forge's JSON object (its last line of output)."""
    r = forge(*args, check=False)
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert lines, (r.returncode, r.stderr)
    return json.loads(lines[-1])


def test_upload_refuses_forged_blocks():
    if not have("forge"):
        raise Skip("certchain-forge not built")
    with Cluster("relay-upload") as c:
        keys = c.mkdir("keys")
        made = forge_json("keys", "--dir", keys, "--count", 4)["keys"]
        members = [bytes.fromhex(k["pubkey"]) for k in made]
        genesis = write_genesis(c, ca_keys=members[:1], validator_keys=members[1:])
        relay = Relay(c, genesis=genesis)
        #  A key never certified; a member out of its turn; a commit of q - 1.
        expected = [("rogue-block", [], "UNAUTHORIZED_PROPOSER"),
                    ("out-of-turn", ["--keys", keys], "NOT_SCHEDULED"),
                    ("below-quorum", ["--keys", keys], "COMMIT_BELOW_QUORUM")]
        for command, extra, name in expected:
            result = forge_json(command, "--genesis", genesis, "--relay-rpc", relay.rpc, *extra)
            error = result.get("error") or {}
            assert error.get("name") == name, (command, result)
        status = relay.status()
        assert one(status, 4, 0) == 0
        assert one(status, 9, 0) == 3, status
        assert relay.proc.log().count("refused block 1") == 3
        assert relay.close() == 0


def test_unsafe_skip_checks_publishes_unverified():
    with Cluster("relay-unsafe") as c:
        relay = Relay(c, extra=["--unsafe-skip-checks"])
        assert "UNSAFE" in relay.proc.log()
        sub = relay.subscriber(b"blk")
        time.sleep(0.3)
        junk = b"not a block at all"
        reply = relay.call(12, f_bytes(1, junk))
        assert one(reply, 19) == 1, reply
        assert recv_topic(sub, b"blk") == [b"blk", junk]
        assert one(relay.status(), 4, 0) == 0
        sub.close()
        assert relay.close() == 0


if __name__ == "__main__":
    run_tests(globals())
