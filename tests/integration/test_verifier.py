"""Integration test of certchain-verifier as a process, against a real
certchain-relay: a fresh start with an empty chain, its query API (GetStatus,
GetValidators, GetAccount, GetBlock, GetTx, ListDiscarded) and the errors it
answers to bad requests, its metrics event, its command line and exit codes,
clean stops, and (with certchain-forge) a rogue block on its feed discarded,
logged, counted and listed.

Blocks flowing in from validators (catch-up, every block stored exactly
once, restarts) are the network tests' (test_network.py, test_faults.py);
the verifier's catch-up logic is unit-tested in tests/unit/test_sync.c.

Keys and the genesis come from the harness's Network (certchain-forge keys,
`certchain genesis`); only the relay and the verifier are started. The test
speaks the query wire directly: [type][protobuf] frames over python3-zmq,
with the few messages it needs encoded and decoded by the small codec below
(field numbers from proto/rpc.proto).
"""

import os
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zmq  # noqa: E402  (python3-zmq)

from harness import (f_bytes, f_int, one, parse, zigzag,  # noqa: E402
                     Cluster, Network, binary, forge, need, run, run_tests,  # noqa: E402
                     wait_until, zpl)

#  Request kinds (proto/rpc.proto, Request.kind)
SUBMIT_TX, UPLOAD_BLOCK, GET_BLOCKS, GET_BLOCK, GET_TX = 10, 12, 13, 14, 15
GET_STATUS, GET_ACCOUNT, GET_VALIDATORS, LIST_DISCARDED = 16, 17, 18, 19
#  Reply kinds
R_ERROR, R_TX_INFO, R_STATUS, R_ACCOUNT, R_VALIDATORS, R_DISCARDED, R_BLOCK = (
    10, 13, 14, 15, 16, 17, 18)
#  Error codes (common/error.h)
E_MALFORMED, E_NOT_FOUND, E_UNSUPPORTED, E_BAD_FIELD = 4, 7, 12, 14
E_UNAUTHORIZED_PROPOSER = 50


def request(rid, kind, body=b""):
    return f_int(1, rid) + f_bytes(kind, body)


class Query:
    """A DEALER on the verifier's query socket."""

    def __init__(self, endpoint):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)
        self.next_id = 1

    def call(self, kind, body=b"", timeout=5000):
        """Sends one request; returns (reply kind, parsed payload of it)."""
        rid = self.next_id
        self.next_id += 1
        self.sock.send_multipart([b"req", request(rid, kind, body)])
        deadline = time.monotonic() + timeout / 1000.0
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            fields = parse(self.raw_reply(max(left, 0)))
            if one(fields, 1) == rid:
                break       # else a late reply to a request that timed out
        kinds = [k for k in fields if k >= 10]
        assert len(kinds) == 1, "reply kinds %r" % kinds
        value = one(fields, kinds[0])
        return kinds[0], parse(value) if isinstance(value, bytes) and kinds[0] != R_BLOCK \
            else value

    def raw_reply(self, timeout=5000):
        if not self.sock.poll(timeout):
            raise TimeoutError("no reply from the verifier within %d ms" % timeout)
        frames = self.sock.recv_multipart()
        assert len(frames) == 2 and frames[0] == b"rep", "reply frames %r" % frames[:1]
        return frames[1]

    def error(self, kind, body=b""):
        """Sends a request that must fail; returns (code, name, message)."""
        got, fields = self.call(kind, body)
        assert got == R_ERROR, "expected an Error, got reply kind %d" % got
        return error_of(fields)

    def status(self, timeout=5000):
        kind, fields = self.call(GET_STATUS, timeout=timeout)
        assert kind == R_STATUS, kind
        return fields

    def close(self):
        self.sock.close()
        self.ctx.term()


def error_of(fields):
    return (zigzag(one(fields, 1, 0)), one(fields, 3, b"").decode(),
            one(fields, 2, b"").decode())


#  --- The world --------------------------------------------------------------


def network(c, relay_args=()):
    """Keys and a genesis of 4 validators and 3 funded accounts, a relay and
    a verifier (with its gossip to the relay's), started and answering."""
    need("relay", "verifier", "certchain", "forge")
    net = Network(c, validators=4, accounts=3, relay_args=relay_args)
    c.mkdir("stores")
    net.start_relay()
    net.start_verifier(extra=["--relay-gossip", net.relay_gossip])
    return net, answering(net)


def answering(net):
    """A Query on the verifier once it answers GetStatus."""
    q = Query(net.verifier_query)

    def up():
        net.check_alive()
        return q.status(timeout=1000)
    wait_until(up, 20, "the verifier's GetStatus")
    return q


def genesis_hash(net):
    """The genesis hash as the relay reports it."""
    return bytes.fromhex(forge("status", "--endpoint", net.relay_rpc).stdout
                         .split('"genesis_hash"')[1].split('"')[1])


#  --- Tests --------------------------------------------------------------------


def test_fresh_start_and_status():
    with Cluster("verifier-status") as c:
        net, q = network(c)
        status = q.status()
        assert one(status, 1) == b"verifier"
        assert one(status, 3).decode() == net.chain_id
        assert one(status, 4, 0) == 0, "a fresh verifier is at height 0"
        tip, app, genesis = one(status, 5), one(status, 6), one(status, 12)
        assert len(tip) == 32 and len(app) == 32 and len(genesis) == 32
        assert tip == genesis, "at height 0 the tip is the genesis"
        assert one(status, 9, 0) == 0, "nothing discarded"
        assert one(status, 10, 0) == 4, "V(1) holds the 4 genesis validators"
        assert genesis == genesis_hash(net), "relay and verifier disagree on the genesis"
        #  A fresh store was created where the config says.
        assert os.path.isdir(net.store("verifier"))
        q.close()
        assert net.verifier.stop() == 0
        assert "stopped at height 0" in net.verifier.log()


def test_validators_accounts_and_empty_reads():
    with Cluster("verifier-reads") as c:
        net, q = network(c)
        expected = sorted(bytes.fromhex(p) for p in net.validator_pubs)
        for height in (1, 0):               # 0 = the next height, 1 here
            kind, fields = q.call(GET_VALIDATORS, f_int(1, height) if height else b"")
            assert kind == R_VALIDATORS, kind
            assert one(fields, 1) == 1
            infos = [parse(v) for v in fields.get(2, [])]
            pubs = [one(parse(one(info, 1)), 1) for info in infos]
            assert pubs == expected, "V(1) lists the genesis validators in key order"
            for info in infos:
                record = parse(one(info, 1))
                assert one(info, 2, 0) == 0, "no CA produces in this genesis"
                assert one(record, 2, 0) == 1, "genesis validators are ACTIVE"
                assert one(record, 3, 0) == 1, "in the set since height 1"
            assert len(one(fields, 3)) == 32, "valset hash"
        code, name, message = q.error(GET_VALIDATORS, f_int(1, 5))
        assert (code, name) == (E_NOT_FOUND, "NOT_FOUND"), (code, name)
        assert "height 5" in message

        #  Accounts from genesis, and one never seen.
        kind, fields = q.call(GET_ACCOUNT, f_bytes(1, bytes.fromhex(net.account_pubs[0])))
        assert kind == R_ACCOUNT
        assert one(fields, 2) == Network.BALANCE and one(fields, 3, 0) == 0
        kind, fields = q.call(GET_ACCOUNT, f_bytes(1, b"\x07" * 32))
        assert kind == R_ACCOUNT and one(fields, 2, 0) == 0 and one(fields, 3, 0) == 0

        #  An empty chain: no block, no tx, no discards.
        assert q.error(GET_BLOCK)[0] == E_NOT_FOUND
        assert q.error(GET_BLOCK, f_int(1, 1))[0] == E_NOT_FOUND
        assert q.error(GET_BLOCK, f_bytes(2, b"\x01" * 32))[0] == E_NOT_FOUND
        assert q.error(GET_TX, f_bytes(1, b"\x01" * 32))[0] == E_NOT_FOUND
        kind, fields = q.call(LIST_DISCARDED)
        assert kind == R_DISCARDED and not fields.get(1), "ListDiscarded is empty"
        q.close()


def test_bad_requests_get_errors():
    with Cluster("verifier-bad") as c:
        net, q = network(c)
        #  Fields of the wrong size.
        assert q.error(GET_ACCOUNT, f_bytes(1, b"\x01" * 5))[:2] == (E_BAD_FIELD, "BAD_FIELD")
        assert q.error(GET_TX, f_bytes(1, b"\x01" * 31))[0] == E_BAD_FIELD
        assert q.error(GET_BLOCK, f_bytes(2, b"\x01" * 33))[0] == E_BAD_FIELD
        #  What a verifier does not do.
        for kind in (SUBMIT_TX, UPLOAD_BLOCK, GET_BLOCKS):
            assert q.error(kind)[:2] == (E_UNSUPPORTED, "UNSUPPORTED")
        #  Frames that are not a request at all.
        q.sock.send_multipart([b"req", b"\xff\xff\xff\xff"])
        assert error_of(parse(parse(q.raw_reply())[R_ERROR][0]))[0] == E_MALFORMED
        q.sock.send_multipart([b"nope", request(99, GET_STATUS)])
        assert zigzag(one(parse(one(parse(q.raw_reply()), R_ERROR)), 1)) > 0
        q.sock.send_multipart([b"req"])
        assert one(parse(q.raw_reply()), R_ERROR) is not None
        #  Raw junk of every kind from the forge, then still serving.
        forge("junk", "--endpoint", net.verifier_query, "--kind", "all", "--count", 3)
        assert one(q.status(), 4, 0) == 0
        assert net.verifier.alive()
        q.close()


def test_metrics_event():
    with Cluster("verifier-metrics") as c:
        net, q = network(c)
        events = net.events(seconds=3, service="verifier")
        assert events, "no MetricsEvent from the verifier on the relay's pub"
        assert events[-1].get("height", 0) == 0
        q.close()


def test_rogue_block_discarded_and_listed():
    with Cluster("verifier-rogue") as c:
        net, q = network(c, relay_args=["--unsafe-skip-checks"])
        #  The SUB needs a moment to join the relay's pub before a block is
        #  published on it.
        time.sleep(0.5)
        forge("rogue-block", "--genesis", net.genesis, "--relay-rpc", net.relay_rpc,
              "--source", net.verifier_query)

        def listed():
            kind, fields = q.call(LIST_DISCARDED)
            return fields.get(1)
        records = [parse(r) for r in wait_until(listed, 20, "a discarded block")]
        assert len(records) == 1
        record = records[0]
        assert one(record, 1) == 1, "sequence numbers start at 1"
        assert one(record, 2) == 1, "the rogue block claims height 1"
        assert len(one(record, 3)) == 32 and len(one(record, 4)) == 32
        assert zigzag(one(record, 5)) == E_UNAUTHORIZED_PROPOSER
        assert one(record, 6), "the reason text"
        status = q.status()
        assert one(status, 4, 0) == 0, "the chain did not move"
        assert one(status, 9) == 1, "one discard counted"
        #  Paging: nothing from seq 2 on.
        kind, fields = q.call(LIST_DISCARDED, f_int(1, 2))
        assert kind == R_DISCARDED and not fields.get(1)
        assert "reason=UNAUTHORIZED_PROPOSER" in net.verifier.log()
        events = net.events(seconds=3, service="verifier")
        assert any(e.get("discarded", 0) == 1 for e in events), events[-1:]
        #  The log survives a restart.
        q.close()
        assert net.verifier.stop() == 0
        net.start_verifier()
        q = answering(net)
        assert one(q.status(), 9) == 1
        kind, fields = q.call(LIST_DISCARDED)
        assert len(fields.get(1, [])) == 1
        q.close()


def test_print_config():
    need("verifier")
    r = run([binary("verifier"), "--print-config", "--threads", "3"])
    for text in ('query = "tcp://127.0.0.1:7301"', 'threads = "3"', 'batch = "20"',
                 'pub = "tcp://127.0.0.1:7102"', 'rpc = "tcp://127.0.0.1:7101"',
                 'gossip = "tcp://127.0.0.1:7103"', 'path = "./verifier-data"'):
        assert text in r.stdout, "%s missing from:\n%s" % (text, r.stdout)
    #  What it prints loads again and prints the same.
    with Cluster("verifier-config") as c:
        path = c.write("printed.zpl", r.stdout)
        again = run([binary("verifier"), "-c", path, "--print-config"])
        assert again.stdout == r.stdout
    r = run([binary("verifier"), "--help"])
    assert "--relay-pub" in r.stdout and "--threads" in r.stdout


def test_bad_config_exits_2():
    need("verifier")
    with Cluster("verifier-badconfig") as c:
        bad_file = c.write("bad.zpl", zpl({"verifier": {"nonsense": "1"}}))
        cases = [
            ["--threads", "0"],
            ["--threads", "abc"],
            ["--batch", "100000"],
            ["--query", "nowhere"],
            ["--no-such-flag", "1"],
            ["--log-level", "loud"],
            ["-c", bad_file],
            ["--genesis", c.path("missing-genesis.zpl"), "--store", c.path("s")],
        ]
        for args in cases:
            r = run([binary("verifier")] + args, check=False, timeout=20)
            assert r.returncode == 2, "%s: exit %d\n%s" % (args, r.returncode, r.stderr)
            lines = [line for line in r.stderr.splitlines() if line.strip()]
            assert len(lines) == 1, "%s: expected one error line, got:\n%s" % (args, r.stderr)


def test_occupied_port_and_held_store_exit_1():
    with Cluster("verifier-port") as c:
        net, q = network(c)
        q.close()
        #  The query port is taken by the running verifier.
        r = run([binary("verifier"), "--genesis", net.genesis, "--store", c.path("other"),
                 "--query", net.verifier_query, "--relay-rpc", net.relay_rpc],
                check=False, timeout=20)
        assert r.returncode == 1, r.stderr
        assert "verifier/query" in r.stderr
        #  Its store is held by it, too.
        other = "tcp://127.0.0.1:%d" % free_port()
        r = run([binary("verifier"), "--genesis", net.genesis, "--store",
                 net.store("verifier"), "--query", other], check=False, timeout=20)
        assert r.returncode == 1, r.stderr
        assert net.verifier.alive()


def test_sigint_stops_cleanly():
    with Cluster("verifier-sigint") as c:
        net, q = network(c)
        q.close()
        net.verifier.popen.send_signal(signal.SIGINT)
        assert net.verifier.wait(10) == 0
        assert "stopped at height 0" in net.verifier.log()
        #  And it starts again on the same store.
        net.start_verifier()
        q = answering(net)
        q.close()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    run_tests(globals())
