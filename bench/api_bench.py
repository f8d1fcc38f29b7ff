#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""REST API benchmark (make bench-api): acme-dns /update throughput and what
it does to DNS, on loopback, against build/acmedns (release build).

Measures, in one run:
  1. registrations per second (pipelined POST /register);
  2. DNS latency p50/p99 while idle (one UDP query per millisecond);
  3. sustained updates per second with wrk (keep-alive, 16 connections,
     random registrations) and, at the same time, DNS latency p50/p99;
     server CPU per update from /proc/PID/stat;
  4. update -> DNS visibility: time from sending an update request until
     a DNS query returns the new value (no waiting for the HTTP response);
  5. RSS with N registrations (10,000 and 100,000 by default, each with 2
     TXT values), and the time from start to the first DNS answer with
     them loaded from the store.

Figures are printed as a table for docs/PERFORMANCE.md. Only 127.0.0.1.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time

DOMAIN = "auth.bench.test"


def free_port():
    while True:
        p = random.randint(10000, 32000)  # below the ephemeral range
        try:
            s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s1.bind(("127.0.0.1", p))
            s2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s2.bind(("127.0.0.1", p))
            s1.close()
            s2.close()
            return p
        except OSError:
            continue


def dns_query(name, qtype=16, qid=None):
    qid = random.randint(0, 65535) if qid is None else qid
    q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


class Daemon:
    def __init__(self, binary, workdir, store):
        self.binary = binary
        self.dir = workdir
        self.dns_port = free_port()
        self.api_port = free_port()
        self.conf = os.path.join(workdir, "bench.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[server]
log_level = warning
[dns]
listen = 127.0.0.1:{self.dns_port}
[zone]
domain = {DOMAIN}
nsname = ns1.{DOMAIN}
nsadmin = hostmaster.{DOMAIN}
record = ns1.{DOMAIN}. A 127.0.0.1
[api]
listen = 127.0.0.1:{self.api_port}
[store]
path = {store}
""")
        self.proc = None

    def start(self):
        t0 = time.monotonic()
        self.err = open(os.path.join(self.dir, "daemon.log"), "ab")
        # the server on core 0, the load generators on the others
        pin = ["taskset", "-c", "0"] if shutil.which("taskset") and \
            os.cpu_count() and os.cpu_count() > 1 else []
        self.proc = subprocess.Popen(pin + [self.binary, "serve", "-c",
                                            self.conf],
                                     stdout=self.err, stderr=self.err)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.01)
        while time.monotonic() - t0 < 60:
            try:
                s.sendto(dns_query(DOMAIN, 6), ("127.0.0.1", self.dns_port))
                data = s.recv(4096)
                if len(data) > 12 and data[3] & 15 == 0 and \
                        struct.unpack("!H", data[6:8])[0] > 0:
                    s.close()
                    return time.monotonic() - t0
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited, see daemon.log")
        raise RuntimeError("daemon did not answer within 60 s")

    def rss_kb(self):
        """(VmRSS, RssAnon, RssFile) in kB."""
        v = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                k = line.split(":")[0]
                if k in ("VmRSS", "RssAnon", "RssFile"):
                    v[k] = int(line.split()[1])
        return v.get("VmRSS", 0), v.get("RssAnon", 0), v.get("RssFile", 0)

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return (int(parts[11]) + int(parts[12])) / tck

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def http_pipeline(port, reqs, batch=200):
    """Send raw requests pipelined over one connection; return the bodies."""
    out = []
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(30)
    buf = b""
    for i in range(0, len(reqs), batch):
        chunk = reqs[i:i + batch]
        s.sendall(b"".join(chunk))
        got = 0
        while got < len(chunk):
            m = re.match(rb"HTTP/1.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n", buf,
                         re.S)
            if m:
                hdrs = m.group(2).decode()
                cl = int(re.search(r"(?i)content-length: *(\d+)",
                                   hdrs).group(1))
                end = m.end() + cl
                if len(buf) >= end:
                    out.append((int(m.group(1)), buf[m.end():end]))
                    buf = buf[end:]
                    got += 1
                    continue
            data = s.recv(1 << 16)
            if not data:
                raise RuntimeError("connection closed")
            buf += data
    s.close()
    return out


def register(port, n):
    req = (b"POST /register HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    users = []
    # several connections: the server caps requests per connection
    left = n
    while left:
        k = min(left, 900)
        for st, body in http_pipeline(port, [req] * k):
            if st != 201:
                raise RuntimeError(f"register: {st} {body!r}")
            j = json.loads(body)
            users.append((j["username"], j["password"], j["subdomain"]))
        left -= k
    return users


def txt_value():
    return "".join(random.choice(string.ascii_letters + string.digits + "-_")
                   for _ in range(43))


def update_reqs(users, per_user):
    reqs = []
    for u, k, s in users:
        for _ in range(per_user):
            body = json.dumps({"subdomain": s, "txt": txt_value()}).encode()
            reqs.append(b"POST /update HTTP/1.1\r\nHost: x\r\nX-Api-User: " +
                        u.encode() + b"\r\nX-Api-Key: " + k.encode() +
                        b"\r\nContent-Length: " + str(len(body)).encode() +
                        b"\r\n\r\n" + body)
    return reqs


def dns_latency(port, names, seconds, stop=None):
    """One query per ms for `seconds`; returns sorted latencies (us)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    lat = []
    lost = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end and not (stop and stop.is_set()):
        q = dns_query(names[i % len(names)] + "." + DOMAIN, 16, i & 0xffff)
        t0 = time.perf_counter()
        s.sendto(q, ("127.0.0.1", port))
        try:
            while True:
                data = s.recv(4096)
                if data[:2] == q[:2]:
                    break
            lat.append((time.perf_counter() - t0) * 1e6)
        except socket.timeout:
            lost += 1
        i += 1
        time.sleep(0.001)
    s.close()
    lat.sort()
    return lat, lost


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


WRK_LUA = r"""
local users = {}
local alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
init = function(args)
  for line in io.lines(args[1]) do
    local u, k, s = line:match("(%S+) (%S+) (%S+)")
    users[#users + 1] = {u, k, s}
  end
  math.randomseed(os.time() + #users + math.random(1000000))
end
request = function()
  local x = users[math.random(#users)]
  local t = {}
  for i = 1, 43 do
    local c = math.random(64)
    t[i] = alpha:sub(c, c)
  end
  local body = '{"subdomain":"' .. x[3] .. '","txt":"' .. table.concat(t) .. '"}'
  return wrk.format("POST", "/update", {["X-Api-User"] = x[1],
    ["X-Api-Key"] = x[2], ["Content-Type"] = "application/json"}, body)
end
"""


def paced_updates(port, users, rate, seconds, stop, out):
    """Updates at `rate` per second over 4 keep-alive connections."""
    def worker(idx, n):
        c = socket.create_connection(("127.0.0.1", port))
        c.settimeout(10)
        per = rate / n
        t_next = time.monotonic()
        done = 0
        buf = b""
        sent = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end and not stop.is_set():
            if sent % 900 == 899:   # stay under max requests/connection
                c.close()
                c = socket.create_connection(("127.0.0.1", port))
                c.settimeout(10)
            u, k, sub = users[random.randrange(len(users))]
            req = update_reqs([(u, k, sub)], 1)[0]
            c.sendall(req)
            sent += 1
            while b"\r\n\r\n" not in buf or len(buf) < buf.index(
                    b"\r\n\r\n") + 4 + int(re.search(
                        rb"(?i)content-length: *(\d+)", buf).group(1)):
                buf += c.recv(65536)
            if not buf.startswith(b"HTTP/1.1 200"):
                out["errors"] = out.get("errors", 0) + 1
            buf = b""
            done += 1
            t_next += 1 / per
            delay = t_next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        c.close()
        out.setdefault("done", []).append(done)
    ths = [threading.Thread(target=worker, args=(i, 4)) for i in range(4)]
    for t in ths:
        t.start()
    return ths


def visibility(d, users, samples):
    """Send an update, then poll DNS until the value shows; microseconds."""
    us = []
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.settimeout(1.0)
    for i in range(samples):
        u, k, sub = users[i % len(users)]
        txt = txt_value()
        body = json.dumps({"subdomain": sub, "txt": txt}).encode()
        req = (b"POST /update HTTP/1.1\r\nHost: x\r\nX-Api-User: " +
               u.encode() + b"\r\nX-Api-Key: " + k.encode() +
               b"\r\nConnection: close\r\nContent-Length: " +
               str(len(body)).encode() + b"\r\n\r\n" + body)
        c = socket.create_connection(("127.0.0.1", d.api_port))
        q = dns_query(sub + "." + DOMAIN, 16, i & 0xffff)
        t0 = time.perf_counter()
        c.sendall(req)
        seen = None
        while time.perf_counter() - t0 < 2:
            dns.sendto(q, ("127.0.0.1", d.dns_port))
            try:
                data = dns.recv(4096)
            except socket.timeout:
                continue
            if txt.encode() in data:
                seen = time.perf_counter() - t0
                break
        c.settimeout(5)
        resp = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            resp += chunk
        c.close()
        if seen is None or not resp.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("update not visible or not 200")
        us.append(seen * 1e6)
    us.sort()
    return us


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--acmedns", default="build/acmedns")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--rate", type=int, default=1000)
    args = ap.parse_args()
    if os.cpu_count() and os.cpu_count() > 1:
        os.sched_setaffinity(0, set(range(1, os.cpu_count())))
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make deps)")
    work = tempfile.mkdtemp(prefix="acmedns-apibench-")
    rows = []
    d = Daemon(os.path.abspath(args.acmedns), work,
               os.path.join(work, "store.db"))
    try:
        d.start()
        r0 = d.rss_kb()
        rows.append(("empty daemon RSS (MB), anonymous / file-backed",
                     f"{r0[0] / 1024:.1f} ({r0[1] / 1024:.1f} / "
                     f"{r0[2] / 1024:.1f})"))
        t0 = time.monotonic()
        users = register(d.api_port, 1000)
        reg_rate = len(users) / (time.monotonic() - t0)
        rows.append(("registrations/s (pipelined, 1 connection)",
                     f"{reg_rate:.0f}"))
        # two TXT values each, as a registration normally holds
        http_pipeline(d.api_port, update_reqs(users[:450], 2))
        http_pipeline(d.api_port, update_reqs(users[450:900], 2))
        http_pipeline(d.api_port, update_reqs(users[900:], 2))
        names = [u[2] for u in users]
        idle, lost = dns_latency(d.dns_port, names, 3)
        rows.append(("DNS latency idle p50 / p99 (us)",
                     f"{pct(idle, 50):.0f} / {pct(idle, 99):.0f}"))

        # DNS latency while updates run at the target rate (1,000/s)
        stop = threading.Event()
        pout = {}
        cpu0 = d.cpu_s()
        t0 = time.monotonic()
        ths = paced_updates(d.api_port, users, args.rate, args.duration + 2,
                            stop, pout)
        time.sleep(1)
        paced, _ = dns_latency(d.dns_port, names, args.duration)
        stop.set()
        for t in ths:
            t.join()
        el = time.monotonic() - t0
        cpu = d.cpu_s() - cpu0
        nup = sum(pout.get("done", []))
        rows.append((f"paced updates: achieved rate (/s), errors",
                     f"{nup / el:.0f}, {pout.get('errors', 0)}"))
        rows.append(("server CPU per paced update (us, incl. DNS probe)",
                     f"{cpu / max(nup, 1) * 1e6:.1f}"))
        rows.append((f"DNS latency during {args.rate} updates/s p50 / p99 (us)",
                     f"{pct(paced, 50):.0f} / {pct(paced, 99):.0f}"))
        rows.append((f"DNS p99 during {args.rate} updates/s / idle",
                     f"{pct(paced, 99) / pct(idle, 99):.2f}x"))

        ufile = os.path.join(work, "users.txt")
        with open(ufile, "w") as f:
            for u in users:
                f.write(" ".join(u) + "\n")
        lua = os.path.join(work, "update.lua")
        with open(lua, "w") as f:
            f.write(WRK_LUA)
        res = {}
        stop = threading.Event()

        def probe():
            res["lat"], res["lost"] = dns_latency(d.dns_port, names,
                                                  args.duration + 5, stop)
        th = threading.Thread(target=probe)
        cpu0 = d.cpu_s()
        th.start()
        time.sleep(1)
        w = subprocess.run(["wrk", "-t1", "-c16", f"-d{args.duration}s",
                            "--latency", "-s", lua,
                            f"http://127.0.0.1:{d.api_port}", "--", ufile],
                           capture_output=True, text=True,
                           timeout=args.duration + 60)
        stop.set()
        th.join()
        cpu = d.cpu_s() - cpu0
        m = re.search(r"Requests/sec:\s+([\d.]+)", w.stdout)
        rps = float(m.group(1)) if m else 0.0
        total = re.search(r"(\d+) requests in", w.stdout)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", w.stdout)
        p99 = re.search(r"99%\s+(\S+)", w.stdout)
        n = int(total.group(1)) if total else 0
        rows.append(("updates/s sustained (wrk, 16 connections, 1 thread)",
                     f"{rps:.0f}"))
        rows.append(("update latency p99 (wrk)",
                     p99.group(1) if p99 else "?"))
        rows.append(("non-2xx responses", non2xx.group(1) if non2xx else "0"))
        rows.append(("server CPU per update (us, incl. DNS probe)",
                     f"{cpu / max(n, 1) * 1e6:.1f}"))
        load = res.get("lat", [])
        rows.append(("DNS latency during saturation p50 / p99 (us)",
                     f"{pct(load, 50):.0f} / {pct(load, 99):.0f}"))
        vis = visibility(d, users, 200)
        rows.append(("update request -> value in DNS p50 / p99 (us)",
                     f"{pct(vis, 50):.0f} / {pct(vis, 99):.0f}"))
        d.stop()

        for size in [int(x) for x in args.sizes.split(",") if x]:
            d2 = Daemon(os.path.abspath(args.acmedns), work,
                        os.path.join(work, f"store{size}.db"))
            d2.start()
            have = 0
            while have < size:
                k = min(size - have, 5000)
                us = register(d2.api_port, k)
                reqs = update_reqs(us, 2)
                for i in range(0, len(reqs), 900):
                    http_pipeline(d2.api_port, reqs[i:i + 900])
                have += k
            d2.stop()
            start = d2.start()
            time.sleep(0.5)
            rss = d2.rss_kb()
            d2.stop()
            rows.append((f"{size} registrations x 2 TXT: start to first "
                         "answer (s)", f"{start:.2f}"))
            rows.append((f"{size} registrations x 2 TXT: RSS (MB), "
                         "of which anonymous / file-backed",
                         f"{rss[0] / 1024:.1f} ({rss[1] / 1024:.1f} / "
                         f"{rss[2] / 1024:.1f})"))
    finally:
        d.stop()
    width = max(len(r[0]) for r in rows)
    print()
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
