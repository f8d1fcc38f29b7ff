#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test 3: signals and startup of the real daemon - SIGHUP
reloads records while a UDP query loop sees no failure, a broken config on
SIGHUP keeps the running records (and logs why), SIGTERM/SIGINT exit 0, a
port in use makes `serve` exit 1 promptly naming the address and the
reason, check-config (good: exit 0 + dump; bad: exit 1 + FILE:LINE:),
--version, --help, and usage errors (exit 2)."""

import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import (LOOPBACK4, Daemon, Message, Results, base_config,
                     build_query, free_port, query, run, sanitizer_hits,
                     std_args, tempdir, write)

DOMAIN = "auth.example.test"


def replace_file(path, text):
    """Atomic rewrite, as an editor or config management would do."""
    tmp = path + ".tmp"
    write(tmp, text)
    os.rename(tmp, path)


def lookup(port, name, qtype="A"):
    try:
        _, m = query(LOOPBACK4, port, name, qtype, timeout=1.0)
        return m
    except OSError:
        return None


def rdatas(m):
    return sorted(r.rdata for r in m.answer) if m else None


class QueryLoop(threading.Thread):
    """UDP queries for a name that exists in every config version, as fast
    as they are answered; counts timeouts and wrong answers."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.sent = self.ok = 0
        self.errors = []

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((LOOPBACK4, self.port))
        i = 0
        while not self.stop.is_set():
            i += 1
            q = build_query(f"keep.{DOMAIN}", "A", qid=i & 0xFFFF)
            self.sent += 1
            s.settimeout(1.0)
            try:
                s.send(q)
                while True:
                    r = s.recv(4096)
                    if r[:2] == q[:2]:
                        break
                m = Message(r)
                if m.rcode == 0 and rdatas(m) == ["192.0.2.2"]:
                    self.ok += 1
                else:
                    self.errors.append(repr(m))
            except (OSError, ValueError) as e:
                self.errors.append(f"query {i}: {e!r}")
        s.close()


def reload_checks(res, binary):
    res.section("SIGHUP reload under load")
    work = tempdir("sig-reload")
    port = free_port()
    api_port = free_port(ipv6=False)

    def conf_text(recs):
        return base_config(port, work, api_port=api_port, records=[
            "ns1.auth.example.test. A 127.0.0.1",
            "keep.auth.example.test. A 192.0.2.2"] + recs)

    conf = write(os.path.join(work, "acmedns.conf"),
                 conf_text(["old.auth.example.test. A 192.0.2.1"]))
    d = Daemon(binary, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    try:
        res.eq(rdatas(lookup(port, f"old.{DOMAIN}")), ["192.0.2.1"],
               "before reload: old record served")
        serial0 = lookup(port, DOMAIN, "SOA").answer[0].rdata.split()[2]
        loop = QueryLoop(port)
        loop.start()
        time.sleep(0.3)
        replace_file(conf, conf_text(["new.auth.example.test. A 192.0.2.3",
                                      'new.auth.example.test. TXT "fresh"']))
        d.signal(signal.SIGHUP)
        deadline = time.monotonic() + 3
        m = None
        while time.monotonic() < deadline:
            m = lookup(port, f"new.{DOMAIN}")
            if rdatas(m) == ["192.0.2.3"]:
                break
            time.sleep(0.05)
        res.eq(rdatas(m), ["192.0.2.3"], "after SIGHUP: new record served")
        res.eq(rdatas(lookup(port, f"new.{DOMAIN}", "TXT")), ['"fresh"'],
               "after SIGHUP: new TXT served")
        m = lookup(port, f"old.{DOMAIN}")
        res.check(m is not None and m.rcode == 3,
                  "after SIGHUP: old record gone (NXDOMAIN)", repr(m))
        serial1 = lookup(port, DOMAIN, "SOA").answer[0].rdata.split()[2]
        res.check(int(serial1) > int(serial0), "SOA serial increased",
                  f"{serial0} -> {serial1}")
        # a few more reloads back and forth while the loop runs
        for i in range(6):
            recs = ([f"r{i}.auth.example.test. A 192.0.2.{10 + i}"]
                    if i % 2 else [])
            replace_file(conf, conf_text(recs))
            d.signal(signal.SIGHUP)
            time.sleep(0.15)
        time.sleep(0.3)
        loop.stop.set()
        loop.join(5)
        res.check(not loop.errors and loop.ok > 50,
                  f"background UDP loop during 7 reloads: {loop.ok}/"
                  f"{loop.sent} answered correctly, no timeouts",
                  "\n".join(loop.errors[:10]))
        res.eq(rdatas(lookup(port, f"r5.{DOMAIN}")), ["192.0.2.15"],
               "last reload's record served")

        res.section("SIGHUP with a broken config keeps the running records")
        before = d.stderr()
        lines = conf_text(["newer.auth.example.test. A 192.0.2.4"]).splitlines()
        # the broken record goes right after the first record line
        idx = next(i for i, l in enumerate(lines) if l.startswith("record"))
        lines.insert(idx + 1, "record = broken.auth.example.test. A 300.1.2.3")
        bad_line = idx + 2
        replace_file(conf, "\n".join(lines) + "\n")
        d.signal(signal.SIGHUP)
        time.sleep(0.8)
        res.eq(rdatas(lookup(port, f"r5.{DOMAIN}")), ["192.0.2.15"],
               "broken record: previous records still served")
        m = lookup(port, f"newer.{DOMAIN}")
        res.check(m is not None and m.rcode == 3,
                  "broken record: nothing of the bad config served", repr(m))
        log = d.stderr()[len(before):]
        res.check(f"{conf}:{bad_line}" in log,
                  f"broken record: error logged with {os.path.basename(conf)}"
                  f":{bad_line}", log)

        # a syntax error (unknown key) is refused as a whole too
        before = d.stderr()
        replace_file(conf, conf_text(["newer.auth.example.test. A 192.0.2.4"])
                     .replace("[zone]\n", "[zone]\nno_such_key = 1\n"))
        d.signal(signal.SIGHUP)
        time.sleep(0.8)
        m = lookup(port, f"newer.{DOMAIN}")
        res.check(m is not None and m.rcode == 3 and
                  rdatas(lookup(port, f"r5.{DOMAIN}")) == ["192.0.2.15"],
                  "unknown key on SIGHUP: running records kept", repr(m))
        log = d.stderr()[len(before):]
        res.check("unknown key" in log and conf in log,
                  "unknown key on SIGHUP: logged with the file name", log)

        # and a good config afterwards is taken again
        replace_file(conf, conf_text(["newer.auth.example.test. A 192.0.2.4"]))
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        res.eq(rdatas(lookup(port, f"newer.{DOMAIN}")), ["192.0.2.4"],
               "fixed config on SIGHUP: served")

        # [zone] file is re-read on SIGHUP too
        zf = write(os.path.join(work, "extra.zone"),
                   "zf IN A 192.0.2.50\n")
        with_file = conf_text([]).replace("[zone]\n", f"[zone]\nfile = {zf}\n")
        replace_file(conf, with_file)
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        res.eq(rdatas(lookup(port, f"zf.{DOMAIN}")), ["192.0.2.50"],
               "SIGHUP: records of a newly added [zone] file served")
        replace_file(zf, "zf IN A 192.0.2.51\nzf2 IN TXT \"two\"\n")
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        res.check(rdatas(lookup(port, f"zf.{DOMAIN}")) == ["192.0.2.51"] and
                  rdatas(lookup(port, f"zf2.{DOMAIN}", "TXT")) == ['"two"'],
                  "SIGHUP: edited zone file re-read")
        before = d.stderr()
        replace_file(zf, "zf IN A 192.0.2.52\nzf3 IN A 192.0.2.999\n")
        d.signal(signal.SIGHUP)
        time.sleep(0.5)
        log = d.stderr()[len(before):]
        res.check(rdatas(lookup(port, f"zf.{DOMAIN}")) == ["192.0.2.51"] and
                  f"{zf}:2" in log,
                  "SIGHUP: broken zone file keeps the old records, logs "
                  "FILE:LINE", log)
        d.check_alive(res, "after reloads")
    finally:
        d.stop(res)


def sigint_check(res, binary):
    res.section("SIGINT")
    work = tempdir("sig-int")
    port = free_port()
    conf = write(os.path.join(work, "acmedns.conf"), base_config(port, work))
    d = Daemon(binary, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    d.signal(signal.SIGINT)
    try:
        rc = d.proc.wait(5)
    except subprocess.TimeoutExpired:
        os.kill(d.pid, signal.SIGKILL)
        d.proc.wait(5)
        rc = "hang"
    res.eq(rc, 0, "SIGINT -> exit status 0 within 5 s")
    res.check(not sanitizer_hits(d.stderr()), "no sanitizer report",
              d.stderr()[-3000:])
    d.stop(res) if d.alive() else None


def port_in_use(res, binary):
    res.section("port already in use")
    for kind in ("udp", "tcp", "second address"):
        work = tempdir("sig-port")
        port = free_port()
        holders = []
        if kind == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((LOOPBACK4, port))
            holders.append(s)
            busy = f"127.0.0.1:{port}"
            text = base_config(port, work)
        elif kind == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK4, port))
            s.listen(5)
            holders.append(s)
            busy = f"127.0.0.1:{port}"
            text = base_config(port, work)
        else:
            port2 = free_port()
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((LOOPBACK4, port2))
            holders.append(s)
            busy = f"127.0.0.1:{port2}"
            text = base_config(port, work).replace(
                f"listen = 127.0.0.1:{port}\n",
                f"listen = 127.0.0.1:{port}\nlisten = 127.0.0.1:{port2}\n")
        conf = write(os.path.join(work, "acmedns.conf"), text)
        t0 = time.monotonic()
        rc, out, err = run([binary, "serve", "-c", conf], timeout=10,
                           cwd=work)
        dt = time.monotonic() - t0
        for h in holders:
            h.close()
        res.check(rc == 1 and dt < 3.0,
                  f"{kind} port busy: serve exits 1 in under 3 s",
                  f"rc={rc} after {dt:.2f} s\n{err}")
        res.check(busy in err and re.search(r"address already in use", err,
                                            re.I),
                  f"{kind} port busy: stderr names {busy} and the reason",
                  err)
        res.check(not sanitizer_hits(err), f"{kind} port busy: no sanitizer "
                  "report", err[-3000:])
        if kind == "second address":
            # nothing was left bound: the first address is free again
            from harness import port_free
            res.check(port_free(port, ipv6=False),
                      "second address busy: the first one was released")


def commands(res, binary):
    res.section("check-config, --version, usage")
    work = tempdir("sig-cmd")
    port = free_port()
    good = write(os.path.join(work, "good.conf"), base_config(
        port, work, records=['static.auth.example.test. TXT "x"']))
    rc, out, err = run([binary, "check-config", "-c", good], cwd=work)
    res.check(rc == 0 and "[zone]" in out and "auth.example.test" in out and
              "[dns]" in out and f"127.0.0.1:{port}" in out,
              "check-config good.conf: exit 0, prints the configuration",
              f"rc={rc}\nstdout:\n{out}\nstderr:\n{err}")
    res.check(not sanitizer_hits(err), "check-config: no sanitizer report",
              err)

    # secrets are masked in the dump
    secret = "s3cret-Token-0123456789"
    sec = write(os.path.join(work, "secret.conf"), base_config(port, work)
                .replace("tls = none\n", f"tls = none\nregistration_token = "
                         f"{secret}\n"))
    rc, out, err = run([binary, "check-config", "-c", sec], cwd=work)
    res.check(rc == 0 and secret not in out + err and "********" in out,
              "check-config: registration_token masked",
              f"rc={rc}\n{out}\n{err}")

    # environment override shows in the dump
    env = dict(os.environ, ACMEDNS_ZONE_NSADMIN="admin.override.test")
    rc, out, err = run([binary, "check-config", "-c", good], cwd=work, env=env)
    res.check(rc == 0 and "admin.override.test" in out,
              "check-config: ACMEDNS_ZONE_NSADMIN override shown",
              f"rc={rc}\n{out}\n{err}")

    cases = [
        ("unknown key", "[dns]\n", "[dns]\nbogus_key = 1\n", "bogus_key"),
        ("broken record", "[zone]\n",
         "[zone]\nrecord = bad.auth.example.test. A not-an-address\n", "record"),
        ("bad number", "[dns]\n", "[dns]\ntcp_idle_timeout = soon\n",
         "tcp_idle_timeout"),
        ("unknown section", "[zone]\n", "[nosuchsection]\nx = 1\n[zone]\n",
         "nosuchsection"),
    ]
    for what, anchor, repl, marker in cases:
        text = base_config(port, work).replace(anchor, repl, 1)
        line = next(i + 1 for i, l in enumerate(text.splitlines())
                    if marker in l)
        bad = write(os.path.join(work, "bad.conf"), text)
        rc, out, err = run([binary, "check-config", "-c", bad], cwd=work)
        first = err.strip().splitlines()[0] if err.strip() else ""
        res.check(rc == 1 and first.startswith(f"{bad}:{line}: ") and
                  len(first) > len(f"{bad}:{line}: "),
                  f"check-config with {what}: exit 1, '{os.path.basename(bad)}"
                  f":{line}: message'", f"rc={rc}\nstderr:\n{err}")
        res.check(not sanitizer_hits(err), f"check-config {what}: no "
                  "sanitizer report", err)
        rc, out, err = run([binary, "serve", "-c", bad], cwd=work, timeout=10)
        res.check(rc == 1 and f"{bad}:{line}: " in err,
                  f"serve with {what}: exit 1 with FILE:LINE:",
                  f"rc={rc}\n{err}")

    rc, out, err = run([binary, "check-config", "-c",
                        os.path.join(work, "missing.conf")], cwd=work)
    res.check(rc == 1 and "missing.conf" in err and len(err.strip().
                                                         splitlines()) == 1,
              "check-config on a missing file: exit 1, one line naming it",
              f"rc={rc}\n{err}")

    rc, out, err = run([binary, "--version"])
    lines = out.strip().splitlines()
    res.check(rc == 0 and len(lines) == 1 and
              re.match(r"^acmedns \S+", lines[0]) and out.endswith("\n"),
              "--version: exit 0, one line", f"rc={rc} {out!r} {err!r}")
    rc, out, err = run([binary, "--help"])
    res.check(rc == 0 and "serve" in out and "check-config" in out,
              "--help: exit 0, lists subcommands", f"rc={rc}\n{out}{err}")
    rc, out, err = run([binary])
    res.check(rc == 2 and "usage" in (out + err).lower(),
              "no arguments: exit 2 with usage", f"rc={rc}\n{out}{err}")
    rc, out, err = run([binary, "frobnicate"])
    res.eq(rc, 2, "unknown command: exit 2")
    rc, out, err = run([binary, "serve", "--bogus-option"])
    res.eq(rc, 2, "unknown option: exit 2")


def main():
    args = std_args(__doc__)
    res = Results("integ_signals")
    reload_checks(res, args.acmedns)
    sigint_check(res, args.acmedns)
    port_in_use(res, args.acmedns)
    commands(res, args.acmedns)
    res.finish()


if __name__ == "__main__":
    main()
