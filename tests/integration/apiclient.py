# SPDX-License-Identifier: MIT
"""REST API helpers for the acmedns integration tests (Python 3 stdlib only).

Builds on harness.py by composition (harness.py itself is not changed):

- api_config(): a complete acmedns.conf with DNS and the API on random
  loopback ports and any [api] keys the test wants (lists repeat the key).
- ApiDaemon: one `acmedns serve` with the API enabled; waits for SOA over
  UDP and for GET /health = 200; restart on the same store, kill -9.
- request(): one request over http.client (status, headers, body bytes).
- HttpConn: a raw socket for exact request bytes, keep-alive, pipelining;
  read_response() parses status line, headers and a Content-Length or
  chunked body (or read-until-close), strictly.
- txt_lookup(): the TXT values served for a name, over UDP via harness.
- metrics(): GET /metrics parsed into {sample: value}.

Network rule: 127.0.0.1 / ::1 only.
"""

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

from harness import (LOOPBACK4, LOOPBACK6, Daemon, DNSParseError, Message,
                     _children, build_query, free_port, have_ipv6,
                     sanitizer_hits, tempdir, udp_exchange, write)

DOMAIN = "auth.example.test"
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                      r"[0-9a-f]{12}$")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{40}$")
TXT_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def rand_txt():
    """A fresh 43-character base64url value, like an ACME key authorization
    digest."""
    return base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()


# --------------------------------------------------------------------------
# configuration


def api_config(dns_port, api_port, workdir, *, api=None, store_path=None,
               api_listen6=False, dns6=False, log_level="info",
               domain=DOMAIN):
    """api: dict of [api] keys; a list value repeats the key (list keys)."""
    dns_listen = f"listen = 127.0.0.1:{dns_port}\n"
    if dns6:
        dns_listen += f"listen = [::1]:{dns_port}\n"
    api_lines = f"listen = 127.0.0.1:{api_port}\n"
    if api_listen6:
        api_lines += f"listen = [::1]:{api_port}\n"
    api = dict(api or {})
    api.setdefault("tls", "none")
    for k, v in api.items():
        vals = v if isinstance(v, (list, tuple)) else [v]
        for one in vals:
            if isinstance(one, bool):
                one = "true" if one else "false"
            api_lines += f"{k} = {one}\n"
    if store_path is None:
        store_path = os.path.join(workdir, "acmedns.db")
    return (
        "# written by the acmedns API integration tests\n"
        "[server]\n"
        f"log_level = {log_level}\n"
        "[dns]\n"
        f"{dns_listen}"
        "[zone]\n"
        f"domain = {domain}\n"
        f"nsname = ns1.{domain}\n"
        "nsadmin = hostmaster.example.test\n"
        f"record = ns1.{domain}. A 127.0.0.1\n"
        "[api]\n"
        f"{api_lines}"
        "[store]\n"
        f"path = {store_path}\n"
        "[certs]\n"
        f"dir = {workdir}/certs\n"
    )


# --------------------------------------------------------------------------
# HTTP


class Resp:
    def __init__(self, status, reason, headers, body, version="HTTP/1.1"):
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.version = version

    def h(self, name):
        """First header value with this name (case-insensitive) or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def hall(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def json_pairs(self):
        """The top-level object's keys in order, or None."""
        try:
            return json.loads(self.body.decode("utf-8"),
                              object_pairs_hook=lambda p: p)
        except (ValueError, UnicodeDecodeError):
            return None

    @property
    def closes(self):
        v = self.h("Connection")
        return v is not None and "close" in v.lower()

    def __repr__(self):
        hs = "".join(f"\n    {k}: {v}" for k, v in self.headers)
        b = self.body[:300]
        return f"<{self.version} {self.status} {self.reason}{hs}\n    body {b!r}>"


def request(host, port, method, path, body=None, headers=None, timeout=15.0):
    """One request on a fresh http.client connection. Returns Resp; raises
    OSError / http.client.HTTPException on transport failure."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return Resp(r.status, r.reason, r.getheaders(), data,
                    "HTTP/1.1" if r.version == 11 else "HTTP/1.0")
    finally:
        c.close()


class HttpError(Exception):
    pass


class HttpConn:
    """A raw HTTP/1.1 client connection: exact bytes out, strict parse in."""

    def __init__(self, host, port, timeout=15.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect((host, port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.timeout = timeout

    def send(self, data):
        self.s.sendall(data)

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out reading the response")
        self.s.settimeout(left)
        try:
            d = self.s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def _line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 65536:
                raise HttpError("response header line too long")
            if not self._fill(deadline):
                raise HttpError(f"connection closed inside the response head "
                                f"(have {bytes(self.buf[:200])!r})")

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise HttpError(f"connection closed inside the body "
                                f"({len(self.buf)} of {n} bytes)")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, head=False, timeout=None):
        """Parse one response. Raises HttpError (bad framing, or the peer
        closed before a response: .closed_clean is set then) or
        socket.timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        if not self.buf and self.eof:
            e = HttpError("connection closed, no response")
            e.closed_clean = True
            raise e
        while not self.buf:
            if not self._fill(deadline):
                e = HttpError("connection closed, no response")
                e.closed_clean = True
                raise e
        line = self._line(deadline)
        m = re.match(rb"^(HTTP/1\.[01]) ([1-5][0-9][0-9]) ?(.*)$", line)
        if not m:
            raise HttpError(f"bad status line {line!r}")
        version, status, reason = m.group(1).decode(), int(m.group(2)), \
            m.group(3).decode("latin-1")
        headers = []
        while True:
            line = self._line(deadline)
            if not line:
                break
            if b":" not in line or line[:1] in (b" ", b"\t"):
                raise HttpError(f"bad header line {line!r}")
            k, v = line.split(b":", 1)
            if not re.match(rb"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", k):
                raise HttpError(f"bad header name {k!r}")
            headers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
        r = Resp(status, reason, headers, b"", version)
        if head or status in (204, 304) or 100 <= status < 200:
            if r.h("Content-Length") not in (None, "0") and status == 204:
                raise HttpError("204 with a nonzero Content-Length")
            return r
        te = r.h("Transfer-Encoding")
        cls = r.hall("Content-Length")
        if te and "chunked" in te.lower():
            body = bytearray()
            while True:
                szl = self._line(deadline).split(b";")[0].strip()
                sz = int(szl, 16)
                if sz == 0:
                    while self._line(deadline):
                        pass
                    break
                body += self._exact(sz, deadline)
                if self._exact(2, deadline) != b"\r\n":
                    raise HttpError("bad chunk terminator")
            r.body = bytes(body)
        elif cls:
            if len(set(cls)) != 1 or not cls[0].isdigit():
                raise HttpError(f"bad Content-Length {cls}")
            r.body = self._exact(int(cls[0]), deadline)
        else:
            while self._fill(deadline):
                pass
            r.body = bytes(self.buf)
            self.buf.clear()
        return r

    def wait_closed(self, timeout):
        """Seconds until the peer closes (data meanwhile is kept in buf),
        None if still open at the deadline."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        if self.eof:
            return 0.0
        while True:
            try:
                if not self._fill(deadline):
                    return time.monotonic() - t0
            except socket.timeout:
                return None
            except OSError:
                return time.monotonic() - t0


def build_request(method, path, host_header, headers=(), body=None,
                  content_length=True, version="HTTP/1.1"):
    """Exact request bytes. headers: list of (name, value) in order."""
    lines = [f"{method} {path} {version}", f"Host: {host_header}"]
    for k, v in headers:
        lines.append(f"{k}: {v}")
    if body is not None and content_length:
        lines.append(f"Content-Length: {len(body)}")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if body is not None:
        data += body if isinstance(body, bytes) else body.encode()
    return data


# --------------------------------------------------------------------------
# DNS


def txt_lookup(dns_port, name, host=LOOPBACK4, timeout=2.0, tcp=False):
    """(rcode, sorted TXT strings) for name; rcode None on a timeout."""
    from harness import query
    try:
        _, m = query(host, dns_port, name, "TXT", timeout=timeout, tcp=tcp)
    except (OSError, DNSParseError):
        return None, []
    vals = []
    for rr in m.answer:
        if rr.rtype == 16:
            t = rr.rdata
            if t.startswith('"') and t.endswith('"'):
                t = t[1:-1]
            vals.append(t)
    return m.rcode, sorted(vals)


def txt_answer(dns_port, name, host=LOOPBACK4, timeout=2.0):
    """The parsed Message for a TXT query, or None."""
    from harness import query
    try:
        _, m = query(host, dns_port, name, "TXT", timeout=timeout)
        return m
    except (OSError, DNSParseError):
        return None


# --------------------------------------------------------------------------
# metrics

_SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?)?\})? '
    r'([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|NaN|\+Inf|-Inf))( [0-9]+)?$')


def parse_metrics(text):
    """Prometheus text 0.0.4 -> ({'name{labels}': float}, bad_lines)."""
    out = {}
    bad = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            if not re.match(r"^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*$", line) \
                    and not line.startswith("# "):
                bad.append(line)
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            bad.append(line)
            continue
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out, bad


def metric_sum(samples, name, **labels):
    """Sum of the samples of metric name whose labels include labels."""
    tot = 0.0
    found = False
    for k, v in samples.items():
        n, _, rest = k.partition("{")
        if n != name:
            continue
        lab = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                              rest))
        if all(lab.get(a) == b for a, b in labels.items()):
            tot += v
            found = True
    return tot if found else None


def metric_labels(samples, name):
    out = []
    for k in samples:
        n, _, rest = k.partition("{")
        if n == name:
            out.append(dict(re.findall(
                r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', rest)))
    return out


# --------------------------------------------------------------------------
# the daemon


class ApiDaemon:
    """`acmedns serve` with the REST API on a random loopback port.

    api: dict of [api] keys (see api_config). The store lives in workdir
    unless store_path is given; restart() starts a new process on the same
    config and store."""

    def __init__(self, binary, name="acmedns", api=None, workdir=None,
                 store_path=None, api_listen6=False, dns6=False,
                 log_level="info", ignore_sigxfsz=False):
        self.binary = binary
        self.name = name
        self.work = workdir or tempdir(name)
        self.api_listen6 = api_listen6 and have_ipv6()
        self.dns_port = free_port()
        self.api_port = free_port(ipv6=self.api_listen6)
        self.store_path = store_path or os.path.join(self.work, "acmedns.db")
        self.conf = write(os.path.join(self.work, f"{name}.conf"),
                          api_config(self.dns_port, self.api_port, self.work,
                                     api=api, store_path=self.store_path,
                                     api_listen6=self.api_listen6, dns6=dns6,
                                     log_level=log_level))
        self.ignore_sigxfsz = ignore_sigxfsz
        self.generation = 0
        self.d = None
        self.all_stderr = []  # stderr texts of earlier processes

    # -- lifecycle

    def start(self, timeout=20.0):
        self.generation += 1
        nm = self.name if self.generation == 1 else \
            f"{self.name}-{self.generation}"
        self.d = Daemon(self.binary, self.conf, self.dns_port, self.work,
                        name=nm)
        if self.ignore_sigxfsz:
            self._start_sigxfsz_ignored()
        else:
            self.d.start(wait=False)
        self.d.wait_ready(timeout)
        self.wait_api(timeout)
        return self

    def _start_sigxfsz_ignored(self):
        """Like Daemon.start, but the child inherits SIGXFSZ ignored (so a
        file-size limit makes writes fail with EFBIG instead of killing
        it): Popen's restore_signals would reset it."""
        d = self.d
        d._err = open(d.errpath, "wb")
        d._out = open(d.outpath, "wb")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")

        def pre():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)

        d.proc = subprocess.Popen(
            [d.binary, "serve", "-c", d.conf], stdout=d._out, stderr=d._err,
            stdin=subprocess.DEVNULL, cwd=d.workdir, env=env,
            restore_signals=False, preexec_fn=pre)
        _children.append(d.proc)

    def wait_api(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.d.alive():
                raise RuntimeError(f"{self.name} exited; stderr:\n"
                                   f"{self.d.stderr()[-3000:]}")
            try:
                r = self.request("GET", "/health", timeout=2.0)
                if r.status == 200:
                    return
                last = r
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: API not answering /health after "
                           f"{timeout} s (last: {last!r}); stderr:\n"
                           f"{self.d.stderr()[-3000:]}")

    @property
    def pid(self):
        return self.d.pid

    def alive(self):
        return self.d is not None and self.d.alive()

    def stop(self, res):
        err = self.d.stop(res)
        self.all_stderr.append(err)
        return err

    def kill9(self):
        """SIGKILL our process (by PID) and reap it; returns its stderr."""
        p = self.d.proc
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        for f in (self.d._err, self.d._out):
            if f:
                f.close()
        err = self.d.stderr()
        self.all_stderr.append(err)
        return err

    def restart(self, res=None, timeout=20.0):
        if self.alive():
            if res is not None:
                self.stop(res)
            else:
                self.kill9()
        return self.start(timeout)

    def stderr(self):
        return self.d.stderr() if self.d else ""

    # -- checks

    def check_alive(self, res, what):
        """Daemon running, SOA over UDP, GET /health 200."""
        ok = self.d.check_alive(res, what)
        if not ok:
            return False
        try:
            r = self.request("GET", "/health", timeout=5.0)
            return res.check(r.status == 200, f"{what}: GET /health 200",
                             repr(r))
        except (OSError, http.client.HTTPException) as e:
            return res.check(False, f"{what}: GET /health 200", repr(e))

    # -- HTTP

    def host(self, v6=False):
        return LOOPBACK6 if v6 else LOOPBACK4

    def hostport(self, v6=False):
        return f"[::1]:{self.api_port}" if v6 else \
            f"127.0.0.1:{self.api_port}"

    def request(self, method, path, body=None, headers=None, v6=False,
                timeout=15.0):
        return request(self.host(v6), self.api_port, method, path, body,
                       headers, timeout)

    def conn(self, v6=False, timeout=15.0):
        return HttpConn(self.host(v6), self.api_port, timeout)

    def raw(self, data, v6=False, timeout=15.0, head=False):
        """Send exact bytes on a new connection, return (Resp, HttpConn)."""
        c = self.conn(v6, timeout)
        c.send(data)
        try:
            r = c.read_response(head=head, timeout=timeout)
        except Exception:
            c.close()
            raise
        return r, c

    def register(self, allowfrom=None, body=None, headers=None, v6=False,
                 timeout=15.0):
        """(Resp, dict or None). allowfrom list -> {"allowfrom": [...]}."""
        if body is None and allowfrom is not None:
            body = json.dumps({"allowfrom": allowfrom})
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        r = self.request("POST", "/register", body=body, headers=hdrs, v6=v6,
                         timeout=timeout)
        return r, (r.json() if r.status == 201 else None)

    def update(self, user, key, sub, txt, headers=None, body=None, v6=False,
               timeout=15.0):
        if body is None:
            body = json.dumps({"subdomain": sub, "txt": txt})
        hdrs = {"Content-Type": "application/json"}
        if user is not None:
            hdrs["X-Api-User"] = user
        if key is not None:
            hdrs["X-Api-Key"] = key
        hdrs.update(headers or {})
        return self.request("POST", "/update", body=body, headers=hdrs, v6=v6,
                            timeout=timeout)

    def update_reg(self, reg, txt, **kw):
        return self.update(reg["username"], reg["password"], reg["subdomain"],
                           txt, **kw)

    def delete(self, user, key, headers=None, v6=False):
        hdrs = {}
        if user is not None:
            hdrs["X-Api-User"] = user
        if key is not None:
            hdrs["X-Api-Key"] = key
        hdrs.update(headers or {})
        return self.request("DELETE", "/register", headers=hdrs, v6=v6)

    def metrics(self):
        r = self.request("GET", "/metrics")
        samples, bad = parse_metrics(r.body.decode("utf-8", "replace"))
        return r, samples, bad

    # -- DNS

    def fqdn(self, reg_or_sub):
        sub = reg_or_sub["subdomain"] if isinstance(reg_or_sub, dict) \
            else reg_or_sub
        return f"{sub}.{DOMAIN}"

    def txt(self, reg_or_sub, tcp=False):
        return txt_lookup(self.dns_port, self.fqdn(reg_or_sub), tcp=tcp)

    def soa_ok(self):
        try:
            m = Message(udp_exchange(LOOPBACK4, self.dns_port,
                                     build_query(DOMAIN, "SOA"), timeout=2.0))
            return m.rcode == 0 and len(m.answer) == 1
        except (OSError, DNSParseError):
            return False


def error_body(code):
    """acme-dns error bodies, byte for byte."""
    return ('{"error":"%s"}' % code).encode()


def is_error(r, status, code):
    """r is status with exactly {"error":"code"} (a trailing newline is
    tolerated) and a JSON Content-Type."""
    ct = (r.h("Content-Type") or "").lower()
    return (r.status == status and r.body.rstrip(b"\n") == error_body(code)
            and ct.startswith("application/json"))


def secrets_in_file(path, secrets):
    """Which of the secret strings appear anywhere in the file's bytes (and
    its -wal / -journal siblings)."""
    found = set()
    for p in (path, path + "-wal", path + "-journal", path + "-shm"):
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for s in secrets:
            if s.encode() in data:
                found.add(s)
    return sorted(found)


__all__ = [
    "DOMAIN", "UUID4_RE", "KEY_RE", "TXT_RE", "rand_txt", "api_config",
    "Resp", "request", "HttpConn", "HttpError", "build_request",
    "txt_lookup", "txt_answer", "parse_metrics", "metric_sum",
    "metric_labels", "ApiDaemon", "error_body", "is_error",
    "secrets_in_file", "sanitizer_hits",
]
