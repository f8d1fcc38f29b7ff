#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: hostile and broken HTTP against the REST API - header
block over 8 KiB and 65 header lines (431; a long request target 414), bodies over 64 KiB (413, also
a Content-Length of 10,000,000 with no body: 413 at once; chunked), broken
framing (400), truncated requests, pipelined garbage, slowloris (1 byte/s:
408 after the 10 s read timeout while DNS and other API clients are served
normally), invalid UTF-8 and 100,000-deep JSON, 1,000 concurrent
connections, random bytes. After each: the daemon runs, DNS answers, GET
/health is 200, and no sanitizer report appears."""

import json
import os
import random
import selectors
import socket
import threading
import time

from apiclient import (ApiDaemon, HttpConn, HttpError, build_request,
                       is_error, rand_txt)
from harness import (LOOPBACK4, Message, Results, build_query, raise_nofile,
                     std_args, udp_exchange)


def after(res, a, what):
    a.check_alive(res, f"after {what}")


def err_resp(res, r, status, what, codes=None):
    """r: status, JSON {"error": ...} body, Connection: close."""
    j = r.json() if r is not None else None
    ok = (r is not None and r.status == status and isinstance(j, dict) and
          "error" in j and (codes is None or j["error"] in codes) and
          (r.h("Content-Type") or "").startswith("application/json") and
          r.closes)
    return res.check(ok, f"{what} -> {status}, JSON error, Connection: close",
                     repr(r))


def send_get(a, data, timeout=15.0):
    """(Resp or None, HttpConn, error)."""
    c = a.conn(timeout=timeout)
    try:
        c.send(data)
    except OSError as e:
        return None, c, e
    try:
        return c.read_response(timeout=timeout), c, None
    except (OSError, HttpError) as e:
        return None, c, e


# --------------------------------------------------------------------------


def s_limits(res, a):
    hp = a.hostport()
    res.section("431: header block over 8 KiB, more than 64 header lines")
    r, c, e = send_get(a, build_request("GET", "/health", hp,
                                        [("X-Pad", "p" * 7000)]))
    res.check(r is not None and r.status == 200, "7,000-byte header -> 200",
              repr(r or e))
    c.close()
    r, c, e = send_get(a, build_request("GET", "/health", hp,
                                        [("X-Pad", "p" * 9000)]))
    err_resp(res, r, 431, "one 9,000-byte header")
    res.check(c.wait_closed(3) is not None, "... connection closed")
    c.close()
    r, c, e = send_get(a, build_request(
        "GET", "/health", hp, [(f"X-H{i}", "v" * 100) for i in range(90)]))
    err_resp(res, r, 431, "90 headers of 100 bytes (9 KiB)")
    c.close()
    r, c, e = send_get(a, build_request("GET", "/" + "a" * 9000, hp))
    err_resp(res, r, 414, "9,000-byte request target")
    c.close()
    r, c, e = send_get(a, build_request(
        "GET", "/health", hp, [(f"X-H{i}", "v") for i in range(63)]))
    res.check(r is not None and r.status == 200,
              "64 header lines (Host + 63) -> 200", repr(r or e))
    c.close()
    r, c, e = send_get(a, build_request(
        "GET", "/health", hp, [(f"X-H{i}", "v") for i in range(64)]))
    err_resp(res, r, 431, "65 header lines (Host + 64)")
    c.close()
    r, c, e = send_get(a, build_request(
        "GET", "/health", hp, [("X-Same", "v") for i in range(200)]))
    err_resp(res, r, 431, "200 copies of one header")
    c.close()
    # headers arriving slowly in many segments still counted
    c = a.conn()
    try:
        c.send(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for i in range(20):
            c.send(b"X-Pad-%d: %s\r\n" % (i, b"q" * 500))
        c.send(b"\r\n")
        r = c.read_response()
    except (OSError, HttpError) as e:
        r = None
    err_resp(res, r, 431, "10 KiB of headers in 22 writes")
    c.close()
    after(res, a, "431 cases")

    res.section("413: bodies over 64 KiB")
    big = b"{" + b" " * 65536 + b"}"
    r, c, e = send_get(a, build_request("POST", "/register", hp,
                                        [("Content-Type", "application/json")],
                                        big))
    err_resp(res, r, 413, f"POST /register with a {len(big)}-byte body")
    c.close()
    ok = b"{" + b" " * 65534 + b"}"
    r, c, e = send_get(a, build_request("POST", "/register", hp,
                                        [("Content-Type", "application/json")],
                                        ok))
    res.check(r is not None and r.status == 201,
              "65,536-byte body (exactly 64 KiB, valid JSON) -> 201",
              repr(r or e))
    c.close()
    t0 = time.monotonic()
    c = a.conn()
    try:
        c.send(b"POST /update HTTP/1.1\r\nHost: x\r\nContent-Type: "
               b"application/json\r\nContent-Length: 10000000\r\n\r\n")
        r = c.read_response(timeout=5)
    except (OSError, HttpError) as e:
        r = None
    dt = time.monotonic() - t0
    err_resp(res, r, 413, "Content-Length: 10000000 without a body")
    res.check(r is not None and dt < 1.5, f"... answered at once "
              f"({dt * 1000:.0f} ms, no waiting for the body)")
    c.close()
    c = a.conn()
    try:
        c.send(b"POST /register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
               b"chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (8192, b" " * 8192)
        r = None
        for _ in range(9):
            c.send(chunk)
        c.send(b"0\r\n\r\n")
        r = c.read_response(timeout=5)
    except (OSError, HttpError) as e:
        if r is None:
            try:
                r = c.read_response(timeout=2)
            except (OSError, HttpError):
                r = None
    err_resp(res, r, 413, "chunked body of 72 KiB")
    c.close()
    r, c, e = send_get(a, b"POST /register HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n"
                       b"2\r\n{}\r\n0\r\n\r\n")
    res.check(r is not None and r.status == 201, "small chunked body '{}' -> "
              "201", repr(r or e))
    c.close()
    after(res, a, "413 cases")

    res.section("400: malformed HTTP")
    for raw, what in (
            (b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
             "Content-Length: abc"),
            (b"POST /update HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             b"Content-Length: 7\r\n\r\n12345", "two different Content-Lengths"),
            (b"POST /update HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
             "Content-Length: -1"),
            (b"POST /update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
             b"\r\n\r\nzz\r\n", "bad chunk size"),
            (b"GET /health HTTP/1.1\r\nHost x\r\n\r\n", "header without colon"),
            (b"GET /health HTTP/1.1\r\nHo st: x\r\n\r\n", "space in a header "
             "name"),
            (b"GET /health HTTP/1.1\r\n Host: x\r\n\r\n", "obsolete line "
             "folding at the start"),
            (b"G\x00T /health HTTP/1.1\r\nHost: x\r\n\r\n", "NUL in the "
             "method"),
            (b"GET /hea\x01lth HTTP/1.1\r\nHost: x\r\n\r\n", "control byte in "
             "the target"),
            (b"GET /health HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", "NUL in a "
             "header value"),
            (b"\r\n\r\n\r\n\r\nxyz\r\n\r\n", "garbage request line"),
            (b"GET /health HTTP/1.1\nHost: x\n\nGET", "bare LF line ends "
             "followed by junk")):
        r, c, e = send_get(a, raw, timeout=5)
        if what.startswith("bare LF") and r is not None and r.status == 200:
            res.check(True, f"{what}: accepted (lenient LF) -> 200")
        else:
            err_resp(res, r, 400, what)
        c.close()
    r, c, e = send_get(a, b"GET  /health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
    res.check(r is not None and (r.status == 200 or (r.status == 400 and
                                                      r.closes)),
              "double space in the request line -> 400, or parsed on word "
              "boundaries (RFC 9112 3: MAY) -> 200", repr(r or e))
    c.close()
    for raw, what in ((b"GET /health HTTP/3.0\r\nHost: x\r\n\r\n", "HTTP/3.0"),
                      (b"GET /health\r\nHost: x\r\n\r\n",
                       "HTTP/0.9 style request line"),
                      (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/2 preface")):
        r, c, e = send_get(a, raw, timeout=5)
        res.check(r is not None and r.status in (400, 505) and r.closes,
                  f"{what} -> 400 or 505 and close", repr(r or e))
        c.close()
    after(res, a, "malformed HTTP")


def s_truncated(res, a):
    hp = a.hostport()
    res.section("truncated requests and pipelined garbage")
    cases = [
        b"GET /heal",
        b"GET /health HTTP/1.1\r\nHost: x\r\n",
        b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",
        b"POST /register HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
        b"\r\n\r\n5\r\n{}",
    ]
    for raw in cases:
        c = a.conn(timeout=5)
        try:
            c.send(raw)
            c.s.shutdown(socket.SHUT_WR)
            t = c.wait_closed(5)
            res.check(t is not None, f"{raw[:40]!r}... then EOF: the server "
                      f"closes (after {t if t is None else round(t, 2)} s)")
        except OSError as e:
            res.check(True, f"{raw[:40]!r}... then EOF: reset ({e!r})")
        c.close()
    for raw in cases:  # and plain close without half-close
        c = a.conn(timeout=5)
        c.send(raw)
        c.close()
    after(res, a, "truncated requests")

    data = (build_request("GET", "/health", hp) +
            b"\x00\x01\x02GARBAGE \xff\xfe\r\n\r\n" +
            build_request("GET", "/health", hp))
    c = a.conn(timeout=5)
    try:
        c.send(data)
        r1 = c.read_response()
        r2 = c.read_response()
        res.check(r1.status == 200, "valid request before the garbage -> 200",
                  repr(r1))
        err_resp(res, r2, 400, "pipelined garbage")
        res.check(c.wait_closed(3) is not None,
                  "connection closed after the 400 (the request behind the "
                  "garbage is not answered)",
                  repr(bytes(c.buf[:200])))
        res.check(b"HTTP/1.1" not in bytes(c.buf),
                  "no response to the request after the garbage",
                  repr(bytes(c.buf[:200])))
    except (OSError, HttpError) as e:
        res.check(False, "pipelined garbage exchange", repr(e))
    c.close()
    # a body with the wrong length: the excess is the next "request"
    c = a.conn(timeout=5)
    try:
        c.send(b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
               b"\r\n{}{}")
        r1 = c.read_response()
        r2 = c.read_response()
        res.check(r1.status == 201, "Content-Length 2 of '{}{}': 201 for '{}'",
                  repr(r1))
        err_resp(res, r2, 400, "the 2 excess bytes as a request")
    except (OSError, HttpError) as e:
        res.check(False, "excess body bytes", repr(e))
    c.close()
    after(res, a, "pipelined garbage")


def dns_ok(a):
    try:
        m = Message(udp_exchange(LOOPBACK4, a.dns_port,
                                 build_query("auth.example.test", "SOA"),
                                 timeout=1.0))
        return m.rcode == 0 and len(m.answer) == 1
    except (OSError, ValueError):
        return False


def s_slowloris(res, a):
    res.section("slowloris: 20 connections at 1 byte/s (408 after 10 s), "
                "the rest keeps working")
    hp = a.hostport()
    req = build_request("GET", "/health", hp, [("X-Slow", "s" * 64)])
    body_slow = (b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 64"
                 b"\r\n\r\n")
    results = []
    lock = threading.Lock()

    def slow(i, data):
        out = {"i": i, "status": None, "t": None, "err": None, "sent": 0}
        try:
            c = HttpConn(LOOPBACK4, a.api_port, timeout=20)
        except OSError as e:
            out["err"] = repr(e)
            with lock:
                results.append(out)
            return
        t0 = time.monotonic()
        c.s.setblocking(True)
        try:
            if data is body_slow:
                c.send(data)  # complete headers at once, then a slow body
                data = b"{" + b" " * 62 + b"}"
            sel = selectors.DefaultSelector()
            sel.register(c.s, selectors.EVENT_READ)
            for b in data:
                c.s.settimeout(5)
                try:
                    c.s.send(bytes([b]))
                    out["sent"] += 1
                except OSError:
                    break
                # 1 byte about every second; stop sending once the server
                # has answered (or closed)
                if sel.select(timeout=0.95):
                    break
                if time.monotonic() - t0 > 16:
                    break
            sel.close()
            r = c.read_response(timeout=max(0.5, 16 - (time.monotonic() - t0)))
            out["status"] = r.status
            out["json"] = r.json()
            out["closes"] = r.closes
        except (OSError, HttpError) as e:
            out["err"] = repr(e)
        out["t"] = time.monotonic() - t0
        c.close()
        with lock:
            results.append(out)

    ts = [threading.Thread(target=slow, args=(i, req if i % 4 else body_slow))
          for i in range(20)]
    # idle connections are not "slow requests": no 408 for them
    idle0 = a.conn(timeout=20)
    idle1 = a.conn(timeout=20)
    idle1.send(build_request("GET", "/health", hp))
    r_idle1 = idle1.read_response()
    t0 = time.monotonic()
    for t in ts:
        t.start()
    # meanwhile: DNS and other API clients are served at normal speed
    lat_api, lat_dns, fails = [], [], []
    reg = None
    while any(t.is_alive() for t in ts) and time.monotonic() - t0 < 20:
        q0 = time.monotonic()
        try:
            r = a.request("GET", "/health", timeout=3)
            if r.status != 200:
                fails.append(f"health {r.status}")
        except OSError as e:
            fails.append(f"health {e!r}")
        lat_api.append(time.monotonic() - q0)
        q0 = time.monotonic()
        if not dns_ok(a):
            fails.append("dns")
        lat_dns.append(time.monotonic() - q0)
        if reg is None:
            try:
                r, reg = a.register()
            except OSError as e:
                fails.append(f"register {e!r}")
        else:
            try:
                r = a.update_reg(reg, rand_txt(), timeout=3)
                if r.status != 200:
                    fails.append(f"update {r.status}")
            except OSError as e:
                fails.append(f"update {e!r}")
        time.sleep(0.2)
    for t in ts:
        t.join(5)
    res.check(not fails, f"during the slowloris: {len(lat_api)} /health, "
              f"DNS and update rounds all fine", fails[:10])
    if lat_api:
        res.check(max(lat_api) < 1.0 and max(lat_dns) < 1.0,
                  f"... /health max {max(lat_api) * 1000:.0f} ms, DNS max "
                  f"{max(lat_dns) * 1000:.0f} ms (< 1 s)")
    for c, what in ((idle0, "a connection idle since connect"),
                    (idle1, "a keep-alive connection idle after a request")):
        try:
            c.send(build_request("GET", "/health", hp))
            r = c.read_response(timeout=5)
            ok = r.status == 200
        except (OSError, HttpError) as e:
            ok, r = False, e
        res.check(ok, f"{what} for {time.monotonic() - t0:.0f} s: no 408, "
                  "still serves GET /health", repr(r))
        c.close()
    res.eq(r_idle1.status, 200, "first request on the idle keep-alive "
           "connection -> 200")
    got408 = [x for x in results if x["status"] == 408]
    bad = [x for x in results if x["status"] != 408 or
           not (8.5 <= (x["t"] or 0) <= 12.0) or not x.get("closes")]
    res.check(len(results) == 20 and not bad,
              f"all 20 slow connections got 408 with Connection: close "
              f"between 8.5 and 12 s ({len(got408)} did)",
              "\n".join(repr(x) for x in bad[:6]))
    ts_ = sorted(round(x["t"], 1) for x in got408 if x["t"])
    if ts_:
        res.note(f"408 after {ts_[0]} .. {ts_[-1]} s")
    res.check(all(isinstance(x.get("json"), dict) and "error" in x["json"]
                  for x in got408), "408 bodies are JSON errors")
    after(res, a, "slowloris")


def s_json(res, a):
    res.section("hostile JSON")
    reg = None
    r, reg = a.register()
    for body, what in (
            (b'{"allowfrom": ["\xff\xfe/32"]}', "invalid UTF-8 inside a string"),
            (b'{"allow\xc0\x80from": []}', "overlong UTF-8 in a key"),
            (b'{"allowfrom": ["\xed\xa0\x80"]}', "UTF-8 surrogate"),
            (b'\xef\xbb\xbf{}', "UTF-8 BOM"),
            (b'{"allowfrom": ["\\ud800"]}', "lone surrogate escape"),
            (b'{"allowfrom": ["1.2.3.4/32\\u0000"]}', "escaped NUL after a "
             "valid CIDR (Go: invalid CIDR)"),
            (b'{"allowfrom": ["1.2.3.4/32\x00"]}', "raw NUL in a string "
             "(invalid JSON)"),
            (b'{"a":' * 10000 + b'1' + b'}' * 10000, "objects 10,000 deep"),
            (b'[' * 65000, "arrays 65,000 deep (< 64 KiB)"),
            (b'{"allowfrom":' + b'[' * 30000 + b']' * 30000 + b'}',
             "allowfrom nested 30,000 deep"),
            (b'{"allowfrom": [' + b'"1.2.3.4/32",' * 4000 + b'"1.2.3.4/32"]}',
             "4,001 allowfrom entries"),
            (b'{"allowfrom": ["' + b'9' * 60000 + b'"]}', "a 60,000-char CIDR"),
            (b'{"allowfrom": 1e999999}', "huge exponent"),
            (b'{"allowfrom": -0.0e-0}', "weird number")):
        try:
            r = a.request("POST", "/register", body=body,
                          headers={"Content-Type": "application/json"})
            j = r.json()
            # Go's decoder: a BOM is an error, invalid UTF-8 in an unknown
            # key is replaced and the key ignored (acme-dns: 201)
            ok_status = (400, 201) if what in ("UTF-8 BOM", "overlong UTF-8 "
                                               "in a key") else (400,)
            res.check(r.status in ok_status and isinstance(j, dict),
                      f"/register {what} -> {r.status} with a JSON body "
                      f"(want {'/'.join(map(str, ok_status))})", repr(r))
        except OSError as e:
            res.check(False, f"/register {what}", repr(e))
    r = a.request("POST", "/register", body=b"[" * 100000,
                  headers={"Content-Type": "application/json"})
    res.check(r.status in (400, 413) and r.json() is not None,
              "/register 100,000-deep array (100 KB) -> 413 (or 400)",
              repr(r))
    if reg:
        for body, what in (
                (b'{"subdomain": "' + reg["subdomain"].encode() +
                 b'", "txt": "\xff' + b'a' * 42 + b'"}', "invalid UTF-8 txt"),
                (b'{"subdomain": "' + reg["subdomain"].encode() + b'\xff", '
                 b'"txt": "' + b'a' * 43 + b'"}', "invalid UTF-8 subdomain"),
                (b'{"subdomain":' + b'[' * 60000, "60,000 deep"),
                (b'{"subdomain": "' + reg["subdomain"].encode() +
                 b'", "txt": ' + b'[' * 60000 + b'}', "txt 60,000 deep")):
            r = a.update(reg["username"], reg["password"], reg["subdomain"],
                         None, body=body)
            res.check(r.status in (400, 401) and r.json() is not None,
                      f"/update {what} -> 400/401 with JSON", repr(r))
        sub = reg["subdomain"]
        for body, st, code, what in (
                ('{"subdomain":"%s","txt":"%s\\u0000"}' % (sub, "a" * 43),
                 400, "bad_txt", "txt = 43 valid chars + \\u0000 (44 chars)"),
                ('{"subdomain":"%s","txt":"%s\\u0000zz"}' % (sub, "c" * 43),
                 400, "bad_txt", "txt = 43 valid chars + \\u0000zz"),
                ('{"subdomain":"%s\\u0000xyz","txt":"%s"}' % (sub, "b" * 43),
                 401, "forbidden", "subdomain = own + \\u0000xyz (not the "
                 "registration's own)")):
            r = a.update(reg["username"], reg["password"], sub, None,
                         body=body)
            res.check(is_error(r, st, code), f"/update {what} -> {st} {code} "
                      "(no truncation at NUL)", repr(r))
        r = a.request("POST", "/register", body=b'{"allowfrom": '
                      b'["1.2.3.4/32\\u0000junk"]}')
        res.check(is_error(r, 400, "invalid_allowfrom_cidr"),
                  "/register allowfrom \"1.2.3.4/32\\u0000junk\" -> 400 "
                  "invalid_allowfrom_cidr (no truncation at NUL)", repr(r))
        for hv, what in (("\xff" * 10, "latin-1 bytes in X-Api-User"),
                         ("a" * 4000, "4,000-char X-Api-User")):
            r = a.update(hv, reg["password"], reg["subdomain"], "a" * 43)
            res.check(is_error(r, 401, "forbidden"), f"{what} -> 401", repr(r))
        r = a.update_reg(reg, rand_txt())
        res.eq(r.status, 200, "the registration still updates")
    after(res, a, "hostile JSON")


def s_many_connections(res, a):
    res.section("1,000 concurrent connections (512 max, oldest idle closed)")
    have = raise_nofile(4096)
    if have < 2200:
        res.note(f"RLIMIT_NOFILE {have}: using {have // 2 - 50} connections")
    n = min(1000, have // 2 - 50)
    socks = []
    t0 = time.monotonic()
    for i in range(n):
        try:
            s = socket.create_connection((LOOPBACK4, a.api_port), timeout=5)
            socks.append(s)
        except OSError as e:
            res.note(f"connect {i}: {e!r}")
            break
    res.check(len(socks) == n, f"{n} TCP connections opened in "
              f"{time.monotonic() - t0:.1f} s")
    time.sleep(0.5)
    # a new client still gets served (the oldest idle one makes room)
    q0 = time.monotonic()
    try:
        r = a.request("GET", "/health", timeout=5)
        ok = r.status == 200
    except OSError as e:
        ok, r = False, e
    res.check(ok and time.monotonic() - q0 < 2.0, f"a new client is served "
              f"({(time.monotonic() - q0) * 1000:.0f} ms)", repr(r))
    res.check(dns_ok(a), "DNS answers with 1,000 connections open")
    # how many of ours did the server close?
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    closed = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            try:
                d = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if not d:
                closed.add(key.fileobj)
                sel.unregister(key.fileobj)
    openn = len(socks) - len(closed)
    res.check(openn <= 512, f"server keeps at most 512 of ours open "
              f"({openn} open, {len(closed)} closed)")
    oldest_closed = sum(1 for s in socks[:len(socks) // 4] if s in closed)
    if len(socks) > 600:
        res.check(oldest_closed >= len(socks) // 4 - 5,
                  f"the oldest connections were the ones closed "
                  f"({oldest_closed} of the first {len(socks) // 4})")
    # every open one of ours can still make a request
    live = [s for s in socks if s not in closed]
    req = build_request("GET", "/health", a.hostport())
    got, lost = 0, 0
    for s in live:
        try:
            s.setblocking(True)
            s.settimeout(5)
            s.sendall(req)
        except OSError:
            lost += 1
    sel2 = selectors.DefaultSelector()
    bufs = {}
    for s in live:
        try:
            s.setblocking(False)
            sel2.register(s, selectors.EVENT_READ)
            bufs[s] = b""
        except (OSError, ValueError):
            pass
    deadline = time.monotonic() + 15
    pending = set(bufs)
    while pending and time.monotonic() < deadline:
        for key, _ in sel2.select(timeout=0.5):
            s = key.fileobj
            try:
                d = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if d:
                bufs[s] += d
                if b"\r\n\r\n" in bufs[s]:
                    pending.discard(s)
                    sel2.unregister(s)
                    if bufs[s].startswith(b"HTTP/1.1 200"):
                        got += 1
            else:
                pending.discard(s)
                sel2.unregister(s)
                lost += 1
    res.check(not pending, f"every open connection got an answer or a close "
              f"within 15 s ({got} x 200, {lost} closed, {len(pending)} hung)")
    res.check(got >= 1, "the open connections are served")
    for s in socks:
        s.close()

    res.section("1,000 connections each sending a request at once")
    socks = []
    for i in range(n):
        try:
            s = socket.create_connection((LOOPBACK4, a.api_port), timeout=5)
            s.sendall(req)
            s.setblocking(False)
            socks.append(s)
        except OSError:
            break
    sel3 = selectors.DefaultSelector()
    for s in socks:
        sel3.register(s, selectors.EVENT_READ)
    bufs = {s: b"" for s in socks}
    pending = set(socks)
    got = closed_n = 0
    deadline = time.monotonic() + 20
    while pending and time.monotonic() < deadline:
        for key, _ in sel3.select(timeout=0.5):
            s = key.fileobj
            try:
                d = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                d = b""
            if d:
                bufs[s] += d
                if b"\r\n\r\n" in bufs[s]:
                    pending.discard(s)
                    sel3.unregister(s)
                    got += bufs[s].startswith(b"HTTP/1.1 200")
            else:
                pending.discard(s)
                sel3.unregister(s)
                closed_n += 1
    res.check(not pending, f"{len(socks)} simultaneous requests: none hangs "
              f"({got} x 200, {closed_n} closed unanswered)")
    res.check(got >= 512, f"at least 512 answered ({got})")
    for s in socks:
        s.close()
    time.sleep(0.5)
    after(res, a, "1,000 connections")


def s_random(res, a):
    res.section("random bytes")
    rng = random.Random(0xAC3D)
    answered = closed = 0
    hung = []
    for i in range(200):
        n = rng.choice([1, 2, 16, 100, 1000, 4096, 9000])
        data = bytes(rng.getrandbits(8) for _ in range(n))
        if i % 3 == 0:
            data = b"POST /update HTTP/1.1\r\nHost: x\r\n" + data
        elif i % 3 == 1:
            data = data + b"\r\n\r\n"
        c = a.conn(timeout=5)
        try:
            c.send(data)
            c.s.shutdown(socket.SHUT_WR)
            try:
                r = c.read_response(timeout=5)
                answered += 1
                if r.status < 400:
                    hung.append(f"#{i}: status {r.status}")
            except HttpError as e:
                closed += 1
            except socket.timeout:
                hung.append(f"#{i}: no answer and no close in 5 s")
        except OSError:
            closed += 1
        c.close()
        if i % 50 == 49 and not dns_ok(a):
            hung.append(f"#{i}: DNS not answering")
    res.check(not hung, f"200 random requests: {answered} answered with 4xx, "
              f"{closed} closed, none hung or accepted", hung[:10])
    after(res, a, "random bytes")


def main():
    args = std_args(__doc__)
    res = Results("api_badinput")
    raise_nofile(4096)
    a = ApiDaemon(args.acmedns, "api-bad")
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts with the API", str(e))
        res.finish()
    for fn in (s_limits, s_truncated, s_json, s_slowloris, s_many_connections,
               s_random):
        try:
            fn(res, a)
        except Exception as e:  # keep going: one section must not hide others
            import traceback
            res.check(False, f"{fn.__name__} raised", traceback.format_exc())
        if not a.alive():
            res.check(False, f"daemon died during {fn.__name__}",
                      a.stderr()[-3000:])
            break
    a.stop(res)
    res.finish()


if __name__ == "__main__":
    main()
