#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of the DNS fuzz harnesses (python3 stdlib only).

packet/: DNS queries as a client sends them - many qtypes and classes over
the names of the zone that tests/fuzz/fuzz_packet.c builds (apex
fz.example; keep NAMES below in step with it), every opcode, EDNS(0)
variants (sizes, DO, version 1, cookies of every length, unknown options),
header flag combinations, 0x20 case, and malformed queries: runts, wrong
section counts, compressed / forward / looping pointers, bad label types,
overlong names, truncated questions, bad OPT records.

name/: wire-format names (plain, escaped bytes, maximum length, compressed
chains inside a small message, broken pointers) and presentation-format
strings, for tests/fuzz/fuzz_name.c.

Usage: scripts/fuzz-seeds.py [CORPUS_DIR]   (default tests/fuzz/corpus)
Files are named seed-<what>; existing seed-* files are replaced, other
files (fuzzer-found inputs) are left alone.
"""
import os
import struct
import sys

APEX = "fz.example"

# owner names of fuzz_packet.c's zone, relative to the apex
NAMES = [
    "@", "ns1", "ns2", "mail", "www", "web", "out", "dangling", "loop1",
    "chain0", "chain9", "chain10", "tomx", "foo.wild", "a.b.wild", "x.wild",
    "zz.cwild", "a.b.c.deep", "c.deep", "ptr", "_https._tcp", "hinfo", "big",
    "many", "sub1", "_443._tcp.sub1", "_25._tcp.sub1", "_tcp.sub1", "sub2",
    "sub3", "stale", "future", "deep.sub1", "dup", "totxt", "nomail",
    "nxdomain", "x.nx.sub2",
]

T = dict(A=1, NS=2, CNAME=5, SOA=6, PTR=12, HINFO=13, MX=15, TXT=16,
         AAAA=28, SRV=33, DNAME=39, OPT=41, DS=43, RRSIG=46, NSEC=47,
         DNSKEY=48, NSEC3=50, TLSA=52, HTTPS=65, TKEY=249, TSIG=250,
         IXFR=251, AXFR=252, MAILB=253, MAILA=254, ANY=255, CAA=257)
C = dict(IN=1, CH=3, HS=4, NONE=254, ANY=255)


def wire(name, origin=APEX):
    """Presentation name -> uncompressed wire format (no escapes)."""
    if name == "@":
        name = origin + "."
    elif not name.endswith("."):
        name = name + "." + origin + "."
    out = b""
    for label in name[:-1].split(".") if name != "." else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def opt(udp=1232, ext=0, version=0, do=False, options=b"", owner=b"\0",
        rdlen=None):
    flags = 0x8000 if do else 0
    ttl = ext << 24 | version << 16 | flags
    rd = len(options) if rdlen is None else rdlen
    return owner + struct.pack("!HHIH", 41, udp, ttl, rd) + options


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def cookie(client=b"\x01" * 8, server=b""):
    return option(10, client + server)


def query(name, qtype="A", qclass="IN", qid=0x1234, flags=0x0100,
          edns=None, extra=b"", ar=None):
    qn = name if isinstance(name, bytes) else wire(name)
    qt = T[qtype] if isinstance(qtype, str) else qtype
    qc = C[qclass] if isinstance(qclass, str) else qclass
    add = (edns or b"") + extra
    if ar is None:
        ar = (1 if edns else 0) + (1 if extra else 0)
    return header(qid, flags, 1, 0, 0, ar) + qn + struct.pack("!HH", qt, qc) + add


def packet_seeds():
    s = {}
    e = opt()
    # every zone name with the types it has, plus A/TXT/ANY
    common = ["A", "TXT", "ANY"]
    for n in NAMES:
        tag = n.replace("@", "apex").replace(".", "_")
        for t in common:
            s[f"{tag}-{t}"] = query(n, t, edns=e if t != "A" else None)
    for t in T:
        s[f"apex-type-{t}"] = query("@", t, edns=e)
    for t in ["TLSA"]:
        s["tlsa-443"] = query("_443._tcp.sub1", t, edns=opt(4096))
        s["tlsa-25-noedns"] = query("_25._tcp.sub1", t)
    s["mx-tomx"] = query("tomx", "MX", edns=e)
    s["ns-apex-noedns"] = query("@", "NS")
    s["mx-apex-512"] = query("@", "MX", edns=opt(512))
    s["srv"] = query("_https._tcp", "SRV", edns=e)
    s["ptr"] = query("ptr", "PTR", edns=e)
    s["type0"] = query("www", 0, edns=e)
    s["type65535"] = query("www", 65535, edns=e)
    s["type65280"] = query("sub1", 65280)
    s["out-of-zone"] = query(b"\7example\3com\0", "A", edns=e)
    s["root"] = query(b"\0", "NS", edns=e)
    s["parent"] = query(b"\7example\0", "SOA")
    s["case-0x20"] = query(b"\3wWw\2Fz\7ExAmPlE\0", "A", edns=e)
    s["case-sub3"] = query(b"\4SUB3\2fz\7example\0", "TXT", edns=opt(65535))
    s["maxlen-owner"] = query(
        wire(".".join(c * n for c, n in zip("abcd", (63, 63, 63, 50)))),
        "TXT", edns=e)
    # classes: CH with the special names, others refused
    for q in ["version.bind.", "version.server.", "id.server.",
              "hostname.bind.", "authors.bind."]:
        for t in ["TXT", "ANY", "A"]:
            s[f"ch-{q[:-1].replace('.', '_')}-{t}"] = query(
                wire(q), t, "CH")
    s["ch-version-edns"] = query(wire("VERSION.BIND."), "TXT", "CH", edns=e)
    for c in ["HS", "NONE", "ANY"]:
        s[f"class-{c}"] = query("www", "A", c)
    s["class-0"] = query("www", "A", 0)
    s["class-65535"] = query("www", "A", 65535)
    # opcodes (QUERY=0 is everywhere above)
    for op in [1, 2, 3, 4, 5, 6, 15]:
        s[f"opcode-{op}"] = query("@", "SOA", flags=op << 11)
        s[f"opcode-{op}-edns"] = query("@", "SOA", flags=op << 11, edns=e)
    s["notify-qd0"] = header(flags=4 << 11, qd=0)
    # header flags
    for name, f in [("rd0", 0), ("cd", 0x0110), ("ad", 0x0120),
                    ("z", 0x0140), ("tc", 0x0300), ("aa", 0x0500),
                    ("ra", 0x0180), ("rcode5", 0x0105), ("all", 0x7FFF)]:
        s[f"flags-{name}"] = query("web", "A", flags=f, edns=e)
    s["qr-set"] = query("web", "A", flags=0x8100)
    # EDNS variants
    for udp in [0, 1, 511, 512, 513, 1232, 1400, 4096, 65535]:
        s[f"edns-udp{udp}"] = query("many", "A", edns=opt(udp))
    s["edns-do"] = query("big", "TXT", edns=opt(do=True))
    s["edns-v1"] = query("www", "A", edns=opt(version=1))
    s["edns-v255-do"] = query("www", "A", edns=opt(version=255, do=True))
    s["edns-extrcode"] = query("www", "A", edns=opt(ext=1))
    s["edns-flags"] = query("www", "A", edns=opt()[:7] + b"\x7f\xff\0\0")
    s["cookie-client"] = query("sub1", "TXT", edns=opt(options=cookie()))
    for sl in [8, 16, 24, 32]:
        s[f"cookie-server{sl}"] = query(
            "sub1", "TXT", edns=opt(options=cookie(server=b"\x02" * sl)))
    for bad in [0, 5, 9, 15, 33, 40]:
        s[f"cookie-bad{bad}"] = query(
            "sub1", "TXT", edns=opt(options=option(10, b"\3" * bad)))
    s["cookie-twice"] = query(
        "sub1", "TXT", edns=opt(options=cookie() + cookie()))
    s["opt-unknown"] = query(
        "www", "A", edns=opt(options=option(3, b"") + option(65001, b"xyz")
                             + option(8, b"\0\1\x18\0\xc0\0\2")))
    s["opt-padding"] = query("www", "A",
                             edns=opt(options=option(12, b"\0" * 100)))
    s["opt-trunc-option"] = query("www", "A",
                                  edns=opt(options=b"\0\x0a\0\x08\1\2"))
    s["opt-rdlen-past-end"] = query("www", "A", edns=opt(rdlen=40))
    s["opt-owner-nonroot"] = query("www", "A", edns=opt(owner=wire("@")))
    s["opt-owner-ptr"] = query("www", "A", edns=opt(owner=b"\xc0\x0c"))
    s["opt-twice"] = query("www", "A", edns=opt() + opt(), ar=2)
    s["opt-half"] = query("www", "A", edns=opt()[:7])
    s["opt-then-tsig"] = query(
        "www", "A", edns=opt(),
        extra=wire("key.") + struct.pack("!HHIH", 250, 255, 0, 4) + b"abcd")
    s["tsig-trunc"] = query(
        "www", "A",
        extra=wire("key.") + struct.pack("!HHIH", 250, 255, 0, 40) + b"ab")
    s["ar-count-high"] = query("www", "A", edns=e, ar=5)
    s["trailing-garbage"] = query("www", "A") + b"\xde\xad\xbe\xef" * 8
    # malformed
    q = query("www", "A")
    for n in [0, 1, 2, 11, 12, 13, 20, len(q) - 1]:
        s[f"runt-{n}"] = q[:n]
    s["qd0"] = header(qd=0)
    s["qd0-edns"] = header(qd=0, ar=1) + opt()
    s["qd2"] = header(qd=2) + (wire("www") + b"\0\1\0\1") * 2
    s["an1"] = header(an=1) + wire("www") + b"\0\1\0\1"
    s["ns1"] = header(ns=1) + wire("www") + b"\0\1\0\1"
    s["an1-edns"] = header(an=1, ar=1) + wire("www") + b"\0\1\0\1" + opt()
    s["qname-ptr-to-hdr"] = header() + b"\xc0\x00\0\1\0\1"
    s["qname-ptr-self"] = header() + b"\xc0\x0c\0\1\0\1"
    s["qname-ptr-forward"] = header() + b"\3www\xc0\x20\0\1\0\1" + \
        b"\0" * 20 + wire("@")
    s["qname-loop"] = header() + b"\1a\xc0\x0c\0\1\0\1"
    s["qname-label-0x40"] = header() + b"\x41" + b"x" * 10 + b"\0\0\1\0\1"
    s["qname-label-0x80"] = header() + b"\x81x\0\0\1\0\1"
    s["qname-label-64"] = header() + b"\x40" + b"x" * 64 + b"\0\0\1\0\1"
    s["qname-256"] = header() + (b"\x3f" + b"y" * 63) * 4 + b"\0\0\1\0\1"
    s["qname-255"] = header() + (b"\x3f" + b"y" * 63) * 3 + \
        b"\x3e" + b"y" * 62 + b"\0\0\1\0\1"
    s["qname-unterminated"] = header() + b"\3www\2fz"
    s["question-no-type"] = header() + wire("www")
    s["question-half-type"] = header() + wire("www") + b"\0"
    s["question-no-class"] = header() + wire("www") + b"\0\1"
    s["additional-ptr-loop"] = query("www", "A", extra=b"\xc0\x1d" +
                                     struct.pack("!HHIH", 1, 1, 0, 0), ar=1)
    s["additional-fwd-ptr"] = query("www", "A", extra=b"\xc0\xff" +
                                    struct.pack("!HHIH", 1, 1, 0, 0), ar=1)
    s["additional-compressed-ok"] = query(
        "www", "A", extra=b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 0, 4) +
        b"\1\2\3\4", ar=1)
    s["tcp-size"] = query("sub3", "ANY", edns=opt(65535, do=True))
    return s


def name_seeds():
    s = {}
    for n in ["@", "www", "_443._tcp.sub1", "a.b.c.deep", "*.wild"]:
        s["wire-" + n.replace("@", "apex").replace("*", "star")] = wire(n)
    s["wire-root"] = b"\0"
    s["wire-escapes"] = b"\4a.b\\\3\x00\x7f\xff\2@$\1 \0"
    s["wire-maxlen"] = (b"\x3f" + b"m" * 63) * 3 + b"\x3e" + b"n" * 62 + b"\0"
    s["wire-toolong"] = (b"\x3f" + b"m" * 63) * 4 + b"\0"
    s["wire-many-labels"] = b"\1a" * 127 + b"\0"
    s["wire-label-0x40"] = b"\x40" + b"x" * 64 + b"\0"
    s["wire-label-0x80"] = b"\x80\0"
    # a message-like buffer with chains of compressed names
    m = header() + wire("www") + b"\xc0\x10" + b"\1a\xc0\x0c" + \
        b"\1b\xc0\x16" + b"\2cc\xc0\x1a"
    s["msg-chain"] = m
    s["msg-loop"] = header() + b"\1a\xc0\x0e\1b\xc0\x0c"
    s["msg-self"] = header() + b"\xc0\x0c"
    s["msg-forward"] = header() + b"\xc0\x10\0\0\3www\0"
    s["msg-ptr-trunc"] = header() + b"\3www\xc0"
    # 100 distinct one-byte labels, then 15 names each one label longer
    # than the last by pointer (a chain of 15 hops: 130 steps to walk),
    # then a name equal to the first 113 labels of the deepest one. A
    # compressor that gives up walking a chain after 128 steps sees those
    # 113 labels as the whole deepest name and points the last name at it.
    labels = [bytes([1, c]) for c in range(0x80, 0xE4)]
    chain = b"".join(labels) + b"\0"
    prev, prefixes = 0, []
    for i in range(15):
        p = bytes([1, 0x30 + i])
        prefixes.insert(0, p)
        start = len(chain)
        chain += p + struct.pack("!H", 0xC000 | prev)
        prev = start
    chain += b"".join(prefixes) + b"".join(labels[:98]) + b"\0"
    s["msg-deep-chain"] = chain
    # odd first byte: fuzz_name.c writes these near offset 0x4000, where the
    # second name starts within reach of a pointer but its labels do not
    a = (b"\x3f" + b"a" * 63) * 3 + b"\x3e" + b"a" * 62 + b"\0"
    b = (b"\x3f" + b"b" * 63) * 3 + b"\x3e" + b"c" * 62 + b"\0"
    s["msg-straddle-0x4000"] = a + b + b"\x3e" + b"c" * 62 + b"\0"
    for t in ["www.example.com.", "www.example.com", "@", ".", "a..b",
              "\\046.\\\\.\\000\\255", "\\256.x", "\\1.", "x\\", "*.wild",
              "a" * 63 + ".b", "a" * 64 + ".b", ".".join(["a"] * 128),
              "\\065\\066C.", "sp\\ ace.(paren).", "\"quoted\".x."]:
        s["text-" + "".join(c if c.isalnum() else "_" for c in t)[:40]] = \
            t.encode()
    return s


def write(dirpath, seeds):
    os.makedirs(dirpath, exist_ok=True)
    for f in os.listdir(dirpath):
        if f.startswith("seed-"):
            os.remove(os.path.join(dirpath, f))
    for k, v in seeds.items():
        with open(os.path.join(dirpath, "seed-" + k), "wb") as fh:
            fh.write(v)
    print(f"{dirpath}: {len(seeds)} seeds")


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz",
        "corpus")
    write(os.path.join(root, "packet"), packet_seeds())
    write(os.path.join(root, "name"), name_seeds())


if __name__ == "__main__":
    main()
