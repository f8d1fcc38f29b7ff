#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test 1: the real daemon queried with dig, kdig and drill over
UDP, TCP and IPv6 - SOA, NS (+glue), static TXT, NXDOMAIN, NODATA, REFUSED,
AA/RA flags, CH version.bind (hidden, then configured), EDNS (DO echo, 1232,
BADVERS), 0x20 case preservation, TC for a big RRset over UDP and the full
answer over TCP."""

import os

from harness import (LOOPBACK4, LOOPBACK6, Daemon, Message, Results,
                     base_config, build_query, free_port, have_ipv6, query,
                     run_tool, std_args, tempdir, udp_exchange, tcp_exchange,
                     write)

DOMAIN = "auth.example.test"
BIG_COUNT = 10
BIG_VALUES = [f"big-{i:02d}-" + chr(ord("a") + i) * 142 for i in range(BIG_COUNT)]

RECORDS = [
    "ns1.auth.example.test. A 127.0.0.1",
    "ns1.auth.example.test. AAAA ::1",
    'static.auth.example.test. 300 TXT "hello world"',
    "www.auth.example.test. 600 A 192.0.2.80",
] + [f'big.auth.example.test. 60 TXT "{v}"' for v in BIG_VALUES]


def matrix(res, port, hosts):
    """The same checks with every tool, transport and address family."""
    for tool in ("dig", "kdig", "drill"):
        for host in hosts:
            for tcp in (False, True):
                tag = f"{tool} {'tcp' if tcp else 'udp'} {host}"

                a, rc, out, cmd = run_tool(tool, host, port, DOMAIN, "SOA",
                                           tcp=tcp)
                ok = (a.status == "NOERROR" and "aa" in a.flags and
                      "rd" in a.flags and "ra" not in a.flags and
                      len(a.rrs("ANSWER", "SOA")) == 1 and
                      a.rrs("ANSWER", "SOA")[0][4].startswith(
                          "ns1.auth.example.test. hostmaster.example.test. "))
                res.check(ok, f"{tag}: SOA NOERROR, AA, RD echoed, RA clear",
                          f"{' '.join(cmd)}\n{out}")

                a, rc, out, cmd = run_tool(tool, host, port, DOMAIN, "NS",
                                           tcp=tcp)
                glue = sorted((f[3], f[4]) for f in a.rrs("ADDITIONAL"))
                ok = (a.status == "NOERROR" and "aa" in a.flags and
                      a.rdatas("ANSWER", "NS") == ["ns1.auth.example.test."] and
                      glue == [("A", "127.0.0.1"), ("AAAA", "::1")])
                res.check(ok, f"{tag}: NS with A+AAAA glue", f"{out}")

                a, rc, out, cmd = run_tool(tool, host, port,
                                           "static." + DOMAIN, "TXT", tcp=tcp)
                rr = a.rrs("ANSWER", "TXT")
                ok = (a.status == "NOERROR" and "aa" in a.flags and
                      len(rr) == 1 and rr[0][4] == '"hello world"' and
                      rr[0][1] == "300")
                res.check(ok, f"{tag}: static TXT", out)

                a, rc, out, cmd = run_tool(tool, host, port,
                                           "nope." + DOMAIN, "A", tcp=tcp)
                ok = (a.status == "NXDOMAIN" and "aa" in a.flags and
                      not a.rrs("ANSWER") and
                      len(a.rrs("AUTHORITY", "SOA")) == 1 and
                      int(a.rrs("AUTHORITY", "SOA")[0][1]) <= 300)
                res.check(ok, f"{tag}: NXDOMAIN with SOA (TTL <= 300)", out)

                a, rc, out, cmd = run_tool(tool, host, port,
                                           "www." + DOMAIN, "AAAA", tcp=tcp)
                ok = (a.status == "NOERROR" and "aa" in a.flags and
                      not a.rrs("ANSWER") and
                      len(a.rrs("AUTHORITY", "SOA")) == 1)
                res.check(ok, f"{tag}: NODATA with SOA", out)

                a, rc, out, cmd = run_tool(tool, host, port, "example.com",
                                           "A", tcp=tcp)
                ok = (a.status == "REFUSED" and "aa" not in a.flags and
                      "ra" not in a.flags and not a.rrs("ANSWER"))
                res.check(ok, f"{tag}: out of zone REFUSED, AA clear", out)

                a, rc, out, cmd = run_tool(tool, host, port, "version.bind",
                                           "TXT", "CH", tcp=tcp)
                res.check(a.status == "REFUSED" and not a.rrs("ANSWER"),
                          f"{tag}: CH TXT version.bind hidden (REFUSED)", out)
                a, rc, out, cmd = run_tool(tool, host, port, "id.server",
                                           "TXT", "CH", tcp=tcp)
                res.check(a.status == "REFUSED" and not a.rrs("ANSWER"),
                          f"{tag}: CH TXT id.server hidden (REFUSED)", out)

                if tool == "kdig":
                    continue  # kdig lowercases the name before sending it
                a, rc, out, cmd = run_tool(tool, host, port, "AuTh.ExAmPlE.TeSt",
                                           "SOA", tcp=tcp)
                q = a.sections["QUESTION"]
                res.check(a.status == "NOERROR" and q and
                          q[0][0] == "AuTh.ExAmPlE.TeSt.",
                          f"{tag}: 0x20 mixed case echoed in the question", out)


def edns_checks(res, port):
    res.section("EDNS")
    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, DOMAIN, "SOA",
                               extra=["+dnssec"])
    ok = (a.status == "NOERROR" and a.edns is not None and
          "do" in a.edns["flags"] and a.edns["udp"] == 1232 and
          a.edns["version"] == 0)
    res.check(ok, "dig +dnssec: DO echoed, udp 1232 advertised", out)

    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, DOMAIN, "SOA")
    ok = (a.edns is not None and "do" not in a.edns["flags"] and
          a.edns["udp"] == 1232)
    res.check(ok, "dig (EDNS, no DO): DO clear, udp 1232", out)

    a, rc, out, cmd = run_tool("kdig", LOOPBACK4, port, DOMAIN, "SOA",
                               extra=["+dnssec"])
    ok = a.edns is not None and "do" in a.edns["flags"] and a.edns["udp"] == 1232
    res.check(ok, "kdig +dnssec: DO echoed, udp 1232", out)

    a, rc, out, cmd = run_tool("drill", LOOPBACK4, port, DOMAIN, "SOA",
                               extra=["-D"])
    ok = (a.status == "NOERROR" and a.edns is not None and
          "do" in a.edns["flags"] and a.edns["udp"] == 1232)
    res.check(ok, "drill -D: DO echoed, udp 1232", out)

    a, rc, out, cmd = run_tool("kdig", LOOPBACK4, port, DOMAIN, "SOA")
    res.check(a.status == "NOERROR" and a.edns is None,
              "kdig without EDNS: no OPT in the answer", out)

    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, DOMAIN, "SOA",
                               extra=["+edns=1", "+noednsnegotiation"])
    ok = (a.status == "BADVERS" and not a.rrs("ANSWER") and
          a.edns is not None and a.edns["version"] == 0)
    res.check(ok, "dig +edns=1 -> BADVERS, OPT version 0, no answer", out)

    a, rc, out, cmd = run_tool("kdig", LOOPBACK4, port, DOMAIN, "SOA",
                               extra=["+edns=1"])
    res.check(a.status == "BADVERS", "kdig +edns=1 -> BADVERS", out)

    # raw: unknown option ignored, DO echo, ext rcode
    _, m = query(LOOPBACK4, port, DOMAIN, "SOA",
                 edns={"size": 4096, "do": True,
                       "options": [(65001, b"hello"), (10, b"12345678")]})
    res.check(m.rcode == 0 and m.edns and m.edns["do"] and
              m.edns["size"] == 1232 and len(m.answer) == 1,
              "raw EDNS with unknown option + cookie: answered, DO echoed",
              repr(m))
    _, m = query(LOOPBACK4, port, DOMAIN, "SOA", edns={"version": 3})
    res.check(m.rcode == 16 and m.edns is not None and
              m.edns["version"] == 0 and not m.answer,
              "raw EDNS version 3 -> BADVERS (16)", repr(m))


def flag_checks(res, port):
    res.section("flags and case, raw")
    for rd in (True, False):
        _, m = query(LOOPBACK4, port, "www." + DOMAIN, "A", rd=rd)
        res.check(m.qr and m.aa and not m.ra and m.rd == rd and m.rcode == 0
                  and [r.rdata for r in m.answer] == ["192.0.2.80"],
                  f"RD={int(rd)}: answered, AA=1, RA=0, RD echoed", repr(m))
    mixed = "wWw.AUTH.example.TEST"
    q, m = query(LOOPBACK4, port, mixed, "A")
    res.check(m.qname_wire() == q[12:12 + len(m.qname_wire())] and
              m.question[0][0] == mixed + ".",
              "raw 0x20: question bytes echoed exactly", repr(m))
    res.check(m.answer and m.answer[0].name.lower() == "www.auth.example.test.",
              "raw 0x20: answer owner matches", repr(m))
    q, m = query(LOOPBACK6 if have_ipv6() else LOOPBACK4, port, mixed, "A",
                 tcp=True)
    res.check(m.question[0][0] == mixed + ".",
              "raw 0x20 over TCP: question echoed", repr(m))
    _, m = query(LOOPBACK4, port, "x.nope." + DOMAIN, "TXT")
    res.check(m.rcode == 3 and m.aa and len(m.authority) == 1 and
              m.authority[0].rtype == 6, "deep NXDOMAIN with SOA", repr(m))


def big_checks(res, port):
    res.section("big RRset: TC over UDP, full over TCP")
    name = "big." + DOMAIN
    want = sorted(f'"{v}"' for v in BIG_VALUES)

    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, name, "TXT",
                               extra=["+noedns", "+ignore"])
    ok = "tc" in a.flags and a.status == "NOERROR" and not a.rrs("ANSWER")
    res.check(ok, "dig +noedns +ignore: tc flag, question only", out)

    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, name, "TXT",
                               extra=["+ignore"])
    res.check("tc" in a.flags, "dig (EDNS 1232) +ignore: tc flag (~1.7 KB "
              "does not fit 1232)", out)

    a, rc, out, cmd = run_tool("dig", LOOPBACK4, port, name, "TXT",
                               extra=["+noedns"])
    ok = (a.rdatas("ANSWER", "TXT") == want and "tc" not in a.flags and
          "(TCP)" in out)
    res.check(ok, "dig +noedns (auto retry over TCP): all records", out)

    for tool, host in (("dig", LOOPBACK4), ("kdig", LOOPBACK4),
                       ("drill", LOOPBACK4), ("dig", LOOPBACK6)):
        if host == LOOPBACK6 and not have_ipv6():
            continue
        a, rc, out, cmd = run_tool(tool, host, port, name, "TXT", tcp=True)
        ok = (a.status == "NOERROR" and a.rdatas("ANSWER", "TXT") == want
              and "tc" not in a.flags)
        res.check(ok, f"{tool} tcp {host}: full big TXT RRset "
                  f"({BIG_COUNT} records)", out)

    a, rc, out, cmd = run_tool("kdig", LOOPBACK4, port, name, "TXT",
                               extra=["+ignore"])
    res.check("tc" in a.flags, "kdig +ignore: tc flag", out)

    a, rc, out, cmd = run_tool("drill", LOOPBACK4, port, name, "TXT")
    res.check("tc" in a.flags and not a.rrs("ANSWER"),
              "drill (UDP, no EDNS): tc flag", out)

    # raw: exact sizes
    q = build_query(name, "TXT")
    r = udp_exchange(LOOPBACK4, port, q)
    m = Message(r)
    res.check(m.tc and m.counts == (1, 0, 0, 0) and len(r) <= 512 and
              m.question[0][0] == name + ".",
              "raw UDP no EDNS: TC=1, question only", repr(m))
    q = build_query(name, "TXT", edns={"size": 4096})
    r = udp_exchange(LOOPBACK4, port, q)
    m = Message(r)
    res.check(m.tc and len(r) <= 1232 and m.edns is not None,
              "raw UDP EDNS 4096: TC=1 (server maximum 1232), OPT present",
              repr(m))
    q = build_query(name, "TXT")
    r = tcp_exchange(LOOPBACK4, port, q)
    m = Message(r)
    res.check(not m.tc and len(m.answer) == BIG_COUNT and 1500 < len(r) < 2500,
              f"raw TCP: {len(m.answer)} records, {len(r)} bytes", repr(m))


def version_config(res, binary):
    res.section("second config: [dns] version and identity configured")
    work = tempdir("tools-ver")
    port = free_port()
    conf = write(os.path.join(work, "acmedns.conf"), base_config(
        port, work, ipv6=have_ipv6(),
        extra_dns="version = acmedns-test\nidentity = ns1-test\n",
        records=["ns1.auth.example.test. A 127.0.0.1"]))
    d = Daemon(binary, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon with version configured starts", str(e))
        return
    hosts = [LOOPBACK4] + ([LOOPBACK6] if have_ipv6() else [])
    for tool in ("dig", "kdig", "drill"):
        for host in hosts:
            for tcp in (False, True):
                a, rc, out, cmd = run_tool(tool, host, port, "version.bind",
                                           "TXT", "CH", tcp=tcp)
                rr = a.rrs("ANSWER", "TXT")
                ok = (a.status == "NOERROR" and len(rr) == 1 and
                      rr[0][4] == '"acmedns-test"' and rr[0][2] == "CH")
                res.check(ok, f"{tool} {'tcp' if tcp else 'udp'} {host}: CH "
                          "TXT version.bind -> \"acmedns-test\"", out)
    _, m = query(LOOPBACK4, port, "VERSION.Server", "TXT", "CH")
    res.check(m.rcode == 0 and len(m.answer) == 1 and
              m.answer[0].rdata == '"acmedns-test"' and
              m.question[0][0] == "VERSION.Server.",
              "raw CH TXT VERSION.Server (case kept) answered", repr(m))
    _, m = query(LOOPBACK4, port, "id.server", "TXT", "CH")
    res.check(m.rcode == 0 and [r.rdata for r in m.answer] == ['"ns1-test"']
              and m.answer[0].rclass == 3,
              "CH TXT id.server -> configured identity", repr(m))
    _, m = query(LOOPBACK4, port, "version.bind", "A", "CH")
    res.check(m.rcode == 5, "CH A version.bind -> REFUSED", repr(m))
    _, m = query(LOOPBACK4, port, "auth.example.test", "SOA", "CH")
    res.check(m.rcode == 5, "CH SOA of the zone -> REFUSED", repr(m))
    _, m = query(LOOPBACK4, port, "auth.example.test", "SOA", 4)
    res.check(m.rcode == 5, "class HS -> REFUSED", repr(m))
    d.stop(res)


def main():
    args = std_args(__doc__)
    res = Results("integ_tools")
    work = tempdir("tools")
    port = free_port()
    ipv6 = have_ipv6()
    conf = write(os.path.join(work, "acmedns.conf"),
                 base_config(port, work, ipv6=ipv6, records=RECORDS))
    d = Daemon(args.acmedns, conf, port, work)
    try:
        d.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        res.finish()
    hosts = [LOOPBACK4] + ([LOOPBACK6] if ipv6 else [])
    if not ipv6:
        res.note("no IPv6 loopback here: [::1] checks skipped")
    try:
        res.section("dig / kdig / drill matrix")
        matrix(res, port, hosts)
        edns_checks(res, port)
        flag_checks(res, port)
        big_checks(res, port)
        d.check_alive(res, "after all queries")
    finally:
        d.stop(res)
    version_config(res, args.acmedns)
    res.finish()


if __name__ == "__main__":
    main()
