#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test 4: bad input against the real daemon. 2,000 random
packets and 2,000 mutated valid queries (bit flips, truncations, changed
count fields, inserted compression pointers, bad label lengths, junk) over
UDP, and 300 mutated queries framed over TCP. The daemon must stay up, and
every response must parse with a strict parser, have QR=1, the query's ID
and opcode, echo the question bytes when it has one, respect the UDP size
limits, and arrive exactly once for every packet that deserves one (at
least a header and QR=0); nothing comes back for runts and QR=1 packets.
A sample of responses is also decoded by `drill -i`. Seeded RNG."""

import os
import random
import socket
import struct
import time

from harness import (LOOPBACK4, Daemon, DNSParseError, Message, Results,
                     base_config, build_query, frame, free_port, recv_exact,
                     run, std_args, tempdir, write)

DOMAIN = "auth.example.test"
RECORDS = [
    "ns1.auth.example.test. A 127.0.0.1",
    "ns1.auth.example.test. AAAA ::1",
    "www.auth.example.test. A 192.0.2.80",
    "auth.example.test. MX 10 mail.auth.example.test.",
    "mail.auth.example.test. A 192.0.2.25",
    'auth.example.test. CAA 0 issue "letsencrypt.org"',
    "alias.auth.example.test. CNAME www.auth.example.test.",
    "*.wild.auth.example.test. TXT \"wild\"",
    'txt.auth.example.test. TXT "one" "two"',
] + [f'big.auth.example.test. TXT "{i:02d}-' + "x" * 120 + '"'
     for i in range(12)]


def valid_corpus():
    names = [DOMAIN, "www." + DOMAIN, "WwW.AuTh.example.TEST", "nope." + DOMAIN,
             "alias." + DOMAIN, "a.b.wild." + DOMAIN, "big." + DOMAIN,
             "txt." + DOMAIN, "example.com", "ns1." + DOMAIN, "."]
    types = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CAA", "ANY", "CNAME",
             "AXFR", "OPT", "TYPE65280"]
    out = []
    for n in names:
        for t in types:
            out.append(build_query(n, t))
            out.append(build_query(n, t, edns={"size": 1232, "do": True}))
    out.append(build_query("version.bind", "TXT", "CH"))
    out.append(build_query("id.server", "TXT", "CH", edns={}))
    out.append(build_query(DOMAIN, "SOA", edns={
        "size": 4096, "options": [(10, b"\x01" * 8), (12, b"\x00" * 20),
                                  (65000, b"x")]}))
    out.append(build_query(DOMAIN, "SOA", edns={"version": 1}))
    out.append(build_query(DOMAIN, "SOA", opcode=5))
    out.append(build_query(DOMAIN, "SOA", opcode=4))
    return out


def mutate(rng, q):
    b = bytearray(q)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        if op == 0 and b:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # truncation
            b = b[:rng.randint(0, len(b))]
        elif op == 2 and len(b) >= 12:  # count fields
            i = rng.choice((4, 6, 8, 10))
            v = rng.choice((0, 1, 2, 3, 255, 0x7FFF, 0xFFFF,
                            rng.randrange(65536)))
            b[i:i + 2] = struct.pack("!H", v)
        elif op == 3 and len(b) > 13:  # compression pointer
            i = rng.randrange(12, len(b) - 1)
            tgt = rng.choice((i, i + 2, 12, 0, rng.randrange(len(b) + 16),
                              rng.randrange(16384)))
            ptr = struct.pack("!H", 0xC000 | (tgt & 0x3FFF))
            if rng.random() < 0.5:
                b[i:i + 2] = ptr
            else:
                b[i:i] = ptr
        elif op == 4 and len(b) > 12:  # label length byte
            i = rng.randrange(12, len(b))
            b[i] = rng.choice((0, 63, 64, 0x40, 0x80, 0xBF, 0xFF,
                               rng.randrange(256)))
        elif op == 5:  # junk
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 40)))
        elif op == 6 and len(b) >= 12:  # header flags
            b[2] = rng.randrange(256) & 0x7F  # keep QR=0 mostly
            b[3] = rng.randrange(256)
        elif op == 7:  # extra OPT / records in the additional section
            rr = b"\x00" + struct.pack("!HHIH", rng.choice((41, 1, 16)),
                                        rng.randrange(65536),
                                        rng.randrange(1 << 32), 4) + b"abcd"
            b += rr
            if len(b) >= 12:
                ar = struct.unpack_from("!H", b, 10)[0]
                b[10:12] = struct.pack("!H", (ar + 1) & 0xFFFF)
        elif op == 8 and len(b) > 12:  # duplicate the question
            b += b[12:]
            b[4:6] = struct.pack("!H", 2)
    return bytes(b)


def random_packet(rng):
    r = rng.random()
    if r < 0.01:
        n = rng.choice((4095, 4096, 4097, rng.randint(4000, 9000)))
    elif r < 0.05:
        n = rng.randint(0, 11)
    elif r < 0.6:
        n = rng.randint(12, 64)
    else:
        n = rng.randint(12, 600)
    b = bytearray(rng.randrange(256) for _ in range(n))
    if n >= 3 and rng.random() < 0.7:
        b[2] &= 0x7F  # QR=0 so that most deserve an answer
    return bytes(b)


class Checker:
    """Judges responses against the packets that caused them."""

    def __init__(self, res, tag, tcp):
        self.res = res
        self.tag = tag
        self.tcp = tcp
        self.errors = []
        self.responses = 0
        self.expected = 0
        self.samples = []

    def deserves_answer(self, q):
        # UDP datagrams over 4096 bytes are not queries acmedns answers
        return (len(q) >= 12 and not q[2] & 0x80 and
                (self.tcp or len(q) <= 4096))

    def judge(self, q, r):
        self.responses += 1
        try:
            m = Message(r)
        except DNSParseError as e:
            self.errors.append(f"unparsable response ({e}): q={q.hex()} "
                               f"r={r.hex()}")
            return
        if len(self.samples) < 400:
            self.samples.append(r)
        why = []
        if not m.qr:
            why.append("QR=0")
        if q is None:
            why.append("response to no query we sent")
        else:
            if not self.deserves_answer(q):
                why.append("answered a runt or QR=1 packet")
            if r[:2] != q[:2]:
                why.append("ID differs")
            qop = (q[2] >> 3) & 0xF if len(q) >= 3 else 0
            if m.opcode != qop:
                why.append(f"opcode {m.opcode} != {qop}")
            if qop != 0 and m.rcode != 4:
                why.append(f"opcode {qop} answered with rcode {m.rcode}, "
                           "not NOTIMP")
            if m.counts[0] == 1:
                ql = len(m.question[0][3]) + 4
                if r[12:12 + ql] != q[12:12 + ql]:
                    why.append("question not echoed byte for byte")
            elif m.counts[0] != 0:
                why.append(f"QDCOUNT {m.counts[0]}")
        if m.tc and (m.answer or m.authority or m.additional):
            why.append("TC=1 with records")
        if not self.tcp:
            cap = 1232 if m.edns is not None else 512
            if len(r) > cap:
                why.append(f"{len(r)} bytes over UDP (limit {cap})")
        if m.ra:
            why.append("RA=1")
        if why:
            self.errors.append(f"{'; '.join(why)}: q={q.hex() if q else None}"
                               f" r={r.hex()}\n{m!r}")

    def report(self, what):
        self.res.check(not self.errors,
                       f"{self.tag}: {what}: every response strict-parses, "
                       "QR=1, same ID/opcode/question, size limits",
                       "\n".join(self.errors[:8]) +
                       (f"\n... {len(self.errors)} in all"
                        if len(self.errors) > 8 else ""))


def udp_batch(res, port, packets, tag):
    """Send packets (IDs made unique), collect responses."""
    chk = Checker(res, tag, tcp=False)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.connect((LOOPBACK4, port))
    sent = {}
    seen = {}
    unknown = []
    qid = 0
    window = 32

    def drain(quiet):
        deadline = time.monotonic() + quiet
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            s.settimeout(left)
            try:
                r = s.recv(65535)
            except socket.timeout:
                return
            except ConnectionRefusedError:
                return
            rid = r[:2]
            if len(r) >= 2 and rid in sent:
                seen[rid] = seen.get(rid, 0) + 1
                chk.judge(sent[rid], r)
            else:
                unknown.append(r)
                chk.judge(None, r)
            deadline = time.monotonic() + quiet

    for i in range(0, len(packets), window):
        for p in packets[i:i + window]:
            qid += 1
            if len(p) >= 2:
                p = struct.pack("!H", qid & 0xFFFF) + p[2:]
                sent[p[:2]] = p
            if chk.deserves_answer(p):
                chk.expected += 1
            try:
                s.send(p)
            except OSError:  # e.g. ECONNREFUSED from an earlier ICMP
                s.send(p)
        drain(0.05)
    drain(0.3)
    s.close()
    dup = sum(1 for v in seen.values() if v > 1)
    missing = [p for k, p in sent.items()
               if chk.deserves_answer(p) and k not in seen]
    chk.report(f"{len(packets)} packets, {chk.responses} responses")
    res.check(dup == 0, f"{tag}: no packet answered twice", f"{dup} dups")
    res.check(not missing,
              f"{tag}: all {chk.expected} packets with a header, QR=0 and "
              "at most 4096 bytes were answered", f"{len(missing)} unanswered, e.g. "
              f"{[m.hex() for m in missing[:3]]}")
    return chk


def tcp_batches(res, port, packets, tag, per_conn=10):
    chk = Checker(res, tag, tcp=True)
    problems = []
    qid = 0x8000
    for i in range(0, len(packets), per_conn):
        group = []
        for p in packets[i:i + per_conn]:
            qid += 1
            if len(p) >= 2:
                p = struct.pack("!H", qid & 0xFFFF) + p[2:]
            group.append(p)
        # what should come back, in order: answers up to the first empty
        # frame (the server gives up on a connection that sends one)
        want = []
        for p in group:
            if len(p) == 0:
                break
            if chk.deserves_answer(p):
                want.append(p)
        chk.expected += len(want)
        s = socket.create_connection((LOOPBACK4, port), timeout=3)
        try:
            s.sendall(b"".join(frame(p) for p in group))
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may already have closed on an empty frame
        got = []
        try:
            while True:
                hdr = s.recv(2, socket.MSG_WAITALL)
                if len(hdr) < 2:
                    break
                ln = struct.unpack("!H", hdr)[0]
                got.append(recv_exact(s, ln))
        except (socket.timeout, OSError) as e:
            if isinstance(e, socket.timeout):
                problems.append(f"connection {i // per_conn}: no EOF within "
                                "3 s")
        s.close()
        for k, r in enumerate(got):
            chk.judge(want[k] if k < len(want) else None, r)
        if len(got) != len(want):
            problems.append(f"connection {i // per_conn}: {len(got)} answers,"
                            f" expected {len(want)}")
    chk.report(f"{len(packets)} framed packets, {chk.responses} responses")
    res.check(not problems, f"{tag}: answers in order, one per query, "
              "then EOF", "\n".join(problems[:8]))
    return chk


def drill_sample(res, work, samples, rng):
    if not samples:
        return
    pick = rng.sample(samples, min(20, len(samples)))
    bad = []
    for k, r in enumerate(pick):
        path = os.path.join(work, f"resp{k}.hex")
        write(path, r.hex() + "\n")
        rc, out, err = run(["drill", "-i", path], timeout=10)
        if "Error" in out + err or "->>HEADER<<-" not in out:
            bad.append(f"{r.hex()}: {(out + err).strip()[:300]}")
    res.check(not bad, f"drill -i decodes a sample of {len(pick)} responses",
              "\n".join(bad[:5]))


def main():
    def extra(p):
        p.add_argument("--seed", type=int,
                       default=int(os.environ.get("ACMEDNS_FUZZ_SEED", "20261122")))
        p.add_argument("--count", type=int, default=2000)
        p.add_argument("--tcp-count", type=int, default=300)
    args = std_args(__doc__, extra)
    res = Results("integ_badinput")
    print(f"seed {args.seed} (override with --seed or ACMEDNS_FUZZ_SEED)")
    rng = random.Random(args.seed)
    work = tempdir("badinput")
    port = free_port()
    conf = write(os.path.join(work, "acmedns.conf"), base_config(
        port, work, records=RECORDS, extra_dns="tcp_idle_timeout = 3\n"))
    d = Daemon(args.acmedns, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        res.finish()
    samples = []
    try:
        res.section("UDP: random packets")
        pk = [random_packet(rng) for _ in range(args.count)]
        samples += udp_batch(res, port, pk, "udp random").samples
        d.check_alive(res, "after random UDP packets")

        res.section("UDP: mutated valid queries")
        corpus = valid_corpus()
        # the unmutated corpus first: all must be answered
        samples += udp_batch(res, port, corpus, "udp corpus").samples
        pk = [mutate(rng, rng.choice(corpus)) for _ in range(args.count)]
        samples += udp_batch(res, port, pk, "udp mutated").samples
        d.check_alive(res, "after mutated UDP queries")

        res.section("TCP: mutated valid queries, framed")
        pk = [mutate(rng, rng.choice(corpus)) for _ in range(args.tcp_count)]
        samples += tcp_batches(res, port, pk, "tcp mutated").samples
        d.check_alive(res, "after mutated TCP queries")

        res.section("drill -i on a sample")
        drill_sample(res, work, samples, rng)
    finally:
        d.stop(res)
    res.finish()


if __name__ == "__main__":
    main()
