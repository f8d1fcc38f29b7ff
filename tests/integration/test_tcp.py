#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test 2: TCP behaviour of the real daemon with raw sockets -
pipelining, split length prefix and split queries, half-close, the idle
timeout (tcp_idle_timeout = 2 s), slow senders, a 65535 length prefix with
no data, 1,000 idle connections against tcp_max_clients = 256 (eviction),
and tcp_max_queries = 5."""

import os
import select
import socket
import struct
import time

from harness import (LOOPBACK4, Daemon, Message, Results,
                     base_config, build_query, frame, free_port, have_ipv6,
                     raise_nofile, std_args, tcp_connect,
                     tcp_exchange, tcp_read_msg, tempdir, udp_exchange,
                     wait_closed, write)

DOMAIN = "auth.example.test"
IDLE = 2  # seconds, [dns] tcp_idle_timeout in the test config
RECORDS = [
    "ns1.auth.example.test. A 127.0.0.1",
    "www.auth.example.test. A 192.0.2.80",
    'txt.auth.example.test. TXT "pipelined"',
] + [f"h{i}.auth.example.test. A 192.0.2.{i}" for i in range(1, 21)] + [
    f'big.auth.example.test. TXT "{i:02d}-' + "b" * 150 + '"'
    for i in range(10)]


def timed_query(port, tcp, host=LOOPBACK4):
    """One query on a fresh socket; returns (ok, seconds)."""
    q = build_query(f"h7.{DOMAIN}", "A")
    t0 = time.monotonic()
    try:
        r = (tcp_exchange if tcp else udp_exchange)(host, port, q, timeout=2.0)
        m = Message(r)
        ok = (m.id == struct.unpack("!H", q[:2])[0] and m.rcode == 0 and
              [a.rdata for a in m.answer] == ["192.0.2.7"])
    except (OSError, ValueError) as e:
        return False, time.monotonic() - t0
    return ok, time.monotonic() - t0


def pipelining(res, port):
    res.section("pipelining")
    qs = []
    for i in range(1, 21):
        qtype = "A" if i % 3 else "AAAA"
        qs.append(build_query(f"h{i}.{DOMAIN}", qtype, qid=1000 + i))
    s = tcp_connect(LOOPBACK4, port, timeout=3)
    s.sendall(b"".join(frame(q) for q in qs))
    got = []
    try:
        for _ in qs:
            got.append(Message(tcp_read_msg(s)))
    except (OSError, ValueError) as e:
        res.check(False, "20 pipelined queries in one send: all answered",
                  f"only {len(got)} answers: {e!r}")
    s.close()
    if len(got) == len(qs):
        ids = [m.id for m in got]
        res.eq(ids, [1000 + i for i in range(1, 21)],
               "20 pipelined queries in one send: all answered, in order")
        ok = all(m.question[0][0] == f"h{i}.{DOMAIN}." and
                 ((i % 3 and [a.rdata for a in m.answer] == [f"192.0.2.{i}"])
                  or (not i % 3 and not m.answer and m.rcode == 0))
                 for i, m in zip(range(1, 21), got))
        res.check(ok, "pipelined answers match their questions",
                  "\n".join(repr(m) for m in got))

    # pipelined + half-close: answers still arrive, then EOF
    s = tcp_connect(LOOPBACK4, port, timeout=3)
    s.sendall(b"".join(frame(build_query(f"h{i}.{DOMAIN}", "A", qid=i))
                       for i in (1, 2, 3)))
    s.shutdown(socket.SHUT_WR)
    ids = []
    try:
        for _ in range(3):
            ids.append(Message(tcp_read_msg(s)).id)
        eof = s.recv(1) == b""
    except OSError as e:
        eof = False
    s.close()
    res.check(ids == [1, 2, 3] and eof,
              "3 queries then shutdown(SHUT_WR): 3 answers, then EOF",
              f"ids {ids}, eof {eof}")


def split_writes(res, port):
    res.section("split writes")
    q = build_query(f"www.{DOMAIN}", "A", qid=4242)
    data = frame(q)
    s = tcp_connect(LOOPBACK4, port, timeout=3)
    s.send(data[:1])
    time.sleep(0.3)
    s.send(data[1:])
    try:
        m = Message(tcp_read_msg(s))
        ok = m.id == 4242 and [a.rdata for a in m.answer] == ["192.0.2.80"]
    except OSError as e:
        ok, m = False, e
    res.check(ok, "length prefix split (1 byte, pause, rest): answered",
              repr(m))
    # a second query on the same connection, split into 3 pieces
    q = build_query(f"txt.{DOMAIN}", "TXT", qid=4343)
    data = frame(q)
    cuts = [0, 5, 17, len(data)]
    for a, b in zip(cuts, cuts[1:]):
        s.send(data[a:b])
        time.sleep(0.2)
    try:
        m = Message(tcp_read_msg(s))
        ok = m.id == 4343 and [a.rdata for a in m.answer] == ['"pipelined"']
    except OSError as e:
        ok, m = False, e
    res.check(ok, "query split into 3 pieces: answered", repr(m))
    # one and a half queries, then the rest
    q1 = frame(build_query(f"h1.{DOMAIN}", "A", qid=1))
    q2 = frame(build_query(f"h2.{DOMAIN}", "A", qid=2))
    s.send(q1 + q2[:7])
    try:
        first = Message(tcp_read_msg(s)).id
        time.sleep(0.2)
        s.send(q2[7:])
        second = Message(tcp_read_msg(s)).id
    except OSError as e:
        first = second = repr(e)
    res.check((first, second) == (1, 2),
              "query and a half in one write, rest later: both answered",
              f"{first}, {second}")
    s.close()

    s = tcp_connect(LOOPBACK4, port, timeout=3)
    s.sendall(b"\x00\x00")
    t = wait_closed(s, 3)
    s.close()
    res.check(t is not None and t < 1.0,
              "zero length frame: connection closed at once", f"{t}")


def slow_reader(res, port, n=6000):
    """~11 MB of answers: more than the kernel buffers hold, so the server
    must stop reading at its output high-water mark and resume later."""
    res.section(f"client that does not read: {n} pipelined ~1.8 KB answers")
    s = tcp_connect(LOOPBACK4, port, timeout=5)
    qs = b"".join(frame(build_query(f"big.{DOMAIN}", "TXT", qid=i))
                  for i in range(n))
    s.sendall(qs)
    time.sleep(0.5)  # answers pile up in the server meanwhile
    ok, dt = timed_query(port, False)
    ok2, dt2 = timed_query(port, True)
    res.check(ok and ok2 and max(dt, dt2) < 0.5,
              "while one client does not read, others are answered promptly",
              f"udp {ok} {dt:.3f} s, tcp {ok2} {dt2:.3f} s")
    ids = []
    total = 0
    try:
        for _ in range(n):
            r = tcp_read_msg(s)
            total += len(r)
            ids.append(struct.unpack("!H", r[:2])[0])
    except OSError as e:
        err = repr(e)
    else:
        err = None
    s.close()
    res.check(ids == list(range(n)),
              f"then it reads all {n} answers in order "
              f"({total / 1e6:.1f} MB)", f"got {len(ids)} answers, then {err}")


def idle_timeout(res, port):
    res.section(f"idle timeout ({IDLE} s)")
    s = tcp_connect(LOOPBACK4, port)
    t = wait_closed(s, IDLE + 4)
    s.close()
    res.check(t is not None and 1.5 <= t <= 4.0,
              f"idle connection closed after ~{IDLE} s",
              f"closed after {t} s")

    # the timer restarts at the last complete query
    s = tcp_connect(LOOPBACK4, port)
    time.sleep(1.2)
    s.sendall(frame(build_query(f"www.{DOMAIN}", "A", qid=7)))
    m = Message(tcp_read_msg(s))
    t = wait_closed(s, IDLE + 4)
    s.close()
    res.check(m.id == 7 and t is not None and 1.5 <= t <= 4.0,
              "a query restarts the idle timer (closed ~2 s after it)",
              f"closed {t} s after the answer")


def slow_and_stuck_clients(res, port):
    res.section("slow sender and 65535 prefix with no data")
    slow = tcp_connect(LOOPBACK4, port)
    stuck = tcp_connect(LOOPBACK4, port)
    stuck.sendall(b"\xff\xff")
    stuck2 = tcp_connect(LOOPBACK4, port)
    stuck2.sendall(b"\xff\xff" + b"\x00" * 3000)  # part of the message only
    data = frame(build_query(f"www.{DOMAIN}", "A"))
    t0 = time.monotonic()
    closed = {"slow": None, "stuck": None, "stuck2": None}
    socks = {"slow": slow, "stuck": stuck, "stuck2": stuck2}
    for s in socks.values():
        s.setblocking(False)
    sent = 0
    next_byte = t0
    worst = 0.0
    failures = 0
    nq = 0
    while time.monotonic() - t0 < IDLE + 3 and None in closed.values():
        now = time.monotonic()
        if closed["slow"] is None and now >= next_byte and sent < len(data):
            try:
                slow.send(data[sent:sent + 1])
                sent += 1
            except OSError:
                closed["slow"] = now - t0
            next_byte += 1.0
        for name, s in socks.items():
            if closed[name] is not None:
                continue
            try:
                if s.recv(4096) == b"":
                    closed[name] = time.monotonic() - t0
            except BlockingIOError:
                pass
            except OSError:
                closed[name] = time.monotonic() - t0
        for tcp in (False, True):
            ok, dt = timed_query(port, tcp)
            nq += 1
            worst = max(worst, dt)
            if not ok:
                failures += 1
        time.sleep(0.05)
    for s in socks.values():
        s.close()
    res.check(closed["slow"] is not None and 1.5 <= closed["slow"] <= 4.0,
              "1 byte/s sender closed by the idle timer",
              f"closed after {closed['slow']} s, {sent} bytes sent")
    res.check(closed["stuck"] is not None and closed["stuck"] <= 4.0,
              "length prefix 65535 with no data: closed by the idle timer",
              f"closed after {closed['stuck']} s")
    res.check(closed["stuck2"] is not None and closed["stuck2"] <= 4.0,
              "length prefix 65535 with 3000 of its bytes: closed",
              f"closed after {closed['stuck2']} s")
    res.check(failures == 0 and worst < 0.5,
              f"meanwhile {nq} UDP/TCP queries from other clients answered "
              "promptly", f"{failures} failed, worst {worst:.3f} s")


def many_connections(res, port):
    res.section("1,000 idle connections, tcp_max_clients = 256")
    n = 1000
    lim = raise_nofile(n + 200)
    if lim < n + 100:
        res.check(False, "RLIMIT_NOFILE can be raised for 1,000 sockets",
                  f"limit {lim}")
        return
    socks = []
    t0 = time.monotonic()
    failed_connect = 0
    for i in range(n):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect((LOOPBACK4, port))
            s.setblocking(False)
            socks.append(s)
        except OSError:
            failed_connect += 1
    t_open = time.monotonic() - t0
    res.check(failed_connect == 0, f"{n} connections opened in {t_open:.2f} s",
              f"{failed_connect} failed")
    ok, dt = timed_query(port, True)
    res.check(ok and dt < 1.0,
              "with 1,000 idle connections a fresh TCP client is answered "
              "within 1 s", f"ok={ok} in {dt:.3f} s")
    ok6, dt6 = timed_query(port, False)
    res.check(ok6 and dt6 < 1.0, "and a UDP client too",
              f"ok={ok6} in {dt6:.3f} s")
    # the oldest ones were evicted: they see EOF well before the idle timer
    deadline = t0 + 1.5
    closed = set()
    while time.monotonic() < deadline and len(closed) < n - 256:
        r, _, _ = select.select([s for s in socks if s.fileno() not in closed],
                                [], [], 0.1)
        for s in r:
            try:
                if s.recv(16) == b"":
                    closed.add(s.fileno())
            except OSError:
                closed.add(s.fileno())
    t_evict = time.monotonic() - t0
    res.check(len(closed) >= n - 256 - 5,
              f"oldest connections evicted ({len(closed)} closed within "
              f"{t_evict:.2f} s, expected >= {n - 256 - 5})")
    # the survivors are the newest ones
    newest_open = sum(1 for s in socks[-200:] if s.fileno() not in closed)
    res.check(newest_open >= 195, "the newest connections survive eviction",
              f"{newest_open} of the last 200 still open")
    for s in socks:
        s.close()
    ok, dt = timed_query(port, True)
    res.check(ok and dt < 1.0, "after closing them all: TCP answered",
              f"ok={ok} in {dt:.3f} s")


def max_queries(res, binary):
    res.section("tcp_max_queries = 5")
    work = tempdir("tcp-maxq")
    port = free_port()
    conf = write(os.path.join(work, "acmedns.conf"), base_config(
        port, work, records=RECORDS,
        extra_dns=f"tcp_idle_timeout = {IDLE}\ntcp_max_queries = 5\n"))
    d = Daemon(binary, conf, port, work, name="acmedns-maxq")
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon with tcp_max_queries = 5 starts", str(e))
        return
    try:
        # 6 pipelined in one send: 5 answers, then the connection closes
        s = tcp_connect(LOOPBACK4, port, timeout=3)
        s.sendall(b"".join(frame(build_query(f"h{i}.{DOMAIN}", "A", qid=i))
                           for i in range(1, 7)))
        ids = []
        eof = False
        try:
            while True:
                ids.append(Message(tcp_read_msg(s)).id)
        except ConnectionError:
            eof = True
        except OSError as e:
            eof = isinstance(e, ConnectionResetError)
        s.close()
        res.check(ids == [1, 2, 3, 4, 5] and eof,
                  "6 pipelined queries: exactly 5 answers, then closed",
                  f"ids {ids}, eof {eof}")

        # one by one: the 6th is not answered
        s = tcp_connect(LOOPBACK4, port, timeout=3)
        ids = []
        for i in range(1, 6):
            s.sendall(frame(build_query(f"h{i}.{DOMAIN}", "A", qid=100 + i)))
            ids.append(Message(tcp_read_msg(s)).id)
        t = wait_closed(s, 1.5)
        sixth = None
        try:
            s.sendall(frame(build_query(f"h6.{DOMAIN}", "A", qid=106)))
            s.settimeout(1.0)
            sixth = tcp_read_msg(s)
        except OSError:
            pass
        s.close()
        res.check(ids == [101, 102, 103, 104, 105] and t is not None and
                  t < 1.0 and sixth is None,
                  "5 sequential queries answered, then closed; the 6th gets "
                  "no answer", f"ids {ids}, closed after {t}, 6th {sixth!r}")
        d.check_alive(res, "after max-queries checks")
    finally:
        d.stop(res)


def main():
    args = std_args(__doc__)
    res = Results("integ_tcp")
    work = tempdir("tcp")
    port = free_port()
    conf = write(os.path.join(work, "acmedns.conf"), base_config(
        port, work, ipv6=have_ipv6(), records=RECORDS,
        extra_dns=(f"tcp_idle_timeout = {IDLE}\ntcp_max_clients = 256\n")))
    d = Daemon(args.acmedns, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        res.finish()
    busy = []
    try:
        pipelining(res, port)
        split_writes(res, port)
        slow_reader(res, port)
        idle_timeout(res, port)
        slow_and_stuck_clients(res, port)
        many_connections(res, port)
        d.check_alive(res, "after the TCP abuse")
        # shut down with connections open: idle ones, a half-sent query,
        # and one with megabytes of answers it does not read
        res.section("SIGTERM with busy connections")
        busy += [tcp_connect(LOOPBACK4, port) for _ in range(20)]
        busy[0].sendall(b"\x00\x40\x12\x34")
        busy[1].sendall(b"".join(frame(build_query(f"big.{DOMAIN}", "TXT",
                                                   qid=i))
                                 for i in range(4000)))
        time.sleep(0.3)
    finally:
        d.stop(res)
    for s in busy:
        s.close()
    max_queries(res, args.acmedns)
    res.finish()


if __name__ == "__main__":
    main()
