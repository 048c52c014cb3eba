#!/usr/bin/env python3
"""Flex's Redis app against the stock redis-server, reply by reply.

    tests/e2e/redis_differential.py --flexbuild build/bin/flexbuild --images build/test-images
                                    [--profiles redis-1comp,redis-hardened] [--seeds 1,2] [--commands 4000]

Both servers get the same commands over RESP2 and must answer with the same bytes:
- a fixed list of cases (every command family, transactions and the connection's own commands, their
  options and their errors, in the order Redis checks them);
- raw requests, each on a connection of its own: inline commands with quotes and escapes, pipelines, and
  malformed RESP, where the reply and whether the server closes the connection must both agree;
- then, per seed, a random walk of commands over a handful of keys with argument values chosen to sit on
  edges (non-integers, +-inf, -0, INT64 limits, empty strings, strtod forms), after each of which every
  key's type and whole value are compared too, so a command that answers alike but changes the data
  differently is caught at once.
Replies whose order Redis leaves unspecified (HKEYS, SMEMBERS, ...) are compared as sorted lists, and those
it chooses at random (SRANDMEMBER) by their type and length. Expiry times are far in the future or in the
past, never close enough for the two servers' clocks to disagree about whether a key has expired; a TTL
may differ by one second (see same()).

Each profile's image is built with flexbuild under IMAGES/<profile> (the folder the other end-to-end tests
use, under the same lock). redis-hardened runs the app with ASan and UBSan, which end the image at the
first memory error or undefined behaviour, so the walk doubles as a sanitizer run. Exit status 0 when
every reply and every value agreed; otherwise the differences, each with the commands before it.
"""
import argparse
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# Deterministic cases: (command line). Quoted with shell rules, so '' is an empty argument.
FIXED = r"""
PING
PING hello
PING a b
ECHO
ECHO hi
SELECT 1
SELECT 0
SELECT 99
SELECT x
SET k v
SET k v NX
SET k v2 XX
SET k v3 GET
SET k v EX 0
SET k v EX -1
SET k v EX abc
SET k v PX 100 EX 100
SET k v NX XX
SET k v KEEPTTL EX 10
SET k v FOO
SET k v EX 9223372036854775807
SET k v PXAT 9223372036854775807
SET nokey v XX
SET nokey v GET
GETSET k v5
GETSET
MGET k nokey
MSET a 1 b
MSET a 1 b 2
INCR a
INCR k
DECR a
INCRBY a x
INCRBY a 9223372036854775807
SET big 9223372036854775807
INCR big
DECRBY big -1
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1e2
INCRBYFLOAT f abc
INCRBYFLOAT f 0x10
INCRBYFLOAT f 1e5000
INCRBYFLOAT f inf
INCRBYFLOAT k 1
SET f2 10.50
INCRBYFLOAT f2 0.1
INCRBYFLOAT f2 -5010.6
APPEND new abc
STRLEN nothing
GETRANGE new -2 -1
GETRANGE new 5 1
GETRANGE new -9223372036854775808 9223372036854775807
GETRANGE new a b
SETRANGE new -1 a
SETRANGE new 536870912 x
SETRANGE nk 3 abc
GET nk
SETNX nk x
SETEX ek 0 v
SETEX ek abc v
PSETEX ek 100000 v
GETDEL ek
EXISTS k k nothing
EXPIRE k abc
EXPIRE k 9223372036854775807
EXPIRE nothing 10
TTL nothing
TTL nk
PERSIST nk
TYPE nothing
RENAME nothing x
RENAME nk nk
RENAMENX nk k
RPUSH L a b c d e
LPUSH L z
LRANGE L -100 100
LRANGE L 5 2
LRANGE L -9223372036854775808 9223372036854775807
LINDEX L -1
LINDEX L 100
LINDEX L x
LINDEX nothing x
LSET L 100 q
LSET L x q
LSET nothing x q
LREM L 0 a
RPUSH L b b b
LREM L -2 b
LREM L -9223372036854775808 b
LTRIM L 1 -2
LRANGE L 0 -1
LPOP L 2
LPOP L 0
LPOP L -1
RPOP nothing 2
LPUSHX nothing a
LPOP k
HSET H f1 v1 f2 v2
HSET H f1
HMGET H f1 nope f2
HDEL H f2 nope
HEXISTS H nope
HINCRBY H n 5
HINCRBY H f1 5
HINCRBY H n x
HINCRBYFLOAT H n 0x1p3
HINCRBYFLOAT H n inf
HSETNX H n 1
HSTRLEN H n
HGET k x
SADD S a b c a
SREM S a z
SISMEMBER S z
SMISMEMBER S a b z
SADD S2 b c d
SINTER S nothing
SPOP nothing
SPOP S -1
SRANDMEMBER nothing
SRANDMEMBER nothing 3
SRANDMEMBER nothing -9223372036854775808
SADD k x
ZADD Z 1 a 2 b 3 c
ZADD Z x a
ZADD Z 1
ZADD Z NX 5 a
ZADD Z XX 5 a
ZADD Z CH 6 a 7 d
ZADD Z INCR 1 a
ZADD Z NX XX 1 a
ZADD Z GT LT 1 a
ZADD Z INCR 1 a 2 b
ZADD Z 1e400 e
ZADD Z ' 1' e
ZADD Z 0x1p3 e
ZADD Z -0 n
ZINCRBY Z -0 m
ZSCORE Z n
ZMSCORE Z a nope n
ZRANGE Z 0 -1 WITHSCORES
ZRANGE Z 0 -1 WITHSCORE
ZRANGE Z 0 -1 REV
ZRANGE Z 1 10 BYSCORE LIMIT 0 2
ZRANGE Z 0 -1 LIMIT 0 2
ZREVRANGE Z 0 1 WITHSCORES
ZRANK Z nope
ZREVRANK Z a
ZREM Z d nope
ZINCRBY Z x b
ZRANGEBYSCORE Z -inf +inf
ZRANGEBYSCORE Z (1 3 WITHSCORES
ZRANGEBYSCORE Z 1 10 LIMIT 1 1
ZRANGEBYSCORE Z x 10
ZRANGEBYSCORE Z '' ' 9'
ZRANGEBYSCORE Z -inf 1e500
ZREVRANGEBYSCORE Z +inf -inf LIMIT 0 1
ZCOUNT Z (1 +inf
ZPOPMIN Z
ZPOPMAX Z 2
ZPOPMIN nothing
ZADD Z nan x
ZADD k 1 x
XADD
XLEN nothing
CONFIG GET appendonly
CONFIG GET nothing
CONFIG SET nothing x
CONFIG GET rdb-key-save-delay
CONFIG GET RDB-Key-Save-Delay
CONFIG GET rdb-key*
CONFIG SET rdb-key-save-delay abc
CONFIG SET rdb-key-save-delay 2147483648
CONFIG SET rdb-key-save-delay -2147483649
CONFIG SET rdb-key-save-delay +7
CONFIG SET rdb-key-save-delay ''
CONFIG SET rdb-key-save-delay -5
CONFIG GET rdb-key-save-delay
CONFIG SET rdb-key-save-delay 0
CONFIG GET rdb-key-save-delay
CONFIG
KEYS nomatch*
MULTI
SET tx 1
INCR tx
LPUSH tx x
GET tx
EXEC
EXEC
DISCARD
MULTI
MULTI
GET
EXEC
MULTI
NOSUCH
EXEC
MULTI
EXEC x
WATCH tx
MULTI
WATCH tx
GET tx
EXEC
WATCH tx nothing
SET tx 5
MULTI
GET tx
EXEC
WATCH tx
MULTI
DISCARD
SET tx 6
MULTI
GET tx
EXEC
WATCH
UNWATCH x
CLIENT SETNAME 'a b'
CLIENT SETNAME worker
CLIENT GETNAME
CLIENT SETNAME ''
CLIENT GETNAME
CLIENT ID x
CLIENT FOO
HELLO x
HELLO 2 AUTH bob x
HELLO 2 AUTH
HELLO 2 FOO
AUTH x
AUTH default x
AUTH a b
DBSIZE
FLUSHDB
DBSIZE
RANDOMKEY
GET
FOO
foo bar baz
"""

# Raw requests (whole byte strings, sent at once on a new connection, then ECHO __end__). Multibulk lengths above Flex's
# --max-request are refused by design, where redis-server waits for more: none here.
RAW = [b'SET "a b" \'c d\'\r\nGET "a b"\r\n', b'ECHO "x\\ty\\x41\\n"\r\n', b'ECHO "unterminated\r\n',
       b'ECHO "a"b\r\n', b"ECHO 'it\\'s'\r\n", b"   PING   \r\n", b"\r\n", b"PING\n", b"ECHO a\tb\r\n",
       b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n", b"*-1\r\nPING\r\n", b"*0\r\nPING\r\n",
       b"*1\r\n$-1\r\nPING\r\n", b"*x\r\n", b"*1\r\n$x\r\n", b"*1\r\n$4\r\nPINGxx", b"*2\r\n$4\r\nECHO\r\n$1\r\nxyz\r\n",
       b"*1\r\n+PING\r\n", b'ECHO "\\x4"\r\n', b'ECHO ""\r\n', b"ECHO ''\r\n", b'ECHO "a" "b"\r\n',
       b"*1\r\n$600000000\r\n", b"MULTI\r\nSET a 1\r\nEXEC\r\nQUIT\r\nPING\r\n"]

KEYS = ["k1", "k2", "k3", "L", "H", "S", "Z"]
NUMBERS = ["0", "1", "-1", "2", "3", "10", "-5", "100", "x", "1.5", "9223372036854775807",
           "-9223372036854775808", "1e3", "", "+1", " 1", "01", "-0", "inf", "-inf", "(1", "(2", "nan",
           "3.0", "0x10", "1e500"]
# Expiry times: invalid, already past, or far away; never close enough to depend on the clock.
TTLS = ["0", "-1", "x", "100000", "1000000", "9223372036854775807", "-9223372036854775808", "1e3", ""]
VALUES = ["a", "b", "c", "v", "10", "1", "-3", "2.5", "hello", "", "a\r\nb", "\x00z", "x" * 300]
FIELDS = ["f1", "f2", "f3", "n"]


def random_commands(rng):
    """Generators of random commands, one per command name."""
    key = lambda: rng.choice(KEYS)
    num = lambda: rng.choice(NUMBERS)
    ttl = lambda: rng.choice(TTLS)
    val = lambda: rng.choice(VALUES)
    fld = lambda: rng.choice(FIELDS)
    some = lambda lo, hi, g: [g() for _ in range(rng.randint(lo, hi))]
    pairs = lambda a, b: sum(([a(), b()] for _ in range(rng.randint(0, 2))), []) + rng.choice([[], [a()]])
    one_of = lambda *options: list(rng.choice(options))
    return {
        "SET": lambda: [key(), val()] + one_of([], ["NX"], ["XX"], ["GET"], ["EX", ttl()], ["PX", ttl()],
                                               ["KEEPTTL"], ["EX", ttl(), "NX"], ["XX", "GET"],
                                               ["EXAT", ttl()], ["PXAT", ttl()], ["EX"], ["NX", "GET"]),
        "GET": lambda: [key()], "GETSET": lambda: [key(), val()], "GETDEL": lambda: [key()],
        "MGET": lambda: some(0, 3, key), "MSET": lambda: pairs(key, val), "MSETNX": lambda: pairs(key, val),
        "INCR": lambda: [key()], "DECR": lambda: [key()], "INCRBY": lambda: [key(), num()],
        "DECRBY": lambda: [key(), num()], "INCRBYFLOAT": lambda: [key(), num()],
        "APPEND": lambda: [key(), val()], "STRLEN": lambda: [key()],
        "GETRANGE": lambda: [key(), num(), num()], "SUBSTR": lambda: [key(), num(), num()],
        "SETRANGE": lambda: [key(), rng.choice(["0", "1", "5", "-1", "x"]), val()],
        "SETNX": lambda: [key(), val()], "SETEX": lambda: [key(), ttl(), val()],
        "PSETEX": lambda: [key(), ttl(), val()],
        "DEL": lambda: some(0, 3, key), "UNLINK": lambda: some(0, 3, key), "EXISTS": lambda: some(0, 3, key),
        "EXPIRE": lambda: [key(), ttl()] + one_of([], ["NX"], ["XX"], ["GT"], ["LT"], ["XY"]),
        "PEXPIRE": lambda: [key(), ttl()],
        "EXPIREAT": lambda: [key(), rng.choice(["0", "1", "x", "9999999999", "-1"])],
        "PEXPIREAT": lambda: [key(), rng.choice(["0", "1", "x", "9999999999999", "-1"])],
        "TTL": lambda: [key()], "PERSIST": lambda: [key()], "TYPE": lambda: [key()],
        "RENAME": lambda: [key(), key()], "RENAMENX": lambda: [key(), key()],
        "KEYS": lambda: [rng.choice(["*", "k*", "?", "[kL]*", "*1", "\\k1", "[^k]"])],
        "LPUSH": lambda: [key()] + some(0, 3, val), "RPUSH": lambda: [key()] + some(0, 3, val),
        "LPUSHX": lambda: [key()] + some(0, 2, val), "RPUSHX": lambda: [key()] + some(0, 2, val),
        "LPOP": lambda: [key()] + one_of([], [num()]), "RPOP": lambda: [key()] + one_of([], [num()]),
        "LRANGE": lambda: [key(), num(), num()], "LLEN": lambda: [key()], "LINDEX": lambda: [key(), num()],
        "LSET": lambda: [key(), num(), val()], "LREM": lambda: [key(), num(), val()],
        "LTRIM": lambda: [key(), num(), num()],
        "HSET": lambda: [key()] + pairs(fld, val), "HMSET": lambda: [key()] + pairs(fld, val),
        "HSETNX": lambda: [key(), fld(), val()], "HGET": lambda: [key(), fld()],
        "HMGET": lambda: [key()] + some(0, 3, fld), "HDEL": lambda: [key()] + some(0, 2, fld),
        "HLEN": lambda: [key()], "HSTRLEN": lambda: [key(), fld()], "HEXISTS": lambda: [key(), fld()],
        "HINCRBY": lambda: [key(), fld(), num()], "HINCRBYFLOAT": lambda: [key(), fld(), num()],
        "HKEYS": lambda: [key()], "HVALS": lambda: [key()], "HGETALL": lambda: [key()],
        "SADD": lambda: [key()] + some(0, 3, val), "SREM": lambda: [key()] + some(0, 3, val),
        "SMEMBERS": lambda: [key()], "SISMEMBER": lambda: [key(), val()],
        "SMISMEMBER": lambda: [key()] + some(0, 3, val), "SCARD": lambda: [key()],
        "SRANDMEMBER": lambda: [key()] + one_of([], [num()]),
        "SINTER": lambda: some(0, 3, key), "SUNION": lambda: some(0, 3, key), "SDIFF": lambda: some(0, 3, key),
        "ZADD": lambda: [key()] + one_of([], ["NX"], ["XX"], ["CH"], ["INCR"], ["GT"], ["LT"])
                        + sum(([num(), val()] for _ in range(rng.randint(0, 2))), []),
        "ZSCORE": lambda: [key(), val()], "ZMSCORE": lambda: [key()] + some(0, 3, val),
        "ZRANGE": lambda: [key(), num(), num()] + one_of([], ["WITHSCORES"], ["REV"], ["BYSCORE"],
                                                         ["BYSCORE", "LIMIT", num(), num()], ["LIMIT", "0", "1"]),
        "ZREVRANGE": lambda: [key(), num(), num()] + one_of([], ["WITHSCORES"], ["x"]),
        "ZRANGEBYSCORE": lambda: [key(), num(), num()] + one_of([], ["WITHSCORES"], ["LIMIT", num(), num()],
                                                                ["LIMIT"]),
        "ZREVRANGEBYSCORE": lambda: [key(), num(), num()] + one_of([], ["WITHSCORES"], ["LIMIT", num(), num()]),
        "ZCOUNT": lambda: [key(), num(), num()],
        "ZRANK": lambda: [key(), val()], "ZREVRANK": lambda: [key(), val()],
        "ZREM": lambda: [key()] + some(0, 2, val), "ZCARD": lambda: [key()],
        "ZINCRBY": lambda: [key(), num(), val()],
        "ZPOPMIN": lambda: [key()] + one_of([], [num()]), "ZPOPMAX": lambda: [key()] + one_of([], [num()]),
        "XLEN": lambda: [key()], "DBSIZE": lambda: one_of([], ["x"]),
        "ECHO": lambda: some(0, 2, val), "PING": lambda: some(0, 2, val),
    }


UNORDERED = {"KEYS", "HKEYS", "HVALS", "SMEMBERS", "SINTER", "SUNION", "SDIFF"}
AT_RANDOM = {"SRANDMEMBER", "SPOP", "RANDOMKEY"}


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode("latin-1")
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    """One whole RESP2 reply as (type byte, value): arrays as lists, bulk strings as bytes, None for nil."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("the server closed the connection")
    t, body = line[:1], line[1:-2]
    if t in (b"+", b"-", b":"):
        return (t, body)
    n = int(body)
    if t == b"$":
        if n < 0:
            return (t, None)
        data = f.read(n + 2)
        return (t, data[:-2])
    if t == b"*":
        return (t, None if n < 0 else [read_reply(f) for _ in range(n)])
    raise ValueError(f"not a RESP2 reply: {line!r}")


def normalized(name, reply):
    t, v = reply
    if t != b"*" or v is None:
        return reply if name not in AT_RANDOM or t == b"-" else (t, v is None)
    if name in AT_RANDOM:
        return (t, len(v))
    if name in UNORDERED:
        return (t, sorted(v))
    if name == "HGETALL":
        return (t, sorted(zip(v[0::2], v[1::2])))
    return reply


def same(name, a, b):
    """Equal replies; a remaining TTL may differ by one unit, where the two servers read their clocks on
    either side of a second (an absolute expiry time makes the remainder depend on the clock)."""
    if name in ("TTL", "PTTL") and a[0] == b[0] == b":" and int(a[1]) >= 0 and int(b[1]) >= 0:
        return abs(int(a[1]) - int(b[1])) <= (1 if name == "TTL" else 50)
    return normalized(name, a) == normalized(name, b)


class Client:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.f = self.sock.makefile("rb")

    def call_many(self, commands):
        self.sock.sendall(b"".join(encode(c) for c in commands))
        return [read_reply(self.f) for _ in commands]

    def call(self, *args):
        return self.call_many([list(args)])[0]


DUMP = {b"string": ["GET"], b"list": ["LRANGE", "0", "-1"], b"hash": ["HGETALL"], b"set": ["SMEMBERS"],
        b"zset": ["ZRANGE", "0", "-1", "WITHSCORES"], b"none": ["EXISTS"]}


def snapshot(client):
    """Every key's type and whole value (TTLs are compared by the commands that read them)."""
    types = client.call_many([["TYPE", k] for k in KEYS])
    queries = []
    for k, (_, t) in zip(KEYS, types):
        d = DUMP.get(t, ["TYPE"])
        queries.append([d[0], k] + d[1:])
    values = client.call_many(queries)
    return [(k, t[1], normalized(q[0], v)) for k, t, q, v in zip(KEYS, types, queries, values)]


def show(args):
    return " ".join(shlex.quote(a) if a else "''" for a in args)


class Differences:
    def __init__(self):
        self.items = []

    def add(self, history, what):
        self.items.append("\n".join(["after: " + show(c) for c in history[-5:]] + [what]))


def compare_fixed(stock, flex, diffs):
    history = []
    for line in FIXED.strip().splitlines():
        args = shlex.split(line)
        history.append(args)
        a, b = stock.call(*args), flex.call(*args)
        if not same(args[0].upper(), a, b):
            diffs.add(history[:-1], f"{show(args)}\n  stock: {a}\n  flex:  {b}")


def raw_exchange(port, data):
    """Sends data and then a sentinel command on a new connection; everything that comes back until the
    sentinel's reply or the end of the connection, and whether the server closed it."""
    end = b"$7\r\n__end__\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data + b"ECHO __end__\r\n")
        out = b""
        while not out.endswith(end):
            d = s.recv(65536)
            if not d:
                return out, True
            out += d
        return out, False


def compare_raw(stock_port, flex_port, diffs):
    for data in RAW:
        a, b = raw_exchange(stock_port, data), raw_exchange(flex_port, data)
        if a != b:
            diffs.add([], f"raw {data!r}\n  stock: {a}\n  flex:  {b}")


def compare_random(stock, flex, seed, count, diffs):
    rng = random.Random(seed)
    gens = random_commands(rng)
    names = sorted(gens)
    for c in (stock, flex):
        c.call("FLUSHALL")
    history = []
    for _ in range(count):
        name = rng.choice(names)
        args = [name] + gens[name]()
        history.append(args)
        a, b = stock.call(*args), flex.call(*args)
        what = None
        if not same(name, a, b):
            what = f"{show(args)}\n  stock: {a}\n  flex:  {b}"
        else:
            sa, sb = snapshot(stock), snapshot(flex)
            if sa != sb:
                what = f"{show(args)} (same reply, different data)\n  stock: {sa}\n  flex:  {sb}"
        if what:
            diffs.add(history[:-1], f"seed {seed}: {what}")
            for c in (stock, flex):  # start again from an empty database
                c.call("FLUSHALL")
            if len(diffs.items) >= 20:
                return


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, log):
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}:\n{open(log).read()}")
        try:
            if Client(port).call("PING") == (b"+", b"PONG"):
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer PING within 30 s:\n{open(log).read()}")


def start(cmd, port, log):
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    wait_ready(port, proc, log)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def build(flexbuild, images, profile):
    source = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = os.path.join(images, profile)
    os.makedirs(images, exist_ok=True)
    r = subprocess.run(["flock", out + ".lock", flexbuild, "--profile",
                        os.path.join(source, "profiles", profile + ".yaml"), "-o", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"flexbuild failed for {profile}:\n{r.stdout}")
    return os.path.join(out, profile)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flexbuild", required=True)
    ap.add_argument("--images", required=True, help="folder of the test images (IMAGES/<profile>)")
    ap.add_argument("--profiles", default="redis-1comp,redis-hardened")
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--commands", type=int, default=4000, help="random commands per seed")
    args = ap.parse_args()

    stock_server = shutil.which("redis-server")
    if stock_server is None:
        print("redis_differential: redis-server is not installed (scripts/bootstrap.sh installs it)")
        return 1
    failed = False
    for profile in args.profiles.split(","):
        image = build(args.flexbuild, args.images, profile)
        with tempfile.TemporaryDirectory(prefix="flex-redis-diff-") as tmp:
            sp, fp = free_port(), free_port()
            stock = start([stock_server, "--port", str(sp), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", tmp], sp, os.path.join(tmp, "stock.log"))
            flex_log = os.path.join(tmp, "flex.log")
            flex = start([image, "--port", str(fp), "--bind", "127.0.0.1", "--dir", tmp], fp, flex_log)
            diffs = Differences()
            error = None
            try:
                a, b = Client(sp), Client(fp)
                compare_fixed(a, b, diffs)
                compare_raw(sp, fp, diffs)
                for seed in (int(s) for s in args.seeds.split(",")):
                    compare_random(a, b, seed, args.commands, diffs)
            except (OSError, ValueError) as e:
                error = f"{type(e).__name__}: {e}"
            stop(stock)
            status = stop(flex)
            log = open(flex_log, errors="replace").read()
            if error or status != 0 or diffs.items:
                failed = True
                print(f"== {profile}: FAILED")
                for d in diffs.items:
                    print(d, end="\n\n")
                if error:
                    print(f"the connection failed: {error}")
                if status != 0:
                    print(f"the image exited with status {status}")
                if error or status != 0:
                    print(f"its log:\n{log[-4000:]}")
            else:
                print(f"== {profile}: {len(FIXED.strip().splitlines())} fixed cases, {len(RAW)} raw requests and "
                      f"{args.commands} random commands per seed ({args.seeds}) answered as redis-server does")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
