# SPDX-License-Identifier: MIT
"""Shared helpers for the acmedns integration tests (Python 3 stdlib only).

- Results: counts checks, prints "N passed, M failed" and sets the exit code.
- free_port(): a random loopback port, bind-tested for UDP and TCP on
  127.0.0.1 and ::1.
- Daemon: writes nothing itself; starts `acmedns serve -c FILE`, waits for
  an SOA answer, stops it with SIGTERM (exit 0 within 5 s expected, kill -9
  only as a fallback, then it is a failure) and scans stderr for sanitizer
  reports.
- DNS wire helpers: build queries (any flags, EDNS, counts), send them over
  UDP/TCP, and a strict response parser (Message) that rejects anything a
  careful resolver would reject: forward or looping compression pointers,
  bad label types, names > 255, RDATA that does not fill its RDLENGTH,
  compression inside RDATA of types that must not use it, trailing bytes,
  misplaced or duplicate OPT.

Network rule: everything here talks to 127.0.0.1 / ::1 only.
"""

import argparse
import atexit
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "runtime error:",
                      "LeakSanitizer")

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"

# --------------------------------------------------------------------------
# results


class Results:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.t0 = time.monotonic()
        print(f"== {name}", flush=True)

    def section(self, title):
        print(f"-- {title}", flush=True)

    def check(self, cond, msg, detail=None):
        if cond:
            self.passed += 1
            print(f"  ok    {msg}", flush=True)
        else:
            self.failed += 1
            self.failures.append(msg)
            extra = f"\n        {detail}" if detail is not None else ""
            print(f"  FAIL  {msg}{extra}", flush=True)
        return bool(cond)

    def eq(self, got, want, msg):
        return self.check(got == want, msg,
                          None if got == want else f"got {got!r}, want {want!r}")

    def note(self, msg):
        print(f"        {msg}", flush=True)

    def finish(self):
        dt = time.monotonic() - self.t0
        if self.failures:
            print("failures:")
            for f in self.failures:
                print(f"  - {f}")
        print(f"{self.name}: {dt:.1f} s")
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


def std_args(desc, extra=None):
    p = argparse.ArgumentParser(description=desc)
    p.add_argument("--acmedns", required=True, help="path to the acmedns binary")
    if extra:
        extra(p)
    return p.parse_args()


# --------------------------------------------------------------------------
# ports and processes

_children = []  # Popen objects we started, killed by PID at exit if alive


def _cleanup_children():
    for p in _children:
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass


atexit.register(_cleanup_children)


def _sigterm_exit(signum, frame):
    # ctest timeout: leave nothing behind
    _cleanup_children()
    sys.exit(1)


signal.signal(signal.SIGTERM, _sigterm_exit)


def have_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((LOOPBACK6, 0))
        s.close()
        return True
    except OSError:
        return False


def port_free(port, ipv6=True):
    addrs = [(socket.AF_INET, LOOPBACK4)]
    if ipv6 and have_ipv6():
        addrs.append((socket.AF_INET6, LOOPBACK6))
    socks = []
    try:
        for fam, host in addrs:
            for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                if fam == socket.AF_INET6:
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


_used_ports = set()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def free_port(ipv6=True):
    # stay below the kernel's ephemeral range: a port picked there can be
    # taken by any client socket of a test running in parallel before
    # the daemon binds it
    rng = random.SystemRandom()
    lo, _ = _ephemeral_range()
    top = max(lo - 1, 11000)
    for _ in range(500):
        port = rng.randint(10000, top)
        if port in _used_ports:
            continue
        if port_free(port, ipv6):
            _used_ports.add(port)
            return port
    raise RuntimeError("no free loopback port found")


def tempdir(prefix):
    d = tempfile.mkdtemp(prefix=f"acmedns-{prefix}-")
    atexit.register(shutil.rmtree, d, True)
    return d


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args, timeout=10, env=None, cwd=None, input=None):
    """Run a short-lived tool; returns (rc, stdout, stderr). rc is None on
    timeout (the process is killed)."""
    try:
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=timeout, env=env, cwd=cwd, input=input)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err


def sanitizer_hits(text):
    return [p for p in SANITIZER_PATTERNS if p in text]


def base_config(port, workdir, *, extra_dns="", extra_zone="", records=(),
                ipv6=False, domain="auth.example.test",
                nsname="ns1.auth.example.test",
                nsadmin="hostmaster.example.test", log_level="info",
                api_port=None):
    """A complete acmedns.conf for a test: DNS on the given loopback port,
    API on another free loopback port, store and certs in workdir."""
    listen = f"listen = 127.0.0.1:{port}\n"
    if ipv6:
        listen += f"listen = [::1]:{port}\n"
    if api_port is None:
        api_port = free_port(ipv6=False)
    recs = "".join(f"record = {r}\n" for r in records)
    return (
        "# written by the acmedns integration tests\n"
        "[server]\n"
        f"log_level = {log_level}\n"
        "[dns]\n"
        f"{listen}{extra_dns}"
        "[zone]\n"
        f"domain = {domain}\n"
        f"nsname = {nsname}\n"
        f"nsadmin = {nsadmin}\n"
        f"{extra_zone}{recs}"
        "[api]\n"
        f"listen = 127.0.0.1:{api_port}\n"
        "tls = none\n"
        "[store]\n"
        f"path = {workdir}/acmedns.db\n"
        "[certs]\n"
        f"dir = {workdir}/certs\n"
    )


class Daemon:
    """One `acmedns serve -c FILE` child process."""

    def __init__(self, binary, conf, port, workdir, domain="auth.example.test",
                 name="acmedns"):
        self.binary = binary
        self.conf = conf
        self.port = port
        self.workdir = workdir
        self.domain = domain
        self.name = name
        self.proc = None
        self.errpath = os.path.join(workdir, f"{name}.stderr")
        self.outpath = os.path.join(workdir, f"{name}.stdout")
        self._err = None
        self._out = None

    def start(self, wait=True, timeout=15.0):
        self._err = open(self.errpath, "wb")
        self._out = open(self.outpath, "wb")
        env = dict(os.environ)
        # make sanitizer reports land on stderr and fail loudly
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "-c", self.conf],
            stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            cwd=self.workdir, env=env)
        _children.append(self.proc)
        if wait:
            self.wait_ready(timeout)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.errpath, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout=15.0):
        deadline = time.monotonic() + timeout
        q = build_query(self.domain, "SOA")
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited early with status "
                    f"{self.proc.returncode}; stderr:\n{self.stderr()}")
            try:
                r = udp_exchange(LOOPBACK4, self.port, q, timeout=0.2)
                m = Message(r)
                if m.rcode == 0 and m.answer:
                    return
            except (OSError, DNSParseError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout} s; "
                           f"stderr:\n{self.stderr()}")

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self, res, timeout=5.0):
        """SIGTERM, expect exit 0 within timeout; record the checks in res.
        Returns the stderr text."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
                res.eq(self.proc.returncode, 0,
                       f"{self.name}: SIGTERM -> exit status 0")
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
                res.check(False, f"{self.name}: exits within {timeout} s of "
                                 "SIGTERM", "had to kill -9")
        else:
            res.check(False, f"{self.name}: still running at the end",
                      f"exited earlier with status {self.proc.returncode}")
        for f in (self._err, self._out):
            if f:
                f.close()
        err = self.stderr()
        hits = sanitizer_hits(err)
        res.check(not hits, f"{self.name}: no sanitizer reports on stderr",
                  f"{hits}; stderr tail:\n{err[-4000:]}")
        return err

    def check_alive(self, res, what):
        """The daemon is running and answers SOA over UDP."""
        ok = self.alive()
        detail = None
        if ok:
            try:
                r = Message(udp_exchange(LOOPBACK4, self.port,
                                         build_query(self.domain, "SOA"),
                                         timeout=2.0))
                ok = r.rcode == 0 and len(r.answer) == 1
                detail = None if ok else f"rcode {r.rcode}, answer {r.answer}"
            except (OSError, DNSParseError) as e:
                ok = False
                detail = repr(e)
        else:
            detail = f"exited with {self.proc.returncode}; stderr tail:\n" \
                     f"{self.stderr()[-3000:]}"
        return res.check(ok, f"{what}: daemon up, SOA answered", detail)


# --------------------------------------------------------------------------
# DNS wire format

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15,
    "TXT": 16, "RP": 17, "AAAA": 28, "SRV": 33, "NAPTR": 35, "DNAME": 39,
    "OPT": 41, "DS": 43, "SSHFP": 44, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48,
    "TLSA": 52, "SVCB": 64, "HTTPS": 65, "SPF": 99, "TKEY": 249, "TSIG": 250,
    "IXFR": 251, "AXFR": 252, "MAILB": 253, "MAILA": 254, "ANY": 255,
    "URI": 256, "CAA": 257,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}
CLASS_NAMES = {v: k for k, v in CLASSES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}

# RDATA types whose embedded names may be compressed (RFC 3597 §4)
COMPRESSIBLE = {2, 5, 6, 12, 15, 7, 8, 9, 14, 3, 4}


def tcode(t):
    if isinstance(t, int):
        return t
    t = t.upper()
    if t in TYPES:
        return TYPES[t]
    if t.startswith("TYPE"):
        return int(t[4:])
    raise ValueError(f"unknown type {t}")


def tname(code):
    return TYPE_NAMES.get(code, f"TYPE{code}")


def encode_name(name):
    """Presentation name (case kept; '\\.' and '\\DDD' escapes) -> wire."""
    if isinstance(name, bytes):
        return name
    if name in (".", ""):
        return b"\x00"
    labels = []
    cur = bytearray()
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "\\":
            if name[i + 1:i + 4].isdigit() and len(name[i + 1:i + 4]) == 3:
                cur.append(int(name[i + 1:i + 4]))
                i += 4
                continue
            cur += name[i + 1].encode()
            i += 2
            continue
        if ch == ".":
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur += ch.encode()
        i += 1
    if cur:
        labels.append(bytes(cur))
    out = bytearray()
    for lab in labels:
        if not 0 < len(lab) < 64:
            raise ValueError(f"bad label in {name!r}")
        out.append(len(lab))
        out += lab
    out.append(0)
    if len(out) > 255:
        raise ValueError("name too long")
    return bytes(out)


def build_query(qname, qtype="A", qclass="IN", *, qid=None, rd=True,
                opcode=0, cd=False, ad=False, edns=None, qdcount=None,
                ancount=0, nscount=0, extra_ar=b"", extra_arcount=0):
    """edns: None or dict(size=1232, do=False, version=0, options=[(code, bytes)],
    ext_rcode=0, flags=0)."""
    if qid is None:
        qid = random.getrandbits(16)
    flags = (opcode & 0xF) << 11
    if rd:
        flags |= 0x0100
    if ad:
        flags |= 0x0020
    if cd:
        flags |= 0x0010
    qc = CLASSES.get(qclass, qclass) if isinstance(qclass, str) else qclass
    question = encode_name(qname) + struct.pack("!HH", tcode(qtype), qc)
    ar = extra_ar
    arcount = extra_arcount
    if edns is not None:
        opts = b"".join(struct.pack("!HH", c, len(v)) + v
                        for c, v in edns.get("options", []))
        ttl = ((edns.get("ext_rcode", 0) & 0xFF) << 24) | \
              ((edns.get("version", 0) & 0xFF) << 16) | \
              (0x8000 if edns.get("do") else 0) | edns.get("flags", 0)
        ar += b"\x00" + struct.pack("!HHIH", 41, edns.get("size", 1232), ttl,
                                    len(opts)) + opts
        arcount += 1
    hdr = struct.pack("!HHHHHH", qid, flags,
                      1 if qdcount is None else qdcount, ancount, nscount,
                      arcount)
    return hdr + question + ar


class DNSParseError(Exception):
    pass


def _name_text(labels):
    if not labels:
        return "."
    out = []
    for lab in labels:
        s = ""
        for b in lab:
            c = chr(b)
            if c in ".\\\"();@$":
                s += "\\" + c
            elif 0x21 <= b <= 0x7E:
                s += c
            else:
                s += f"\\{b:03d}"
        out.append(s)
    return ".".join(out) + "."


def _txt_text(b):
    s = '"'
    for x in b:
        c = chr(x)
        if c in '"\\':
            s += "\\" + c
        elif 0x20 <= x <= 0x7E:
            s += c
        else:
            s += f"\\{x:03d}"
    return s + '"'


class RR:
    __slots__ = ("name", "rtype", "rclass", "ttl", "rdata", "raw_name")

    def __init__(self, name, rtype, rclass, ttl, rdata, raw_name):
        self.name = name          # presentation, original case
        self.rtype = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.rdata = rdata        # presentation, names lowercased
        self.raw_name = raw_name  # uncompressed wire bytes

    def key(self, ttl=True):
        return (self.name.lower(), self.rtype, self.rclass,
                self.ttl if ttl else None, self.rdata)

    def __repr__(self):
        return (f"{self.name} {self.ttl} {CLASS_NAMES.get(self.rclass, self.rclass)} "
                f"{tname(self.rtype)} {self.rdata}")


class Message:
    """Strict DNS message parser (responses)."""

    def __init__(self, data, strict=True):
        self.data = bytes(data)
        self.strict = strict
        if len(self.data) < 12:
            raise DNSParseError(f"short message ({len(self.data)} bytes)")
        (self.id, self.flags, qd, an, ns, ar) = struct.unpack_from(
            "!HHHHHH", self.data, 0)
        self.counts = (qd, an, ns, ar)
        f = self.flags
        self.qr = bool(f & 0x8000)
        self.opcode = (f >> 11) & 0xF
        self.aa = bool(f & 0x0400)
        self.tc = bool(f & 0x0200)
        self.rd = bool(f & 0x0100)
        self.ra = bool(f & 0x0080)
        self.z = bool(f & 0x0040)
        self.ad = bool(f & 0x0020)
        self.cd = bool(f & 0x0010)
        self.rcode4 = f & 0xF
        self.pos = 12
        self.question = []
        for _ in range(qd):
            labels, raw = self._name(self.pos, allow_ptr=True)
            qtype, qclass = self._unpack("!HH")
            # raw: the name uncompressed, in the case it was sent
            self.question.append((_name_text(labels), qtype, qclass, raw))
        self.answer = self._rrs(an, "answer")
        self.authority = self._rrs(ns, "authority")
        self.additional = self._rrs(ar, "additional")
        if strict and self.pos != len(self.data):
            raise DNSParseError(f"{len(self.data) - self.pos} trailing bytes")
        self.edns = None
        opts = [r for r in self.additional if r.rtype == 41]
        for sec, rrs in (("answer", self.answer), ("authority", self.authority)):
            if any(r.rtype == 41 for r in rrs):
                raise DNSParseError(f"OPT in {sec} section")
        if len(opts) > 1:
            raise DNSParseError("more than one OPT")
        if opts:
            o = opts[0]
            if o.name != ".":
                raise DNSParseError("OPT owner is not the root")
            self.edns = {"size": o.rclass, "ext_rcode": (o.ttl >> 24) & 0xFF,
                         "version": (o.ttl >> 16) & 0xFF,
                         "do": bool(o.ttl & 0x8000), "flags": o.ttl & 0xFFFF,
                         "options": o.rdata}
            self.additional = [r for r in self.additional if r.rtype != 41]
        self.rcode = self.rcode4 | ((self.edns["ext_rcode"] << 4)
                                    if self.edns else 0)

    # -- low level

    def _unpack(self, fmt):
        n = struct.calcsize(fmt)
        if self.pos + n > len(self.data):
            raise DNSParseError(f"truncated at offset {self.pos}")
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += n
        return v

    def _name(self, pos, allow_ptr=True, end=None, advance=True):
        """Read a name at pos. Returns (labels, uncompressed wire). Pointers
        must point strictly backwards (to an earlier start), no loops.
        Advances self.pos past the name if advance."""
        data = self.data
        limit = len(data) if end is None else end
        labels = []
        wire = bytearray()
        jumped = False
        ptr_floor = pos  # a pointer must go below the previous position
        seen = 0
        p = pos
        after = None
        while True:
            if p >= (limit if not jumped else len(data)):
                raise DNSParseError(f"name runs past its bounds at {p}")
            ln = data[p]
            if ln & 0xC0 == 0xC0:
                if not allow_ptr:
                    raise DNSParseError(f"compression pointer at {p} where "
                                        "compression is not allowed")
                if p + 1 >= (limit if not jumped else len(data)):
                    raise DNSParseError("truncated pointer")
                target = ((ln & 0x3F) << 8) | data[p + 1]
                if after is None:
                    after = p + 2
                if target >= ptr_floor or target < 12:
                    raise DNSParseError(f"bad compression pointer {target} at "
                                        f"{p} (must point back into the "
                                        "message body)")
                seen += 1
                if seen > 127:
                    raise DNSParseError("pointer loop")
                ptr_floor = target
                p = target
                jumped = True
                continue
            if ln & 0xC0:
                raise DNSParseError(f"bad label type 0x{ln:02x} at {p}")
            if ln == 0:
                wire.append(0)
                if after is None:
                    after = p + 1
                break
            if p + 1 + ln > (limit if not jumped else len(data)):
                raise DNSParseError("label runs past its bounds")
            lab = data[p + 1:p + 1 + ln]
            labels.append(lab)
            wire.append(ln)
            wire += lab
            if len(wire) + 1 > 255:
                raise DNSParseError("name longer than 255 octets")
            p += 1 + ln
        if advance:
            self.pos = after
        return labels, bytes(wire)

    def _rrs(self, count, section):
        out = []
        for _ in range(count):
            labels, raw = self._name(self.pos)
            rtype, rclass, ttl, rdlen = self._unpack("!HHIH")
            if self.pos + rdlen > len(self.data):
                raise DNSParseError(f"{section}: RDATA past the end")
            rstart, rend = self.pos, self.pos + rdlen
            rdata = self._rdata(rtype, rstart, rend)
            self.pos = rend
            if self.strict and ttl & 0x80000000 and rtype != 41:
                raise DNSParseError(f"{section}: TTL with the high bit set")
            out.append(RR(_name_text(labels), rtype, rclass, ttl, rdata, raw))
        return out

    def _rname(self, rtype, pos, end):
        """A name inside RDATA: returns (text lowercase, new pos)."""
        save = self.pos
        labels, raw = self._name(pos, allow_ptr=rtype in COMPRESSIBLE,
                                 end=end)
        newpos = self.pos
        self.pos = save
        if newpos > end:
            raise DNSParseError("name runs past RDATA")
        return _name_text([l.lower() for l in labels]), newpos

    def _rdata(self, rtype, p, end):
        d = self.data
        n = end - p

        def need(cond, what):
            if not cond:
                raise DNSParseError(f"bad {tname(rtype)} RDATA: {what}")

        if rtype == 1:
            need(n == 4, f"length {n}")
            return socket.inet_ntop(socket.AF_INET, d[p:end])
        if rtype == 28:
            need(n == 16, f"length {n}")
            return socket.inet_ntop(socket.AF_INET6, d[p:end])
        if rtype in (2, 5, 12, 39):
            name, q = self._rname(rtype, p, end)
            need(q == end, "trailing bytes")
            return name
        if rtype == 15:
            need(n >= 3, "short")
            pref = struct.unpack_from("!H", d, p)[0]
            name, q = self._rname(rtype, p + 2, end)
            need(q == end, "trailing bytes")
            return f"{pref} {name}"
        if rtype == 6:
            mname, q = self._rname(rtype, p, end)
            rname, q = self._rname(rtype, q, end)
            need(end - q == 20, "timers")
            vals = struct.unpack_from("!IIIII", d, q)
            return f"{mname} {rname} " + " ".join(str(v) for v in vals)
        if rtype in (16, 99):
            need(n >= 1, "empty")
            parts = []
            q = p
            while q < end:
                ln = d[q]
                need(q + 1 + ln <= end, "string past RDATA")
                parts.append(_txt_text(d[q + 1:q + 1 + ln]))
                q += 1 + ln
            return " ".join(parts)
        if rtype == 33:
            need(n >= 7, "short")
            pr, w, port = struct.unpack_from("!HHH", d, p)
            name, q = self._rname(rtype, p + 6, end)
            need(q == end, "trailing bytes")
            return f"{pr} {w} {port} {name}"
        if rtype == 257:
            need(n >= 2, "short")
            flags, tl = d[p], d[p + 1]
            need(1 <= tl <= 15 and p + 2 + tl <= end, "tag length")
            tag = d[p + 2:p + 2 + tl].decode("ascii", "replace").lower()
            return f"{flags} {tag} {_txt_text(d[p + 2 + tl:end])}"
        if rtype == 52:
            need(n >= 3, "short")
            return f"{d[p]} {d[p + 1]} {d[p + 2]} {d[p + 3:end].hex().upper()}"
        if rtype == 41:
            opts = []
            q = p
            while q < end:
                need(q + 4 <= end, "option header")
                code, ln = struct.unpack_from("!HH", d, q)
                need(q + 4 + ln <= end, "option past RDATA")
                opts.append((code, d[q + 4:q + 4 + ln]))
                q += 4 + ln
            return opts
        return f"\\# {n} {d[p:end].hex().upper()}" if n else "\\# 0"

    # -- conveniences

    @property
    def rcode_name(self):
        return RCODES.get(self.rcode, str(self.rcode))

    def qname_wire(self):
        """The question name exactly as sent back (uncompressed wire)."""
        return self.question[0][3] if self.question else None

    def section_set(self, name, ttl=True, ignore_serial=True):
        rrs = getattr(self, name)
        out = []
        for r in rrs:
            k = list(r.key(ttl))
            if ignore_serial and r.rtype == 6:
                f = k[4].split()
                f[2] = "SERIAL"
                k[4] = " ".join(f)
            out.append(tuple(k))
        return sorted(out, key=repr)

    def __repr__(self):
        fl = [n for n, v in (("qr", self.qr), ("aa", self.aa), ("tc", self.tc),
                             ("rd", self.rd), ("ra", self.ra), ("ad", self.ad),
                             ("cd", self.cd)) if v]
        lines = [f";; id {self.id} {self.rcode_name} flags {' '.join(fl)} "
                 f"edns {self.edns}"]
        for q in self.question:
            lines.append(f";Q {q[0]} {tname(q[1])} {CLASS_NAMES.get(q[2], q[2])}")
        for sec in ("answer", "authority", "additional"):
            for r in getattr(self, sec):
                lines.append(f";{sec[:2].upper()} {r!r}")
        return "\n".join(lines)


# --------------------------------------------------------------------------
# transport


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_exchange(host, port, msg, timeout=2.0, bufsize=65535):
    """Send one datagram, return the first reply with the query's ID (raises
    socket.timeout)."""
    s = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((host, port))
        s.send(msg)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("timed out")
            s.settimeout(left)
            r = s.recv(bufsize)
            if len(msg) < 2 or r[:2] == msg[:2]:
                return r
    finally:
        s.close()


def udp_send_only(sock, host, port, msg):
    sock.sendto(msg, (host, port))


def recv_exact(s, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of "
                                  f"{n} bytes")
        buf += chunk
    return bytes(buf)


def tcp_read_msg(s):
    ln = struct.unpack("!H", recv_exact(s, 2))[0]
    return recv_exact(s, ln)


def frame(msg):
    return struct.pack("!H", len(msg)) + msg


def tcp_connect(host, port, timeout=2.0):
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tcp_exchange(host, port, msg, timeout=2.0):
    s = tcp_connect(host, port, timeout)
    try:
        s.sendall(frame(msg))
        return tcp_read_msg(s)
    finally:
        s.close()


def query(host, port, qname, qtype="A", qclass="IN", tcp=False, timeout=2.0,
          **kw):
    q = build_query(qname, qtype, qclass, **kw)
    r = (tcp_exchange if tcp else udp_exchange)(host, port, q, timeout)
    return q, Message(r)


def wait_closed(s, timeout):
    """Wait until the peer closes (recv returns b'' or a reset). Returns the
    seconds waited, or None if still open at the deadline. Data received
    meanwhile is discarded."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            d = s.recv(65536)
            if not d:
                return time.monotonic() - t0
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - t0


def raise_nofile(want):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    new = min(want, hard) if hard != resource.RLIM_INFINITY else want
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError):
        return soft
    return new


# --------------------------------------------------------------------------
# dig / kdig / drill output


class ToolAnswer:
    """The last message printed by dig, kdig or drill."""

    def __init__(self, text):
        self.text = text
        chunk = text.split("->>HEADER<<-")[-1] if "->>HEADER<<-" in text else ""
        self.ok = bool(chunk)
        m = re.search(r"(?:status|rcode): ([A-Z0-9]+)", chunk)
        self.status = m.group(1) if m else None
        m = re.search(r"^;; [Ff]lags: ([a-z ]*?)\s*;", chunk, re.M)
        self.flags = set(m.group(1).split()) if m else set()
        m = re.search(r"[Vv]ersion:? (\d+)[;,] flags: ?([a-z ]*?)\s*; "
                      r"(?:udp|UDP size): (\d+)", chunk)
        self.edns = ({"version": int(m.group(1)), "flags": set(m.group(2).split()),
                      "udp": int(m.group(3))} if m else None)
        self.sections = {"QUESTION": [], "ANSWER": [], "AUTHORITY": [],
                         "ADDITIONAL": []}
        cur = None
        for line in chunk.splitlines():
            m = re.match(r"^;; ([A-Z]+) SECTION:", line)
            if m:
                cur = m.group(1) if m.group(1) in self.sections else None
                continue
            if cur is None:
                continue
            if not line.strip():
                if cur == "QUESTION" and self.sections[cur]:
                    cur = None
                elif cur != "QUESTION" and self.sections[cur]:
                    cur = None
                continue
            if cur == "QUESTION":
                if line.startswith(";"):
                    self.sections[cur].append(line.lstrip("; ").split())
                continue
            if line.startswith(";"):
                if self.sections[cur]:
                    cur = None
                continue
            self.sections[cur].append(line.split(None, 4))

    def rrs(self, section="ANSWER", rtype=None):
        out = []
        for f in self.sections[section]:
            if len(f) == 5 and (rtype is None or f[3] == rtype):
                out.append(f)
        return out

    def rdatas(self, section="ANSWER", rtype=None):
        return sorted(f[4] for f in self.rrs(section, rtype))

    def __repr__(self):
        return (f"<{self.status} flags={sorted(self.flags)} edns={self.edns} "
                f"sections={self.sections}>")


def tool_cmd(tool, host, port, name, rtype="A", rclass="IN", tcp=False,
             extra=()):
    if tool == "dig":
        cmd = ["dig", f"@{host}", "-p", str(port), name, rtype, rclass,
               "+time=2", "+tries=1"]
        if tcp:
            cmd.append("+tcp")
    elif tool == "kdig":
        cmd = ["kdig", f"@{host}", "-p", str(port), name, rtype, rclass,
               "+time=2", "+retry=0"]
        if tcp:
            cmd.append("+tcp")
    elif tool == "drill":
        cmd = ["drill", "-p", str(port)]
        if tcp:
            cmd.append("-t")
        if ":" in host:
            cmd.append("-6")
        return cmd + list(extra) + [name, f"@{host}", rtype, rclass]
    else:
        raise ValueError(tool)
    return cmd + list(extra)


def run_tool(tool, host, port, name, rtype="A", rclass="IN", tcp=False,
             extra=(), timeout=10):
    cmd = tool_cmd(tool, host, port, name, rtype, rclass, tcp, extra)
    rc, out, err = run(cmd, timeout=timeout)
    return ToolAnswer(out), rc, out + err, cmd
