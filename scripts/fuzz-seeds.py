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

acme/: what an ACME server sends, for tests/fuzz/fuzz_acme.c (first byte
selects the parser: d directory, a account, o order, z authz, c challenge,
p problem, r renewalInfo, t RFC 3339 time, y Retry-After, l Link with the
rel chosen by the second byte): Pebble 2.4 and Let's Encrypt shaped
bodies, RFC 8555 examples, and broken variants (wrong types, missing
members, truncation, bad URLs, NUL escapes, deep nesting, lists over the
cap). The PEM seeds (x chain, s CSR) are static files made with openssl
(x-*.pem, s-*.pem); this script leaves them alone.

Usage: scripts/fuzz-seeds.py [CORPUS_DIR]   (default tests/fuzz/corpus)
Files are named seed-<what>; existing seed-* files are replaced, other
files (fuzzer-found inputs) are left alone.
"""
import json
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


ACME_URN = "urn:ietf:params:acme:error:"
PB = "https://127.0.0.1:14000"
LE = "https://acme-v02.api.letsencrypt.org"


def js(obj, pretty=False):
    return json.dumps(obj, indent=3 if pretty else None).encode()


def acme_seeds():
    s = {}
    # ---- directories
    pebble_dir = {
        "keyChange": PB + "/rollover-account-key",
        "meta": {"externalAccountRequired": False,
                 "termsOfService": "data:text/plain,Do%20what%20thou%20wilt"},
        "newAccount": PB + "/sign-me-up", "newNonce": PB + "/nonce-plz",
        "newOrder": PB + "/order-plz", "revokeCert": PB + "/revoke-cert"}
    le_dir = {
        "Qm9vdWxkZXI": "https://community.letsencrypt.org/t/33417",
        "keyChange": LE + "/acme/key-change",
        "meta": {"caaIdentities": ["letsencrypt.org"],
                 "profiles": {"classic": "https://letsencrypt.org/p#c",
                              "shortlived": "https://letsencrypt.org/p#s",
                              "tlsserver": "https://letsencrypt.org/p#t"},
                 "termsOfService": "https://letsencrypt.org/sa.pdf",
                 "website": "https://letsencrypt.org"},
        "newAccount": LE + "/acme/new-acct", "newNonce": LE + "/acme/new-nonce",
        "newOrder": LE + "/acme/new-order",
        "renewalInfo": LE + "/draft-ietf-acme-ari-03/renewalInfo",
        "revokeCert": LE + "/acme/revoke-cert"}
    s["d-pebble"] = b"d" + js(pebble_dir, True)
    s["d-le"] = b"d" + js(le_dir, True)
    s["d-rfc8555-eab"] = b"d" + js({
        "newNonce": "https://example.com/acme/new-nonce",
        "newAccount": "https://example.com/acme/new-account",
        "newOrder": "https://example.com/acme/new-order",
        "newAuthz": "https://example.com/acme/new-authz",
        "revokeCert": "https://example.com/acme/revoke-cert",
        "keyChange": "https://example.com/acme/key-change",
        "meta": {"termsOfService": "https://example.com/acme/terms/2017-5-30",
                 "website": "https://www.example.com/",
                 "caaIdentities": ["example.com"],
                 "externalAccountRequired": True}})
    d3 = b'"newNonce":"https://ca/n","newAccount":"https://ca/a",' \
         b'"newOrder":"https://ca/o"'
    s["d-minimal"] = b"d{" + d3 + b"}"
    s["d-truncated"] = b"d" + js(le_dir)[:150]
    s["d-trailing"] = b"d{" + d3 + b"} {}"
    s["d-missing-nonce"] = b'd{"newAccount":"https://ca/a","newOrder":"x"}'
    s["d-wrong-type"] = b'd{"newNonce":1,"newAccount":[],"newOrder":{}}'
    s["d-bad-scheme"] = b"d{" + d3.replace(b"https://ca/o", b"ftp://ca/o") \
        + b"}"
    s["d-crlf-url"] = b"d{" + d3.replace(b"ca/o", b"ca/o\\r\\nX: y") + b"}"
    s["d-nul-escape"] = b"d{" + d3.replace(b"ca/n", b"ca/n\\u0000x") + b"}"
    s["d-escaped-backslash"] = b"d{" + d3 + b',"x":"\\\\u0000"}'
    s["d-raw-nul"] = b"d{" + d3 + b"}\0"
    s["d-long-url"] = b"d{" + d3.replace(b"ca/n", b"ca/" + b"n" * 2100) + b"}"
    s["d-profiles-array"] = b"d{" + d3 + b',"meta":{"profiles":["a"]}}'
    s["d-profiles-many"] = b"d{" + d3 + b',"meta":{"profiles":{' + \
        b",".join(b'"p%d":""' % i for i in range(1001)) + b"}}}"
    s["d-deep"] = b"d{" + d3 + b',"x":' + b"[" * 1100 + b"]" * 1100 + b"}"
    s["d-null-members"] = b"d{" + d3 + b',"meta":null,"keyChange":null}'
    s["d-bom"] = b"d\xef\xbb\xbf{" + d3 + b"}"
    s["d-surrogates"] = b"d{" + d3 + b',"meta":{"website":"https://\\ud83d' \
        b'\\ude00","termsOfService":"\\udc00"}}'
    s["d-array"] = b"d[" + js(pebble_dir) + b"]"
    # ---- accounts
    s["a-pebble"] = b"a" + js({
        "status": "valid", "contact": ["mailto:admin@example.test"],
        "orders": PB + "/list-orderz/1",
        "key": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"}}, True)
    s["a-le"] = b"a" + js({
        "key": {"kty": "RSA", "n": "x", "e": "AQAB"},
        "contact": ["mailto:a@example.com", "mailto:b@example.com"],
        "initialIp": "192.0.2.1", "createdAt": "2026-12-01T10:00:00Z",
        "status": "valid"})
    s["a-deactivated"] = b'a{"status":"deactivated"}'
    s["a-contact-string"] = b'a{"status":"valid","contact":"mailto:a@b"}'
    s["a-contact-mixed"] = b'a{"status":"valid","contact":["mailto:a@b",7]}'
    s["a-no-status"] = b'a{"contact":[]}'
    s["a-orders-file"] = b'a{"status":"valid","orders":"file:///etc/passwd"}'
    # ---- orders
    ids = [{"type": "dns", "value": "example.test"},
           {"type": "dns", "value": "*.example.test"}]
    pebble_order = {
        "status": "pending", "expires": "2026-12-02T10:00:00Z",
        "identifiers": ids,
        "finalize": PB + "/finalize-order/Xb3t8mG2kJ7m6kNq3QpQ1Q",
        "authorizations": [PB + "/authZ/fV4cTKL5kDq2dA7h8y1w1A",
                           PB + "/authZ/0b5q5ZtKcVhK3WTxTFFjZw"]}
    s["o-pebble-pending"] = b"o" + js(pebble_order, True)
    s["o-pebble-ready"] = b"o" + js(dict(pebble_order, status="ready"))
    s["o-pebble-processing"] = b"o" + js(dict(pebble_order,
                                              status="processing"))
    s["o-le-valid"] = b"o" + js({
        "status": "valid", "expires": "2026-12-08T10:11:12Z",
        "identifiers": [{"type": "dns", "value": "www.example.com"}],
        "profile": "classic",
        "authorizations": [LE + "/acme/authz/1234567/987654321"],
        "finalize": LE + "/acme/finalize/1234567/11223344",
        "certificate": LE + "/acme/cert/04a1b2c3d4e5f60718293a4b5c6d7e8f9a0b"},
        True)
    s["o-le-invalid"] = b"o" + js({
        "status": "invalid", "expires": "2026-12-08T10:11:12.5Z",
        "identifiers": ids, "authorizations": [],
        "finalize": LE + "/acme/finalize/1/2",
        "error": {"type": ACME_URN + "unauthorized",
                  "detail": "Error finalizing order :: authorizations for "
                            "these identifiers not found: b.example.com",
                  "status": 403,
                  "subproblems": [{"type": ACME_URN + "unauthorized",
                                   "detail": "no authz",
                                   "identifier": ids[1]}]}})
    s["o-no-finalize"] = b"o" + js({k: v for k, v in pebble_order.items()
                                    if k != "finalize"})
    s["o-bad-status"] = b"o" + js(dict(pebble_order, status="done"))
    s["o-bad-expires"] = b"o" + js(dict(pebble_order, expires="tomorrow"))
    s["o-authz-relative"] = b"o" + js(dict(pebble_order,
                                           authorizations=["/authZ/1"]))
    s["o-ident-no-value"] = b"o" + js(dict(pebble_order,
                                           identifiers=[{"type": "dns"}]))
    s["o-error-string"] = b"o" + js(dict(pebble_order, error="boom"))
    s["o-many-authzs"] = b"o" + js(dict(pebble_order, authorizations=[
        PB + "/authZ/x"] * 1001))
    s["o-truncated"] = b"o" + js(pebble_order)[:-7]
    # ---- authorizations and challenges
    def ch(t, tok, st="pending", url=None, **kw):
        c = {"type": t, "url": url or PB + "/chalZ/" + t, "token": tok,
             "status": st}
        c.update(kw)
        return c
    tok = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
    pebble_authz = {
        "status": "pending",
        "identifier": {"type": "dns", "value": "example.test"},
        "challenges": [ch("tls-alpn-01", tok), ch("http-01", tok),
                       ch("dns-01", tok)],
        "expires": "2026-12-01T11:00:00+01:00"}
    s["z-pebble"] = b"z" + js(pebble_authz, True)
    s["z-le-wildcard-valid"] = b"z" + js({
        "identifier": {"type": "dns", "value": "example.com"},
        "status": "valid", "expires": "2026-12-31T23:59:59Z",
        "challenges": [ch("dns-01", "DGyRejmCefe7v4NfDGDKfA", "valid",
                          LE + "/acme/chall/1234567/987654321/Pq8rXw",
                          validated="2026-12-01T10:00:03.123456789Z",
                          validationRecord=[{
                              "hostname": "example.com",
                              "resolverAddrs": ["10.1.2.3:53"]}])],
        "wildcard": True}, True)
    s["z-le-invalid"] = b"z" + js({
        "identifier": {"type": "dns", "value": "example.com"},
        "status": "invalid", "expires": "2026-12-31T23:59:59Z",
        "challenges": [ch("dns-01", "DGyRejmCefe7v4NfDGDKfA", "invalid",
                          validated="2026-12-01T10:00:03Z",
                          error={"type": ACME_URN + "unauthorized",
                                 "detail": "Incorrect TXT record \"abc\" "
                                           "found at _acme-challenge."
                                           "example.com",
                                 "status": 403})]})
    s["z-unknown-types"] = b"z" + js({
        "identifier": {"type": "ip", "value": "192.0.2.1"},
        "status": "deactivated",
        "challenges": [{"type": "dns-persist-01", "url": PB + "/p",
                        "status": "pending",
                        "issuer-domain-names": ["ca.test"]},
                       {"type": "future-99", "url": "gopher://x",
                        "token": 7, "status": "weird", "error": 3},
                       ch("dns-01", "tok_-9", "processing")]})
    s["z-dns01-no-token"] = b"z" + js(dict(pebble_authz, challenges=[
        {"type": "dns-01", "url": PB + "/c", "status": "pending"}]))
    s["z-dns01-bad-token"] = b"z" + js(dict(pebble_authz, challenges=[
        ch("dns-01", "../a+b/c=")]))
    s["z-dns01-long-token"] = b"z" + js(dict(pebble_authz, challenges=[
        ch("dns-01", "A" * 257)]))
    s["z-wildcard-string"] = b"z" + js(dict(pebble_authz, wildcard="true"))
    s["z-no-identifier"] = b"z" + js({k: v for k, v in pebble_authz.items()
                                      if k != "identifier"})
    s["z-challenges-object"] = b"z" + js(dict(pebble_authz, challenges={}))
    s["z-empty-challenges"] = b"z" + js(dict(pebble_authz, challenges=[]))
    s["c-pebble-processing"] = b"c" + js(ch("dns-01", tok, "processing"),
                                         True)
    s["c-le-invalid"] = b"c" + js(json.loads(s["z-le-invalid"][1:])[
        "challenges"][0])
    s["c-http01-only-type"] = b'c{"type":"http-01"}'
    s["c-no-type"] = b'c{"url":"https://ca/c"}'
    s["c-nul-token"] = b'c{"type":"dns-01","url":"https://ca/c",' \
        b'"token":"t\\u0000x","status":"pending"}'
    # ---- problems
    s["p-le-ratelimited"] = b"p" + js({
        "type": ACME_URN + "rateLimited",
        "detail": "too many certificates (5) already issued for this exact "
                  "set of identifiers in the last 168h0m0s, retry after "
                  "2026-12-02 10:00:00 UTC",
        "status": 429}, True)
    s["p-pebble-badnonce"] = b"p" + js({
        "type": ACME_URN + "badNonce",
        "detail": "JWS has an invalid anti-replay nonce: \"abc\"",
        "status": 400}, True)
    s["p-le-subproblems"] = b"p" + js({
        "type": ACME_URN + "rejectedIdentifier",
        "detail": "Error creating new order :: Cannot issue for "
                  "\"bad..example.com\"",
        "status": 400,
        "subproblems": [
            {"type": ACME_URN + "malformed",
             "detail": "Domain name contains an invalid character",
             "status": 400,
             "identifier": {"type": "dns", "value": "bad..example.com"}},
            {"type": ACME_URN + "caa", "detail": "CAA forbids issuance",
             "identifier": {"type": "dns", "value": "caa.example.com"}}]},
        True)
    s["p-rfc7807"] = b"p" + js({
        "type": "https://example.com/probs/out-of-credit",
        "title": "You do not have enough credit.",
        "detail": "Your current balance is 30, but that costs 50.",
        "instance": "/account/12345/msgs/abc", "status": 403.0})
    s["p-empty"] = b"p{}"
    s["p-control-utf8"] = b'p{"type":"' + ACME_URN.encode() + \
        b'serverInternal","detail":"a\\n\\u001b[31m\xc3\xa9\xe2\x82\xac' \
        b'\xff\xc0\xaf\xed\xa0\x80\\u00e9"}'
    s["p-long-detail"] = b'p{"detail":"' + b"x" * 5000 + b'"}'
    s["p-status-string"] = b'p{"status":"429"}'
    s["p-status-float"] = b'p{"status":429.5}'
    s["p-status-huge"] = b'p{"status":1e308}'
    s["p-sub-bad"] = b'p{"subproblems":[{},{"identifier":"x"}]}'
    s["p-many-subs"] = b'p{"subproblems":[' + b",".join(
        [b"{}"] * 1001) + b"]}"
    s["p-not-object"] = b'p"' + ACME_URN.encode() + b'badNonce"'
    # ---- renewalInfo (RFC 9773 §4.2)
    s["r-ari"] = b"r" + js({
        "suggestedWindow": {"start": "2026-12-20T00:00:00Z",
                            "end": "2026-12-22T00:00:00Z"},
        "explanationURL": "https://acme.example.com/docs/ari"}, True)
    s["r-equal"] = b'r{"suggestedWindow":{"start":"2026-12-20T00:00:00.9Z",' \
        b'"end":"2026-12-20T01:00:00+01:00"}}'
    s["r-reversed"] = b'r{"suggestedWindow":{"start":"2026-12-22T00:00:00Z",' \
        b'"end":"2026-12-20T00:00:00Z"}}'
    s["r-numbers"] = b'r{"suggestedWindow":{"start":1,"end":2}}'
    s["r-no-window"] = b'r{"explanationURL":"https://a/b"}'
    # ---- RFC 3339 times
    for i, t in enumerate([
            "2026-12-01T10:00:00Z", "2026-12-01t10:00:00z",
            "2026-12-01T10:00:00.123456789Z", "2026-12-01T12:00:00+02:00",
            "2026-12-01T05:30:00-04:30", "1990-12-31T23:59:60Z",
            "2024-02-29T23:59:59Z", "2025-02-29T00:00:00Z",
            "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
            "2026-12-01T10:00:00+24:00", "2026-12-01 10:00:00Z",
            "2026-12-01T10:00:00.Z", "2026-12-01T10:00Z",
            "2026-12-01T10:00:00." + "1" * 60 + "Z"]):
        s[f"t-{i:02d}"] = b"t" + t.encode()
    # ---- Retry-After
    for i, v in enumerate([
            "0", "120", " 120\t", "86401", "9" * 40, "-5", "1.5",
            "Tue, 01 Dec 2026 10:01:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT",
            "Wed, 02 Dec 2026 10:00:00 GMT", "Tue, 31 Nov 2026 10:01:00 GMT",
            "Tue, 01 Dec 2026 10:01:00 gmt", "Tuesday, 01-Dec-26 10:02:00 GMT",
            "Friday, 01-Jan-77 00:00:00 GMT", "Tue Dec  1 10:00:05 2026",
            "Tue Dec 1 10:00:05 2026"]):
        s[f"y-{i:02d}"] = b"y" + v.encode()
    # ---- Link (second byte: 0 alternate, 1 up, 2 index, 3 next, 4 UP)
    cert_links = (f'<{PB}/dir>;rel="index", <{PB}/certZ/abc/1>;'
                  f'rel="alternate", <{PB}/certZ/abc/2>;rel="alternate"')
    s["l-pebble-alternate"] = b"l0" + cert_links.encode()
    s["l-pebble-index"] = b"l2" + cert_links.encode()
    s["l-le-up"] = b"l1" + f'<{LE}/acme/issuer-cert>;rel="up"'.encode()
    s["l-mixed"] = b"l0" + (
        ' , <https://ca/a> ; title="x, y; z" ;REL = "ALTERNATE  index"\t; '
        'type="text/html" ,, <https://ca/b>;rel=up,<https://ca/c>; '
        'anchor="#x"; rel="up"; rel="alternate", '
        '<https://ca/d>;rel="al\\ternate";foo').encode()
    s["l-relative-up"] = b"l1</dir>;rel=up"
    s["l-unterminated"] = b'l1<https://ca/a>; rel="up'
    s["l-no-angle"] = b"l1https://ca/a; rel=up"
    s["l-empty-param"] = b"l1<https://ca/a>;; rel=up"
    s["l-nul"] = b"l1<https://ca/a\0b>; rel=up"
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
    write(os.path.join(root, "acme"), acme_seeds())


if __name__ == "__main__":
    main()
