#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: the REST API of the real daemon, black box over HTTP
and DNS, against docs/API.md - the joohoi/acme-dns v1.1 compatible
endpoints (POST /register, POST /update, GET /health) with every case
acme-dns's own api/validation/db/util tests check, and our extensions:
txt_slots, DELETE /register, disable_registration, registration_allowfrom,
registration_token, txt_max_age, CORS, trusted_proxies / use_header,
/metrics, 404/405, keep-alive and pipelining, a store failure (500), the
update -> DNS visibility (measured), secrets kept out of logs and store."""

import json
import os
import statistics
import subprocess
import threading
import time
import uuid

from apiclient import (DOMAIN, KEY_RE, UUID4_RE, ApiDaemon, HttpError,
                       build_request, is_error, metric_labels, metric_sum,
                       rand_txt, secrets_in_file)
from harness import (LOOPBACK4, Results, have_ipv6, query, run_tool,
                     std_args)

VALID_TXT = "a" * 43  # acme-dns's validTxtData
FOREIGN_UUID = "a097455b-52cc-4569-90c8-7a4b97c6eba8"
OTHER_UUID = "bb97455b-52cc-4569-90c8-7a4b97c6eba8"

SECRETS = []  # every password we were given, must never leak


def remember(reg):
    if reg and reg.get("password"):
        SECRETS.append(reg["password"])
    return reg


def reg_ok(res, a, what, **kw):
    r, reg = a.register(**kw)
    res.check(r.status == 201 and reg is not None, f"{what}: 201", repr(r))
    return remember(reg)


def nodata(rc_vals):
    return rc_vals == (0, [])


# --------------------------------------------------------------------------
# POST /register


def s_register(res, a):
    res.section("POST /register: shape of the 201")
    r, reg = a.register()
    remember(reg)
    res.eq(r.status, 201, "empty body -> 201")
    res.check((r.h("Content-Type") or "").startswith("application/json"),
              "Content-Type: application/json", repr(r))
    body = r.body.rstrip(b"\n")
    res.check(b"\n" not in body and b"\r" not in body,
              "body is one line", repr(r.body))
    pairs = r.json_pairs()
    keys = [k for k, _ in pairs] if isinstance(pairs, list) else None
    res.eq(keys, ["username", "password", "fulldomain", "subdomain",
                  "allowfrom"], "keys in acme-dns's order")
    if reg is None:
        return None
    res.check(UUID4_RE.match(reg["username"] or ""), "username is a UUIDv4",
              reg["username"])
    res.check(UUID4_RE.match(reg["subdomain"] or ""), "subdomain is a UUIDv4",
              reg["subdomain"])
    res.check(KEY_RE.match(reg["password"] or ""),
              "password: 40 chars of [A-Za-z0-9_-]", reg["password"])
    res.eq(reg["fulldomain"], f"{reg['subdomain']}.{DOMAIN}",
           "fulldomain = subdomain.zone")
    res.eq(reg["allowfrom"], [], "allowfrom [] when none given")
    res.check(reg["username"] != reg["subdomain"],
              "username and subdomain differ")
    # acme.sh parses the 201 with sed on one line starting { ending }
    txt = r.body.decode().strip()
    res.check(txt.startswith("{") and txt.endswith("}"),
              "body starts with { and ends with } (acme.sh's sed)")

    res.section("registration is in DNS at once: NODATA, not NXDOMAIN")
    m = a.txt(reg)
    res.check(nodata(m), "TXT at the new subdomain: NOERROR, no answer",
              repr(m))
    _, mm = query(LOOPBACK4, a.dns_port, a.fqdn(reg), "TXT")
    res.check(mm.aa and any(rr.rtype == 6 for rr in mm.authority),
              "NODATA carries AA and the SOA", repr(mm))
    rc, _ = a.txt(str(uuid.uuid4()))
    res.eq(rc, 3, "unregistered uuid subdomain: NXDOMAIN")
    rc, _ = a.txt("does-not-exist")
    res.eq(rc, 3, "does-not-exist.<zone>: NXDOMAIN (acme-dns GetByDomain)")

    res.section("POST /register: accepted bodies")
    seen_users, seen_subs, seen_pw = set(), set(), set()
    for body, hdrs, want_af, what in (
            ("{}", None, [], "{}"),
            ("null", None, [], "null"),
            ("null\n", None, [], "null + newline (new goacmedns)"),
            ("{}\n", None, [], "{} + newline"),
            ('{"allowfrom": null}', None, [], '"allowfrom": null'),
            ('{"allowfrom": []}', None, [], '"allowfrom": []'),
            ('{"foo": 1, "bar": {"x": [1, 2]}, "allowfrom": ["10.0.0.0/8"]}',
             None, ["10.0.0.0/8"], "unknown keys ignored"),
            ('{"AllowFrom": ["192.0.2.0/24"]}', None, ["192.0.2.0/24"],
             "AllowFrom (old goacmedns casing)"),
            ('{"ALLOWFROM": ["192.0.2.0/24"]}', None, ["192.0.2.0/24"],
             "ALLOWFROM"),
            ('  \n{ "allowfrom" : [ "192.0.2.1/32" ] }  ', None,
             ["192.0.2.1/32"], "whitespace around tokens"),
            ('{"allowfrom": ["192.0.2.0/24"]}', {"Content-Type": None},
             ["192.0.2.0/24"], "no Content-Type (certbot hook)"),
            ('{"allowfrom": ["192.0.2.0/24"]}',
             {"Content-Type": "application/x-www-form-urlencoded"},
             ["192.0.2.0/24"], "form Content-Type (curl --data)"),
            ('{"allowfrom": ["123.123.123.123/32", "2001:db8:a0b:12f0::1/32",'
             ' "[::1]/64"]}', None,
             ["123.123.123.123/32", "2001:db8:a0b:12f0::1/32", "::1/64"],
             "acme-dns TestApiRegister allowfrom (brackets removed)"),
            ('{"allowfrom": ["127.0.0.1/8", "8.8.8.8/32", "1.0.0.1/1"]}', None,
             ["127.0.0.1/8", "8.8.8.8/32", "1.0.0.1/1"],
             "acme-dns TestRegisterMany set 1 (host bits kept as given)"),
            ('{"allowfrom": ["10.0.0.1/24", "2002:c0a8::0/32", "8.8.8.8/32"]}',
             None, ["10.0.0.1/24", "2002:c0a8::0/32", "8.8.8.8/32"],
             "acme-dns TestGetValidCIDRMasks entries"),
            ('{"allowfrom": ["[2001:db8::]/32", "0.0.0.0/0", "::/0"]}', None,
             ["2001:db8::/32", "0.0.0.0/0", "::/0"], "bracketed v6, /0")):
        hdrs2 = {"Content-Type": "application/json"}
        skip_ct = False
        if hdrs:
            for k, v in hdrs.items():
                if v is None:
                    skip_ct = True
                else:
                    hdrs2[k] = v
        if skip_ct:
            hdrs2.pop("Content-Type")
            r = a.request("POST", "/register", body=body, headers=hdrs2)
        else:
            r = a.request("POST", "/register", body=body, headers=hdrs2)
        j = r.json() if r.status == 201 else None
        remember(j)
        res.check(r.status == 201 and j and j.get("allowfrom") == want_af,
                  f"{what} -> 201, allowfrom {want_af}", repr(r))
        if j:
            seen_users.add(j["username"])
            seen_subs.add(j["subdomain"])
            seen_pw.add(j["password"])
    n = len(seen_users)
    res.check(n == len(seen_subs) == len(seen_pw) and n >= 10,
              f"{n} registrations: usernames, subdomains, passwords unique")

    res.section("POST /register: 256 allowfrom entries ok, 257 refused")
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(256)]
    r, j = a.register(allowfrom=many)
    remember(j)
    res.check(r.status == 201 and j and j["allowfrom"] == many,
              "256 entries -> 201, echoed in order", repr(r)[:300])
    r, j = a.register(allowfrom=many + ["10.9.9.0/24"])
    res.check(is_error(r, 400, "invalid_allowfrom_cidr"),
              "257 entries -> 400 invalid_allowfrom_cidr", repr(r))

    res.section("POST /register: invalid CIDRs (all or nothing)")
    _, samples0, _ = a.metrics()
    regs0 = metric_sum(samples0, "acmedns_registrations")
    for v in ("invalid", "1.2.3.4/33", "1.2/24", "1.2.3.4",
              "12345:db8:a0b:12f0::1/32", "1234::123::123::1/32",
              # acme-dns TestRegisterMany set 2
              "1.1.1./32", "1922.168.42.42/8", "1.1.1.1/33", "1.2.3.4/",
              # Go's ParseCIDR: no leading zeros, no spaces, mask required
              "01.2.3.4/32", "1.2.3.04/32", " 10.0.0.0/8", "10.0.0.0/8 ",
              "", "/8", "1.2.3.4/-1", "1.2.3.4/32/1", "::1/129", "[::1]",
              "1.2.3.4/ 8", "fe80::1%eth0/64"):
        r, _ = a.register(allowfrom=[v])
        res.check(is_error(r, 400, "invalid_allowfrom_cidr"),
                  f"allowfrom [{v!r}] -> 400 invalid_allowfrom_cidr", repr(r))
    r = a.request("POST", "/register", body=b'{"allowfrom": [null]}')
    res.check(is_error(r, 400, "invalid_allowfrom_cidr"),
              "[null]: Go decodes null as \"\" -> 400 invalid_allowfrom_cidr",
              repr(r))
    for lst, what in ((["10.0.0.0/8", "invalid"], "valid + invalid"),
                      (["7.6.5.4/32", "invalid", "1.0.0.1/2"],
                       "acme-dns TestRegisterMany set 3 (filtered there, "
                       "refused here)"),
                      (["192.168.1.1/32", "invalid"], "acme-dns "
                       "newUserWithCIDR list")):
        r, _ = a.register(allowfrom=lst)
        res.check(is_error(r, 400, "invalid_allowfrom_cidr"),
                  f"{what}: {lst} -> 400 invalid_allowfrom_cidr", repr(r))

    res.section("POST /register: malformed JSON")
    for p in ("{\"allowfrom': '1.1.1.1/32'}",
              "\"allowfrom\": \"1.1.1.1/32\"",
              "{\"allowfrom\": \"[1.1.1.1/32]\"",
              "\"allowfrom\": \"1.1.1.1/32\"}",
              "{allowfrom: \"1.2.3.4\"}",
              "{allowfrom: [1.2.3.4]}",
              "whatever that's not a json payload",
              # ours: trailing garbage, wrong types
              "{} x", "{}{}", "null null", '{"allowfrom": []} ]',
              '{"allowfrom": "1.2.3.4/32"}', '{"allowfrom": [1]}',
              '{"allowfrom": {"a": 1}}',
              '{"allowfrom": true}', "[]", "[\"10.0.0.0/8\"]", "123", "true",
              '"x"', "{", "}", '{"allowfrom": ["10.0.0.0/8",]}',
              '{"allowfrom": ["10.0.0.0/8"],}', "{'allowfrom': []}",
              '{"allowfrom": ["10.0.0.0/8\\u"]}', "nul", "\x00"):
        r = a.request("POST", "/register", body=p.encode(),
                      headers={"Content-Type": "application/json"})
        j = r.json() or {}
        res.check(is_error(r, 400, "malformed_json_payload") and
                  "subdomain" not in j and "username" not in j,
                  f"{p!r} -> 400 malformed_json_payload", repr(r))
    _, samples1, _ = a.metrics()
    res.eq(metric_sum(samples1, "acmedns_registrations"), regs0,
           "refused registrations created nothing (acmedns_registrations "
           "unchanged)")
    return reg


# --------------------------------------------------------------------------
# POST /update


def s_update(res, a, reg):
    res.section("POST /update: acme-dns TestApiManyUpdateWithCredentials")
    u, k, s = reg["username"], reg["password"], reg["subdomain"]
    other = reg_ok(res, a, "second registration")
    cases = [
        ("non-uuid-user", "tooshortpass", "non-uuid-subdomain", VALID_TXT,
         401, "forbidden", "non-uuid user, short key"),
        (FOREIGN_UUID, "tooshortpass", OTHER_UUID, VALID_TXT, 401,
         "forbidden", "unknown uuid user, short key"),
        (FOREIGN_UUID, "LongEnoughPassButNoUserExists___________",
         OTHER_UUID, VALID_TXT, 401, "forbidden",
         "unknown uuid user, 40-char key"),
        (u, k, FOREIGN_UUID, VALID_TXT, 401, "forbidden",
         "valid user, foreign subdomain"),
        (u, k, other["subdomain"], VALID_TXT, 401, "forbidden",
         "valid user, another registration's subdomain"),
        (u, k, "example.com", VALID_TXT, 401, "forbidden",
         "TestApiUpdateWithInvalidSubdomain: subdomain example.com"),
        (u, k, s, "tooshortfortxt", 400, "bad_txt", "txt too short"),
        (u, k, s, "idk m8 bbl lmao", 400, "bad_txt",
         "TestApiUpdateWithInvalidTxt"),
        (u, k, s, VALID_TXT, 200, None, "valid"),
        (u, "x" * 40, s, VALID_TXT, 401, "forbidden",
         "valid user, wrong 40-char key"),
        (other["username"], k, s, VALID_TXT, 401, "forbidden",
         "other user with this user's key"),
        (u, other["password"], s, VALID_TXT, 401, "forbidden",
         "this user with the other user's key"),
    ]
    for user, key, sub, txt, st, err, what in cases:
        r = a.update(user, key, sub, txt)
        if st == 200:
            ok = (r.status == 200 and r.json() == {"txt": txt})
        else:
            ok = is_error(r, st, err) and "txt" not in (r.json() or {})
        res.check(ok, f"{what} -> {st} {err or ''}".rstrip(), repr(r))
    r = a.update(u, k, s, 1234567890, body=json.dumps(
        {"subdomain": s, "txt": 1234567890}))
    res.eq(r.status, 400, "txt is a number (1234567890) -> 400 as in acme-dns "
           "(Go's decoder keeps subdomain, txt stays empty)")
    r = a.update(u, k, s, VALID_TXT)
    res.check(r.status == 200 and r.body.rstrip(b"\n") ==
              ('{"txt":"%s"}' % VALID_TXT).encode(),
              'exact 200 body {"txt":"<value>"}', repr(r))

    res.section("POST /update: no or partial credentials")
    r = a.request("POST", "/update")
    res.check(is_error(r, 401, "forbidden"), "no headers, no body -> 401 "
              "forbidden (TestApiUpdateWithoutCredentials)", repr(r))
    r = a.update(None, k, s, VALID_TXT)
    res.check(is_error(r, 401, "forbidden"), "no X-Api-User -> 401", repr(r))
    r = a.update(u, None, s, VALID_TXT)
    res.check(is_error(r, 401, "forbidden"), "no X-Api-Key -> 401", repr(r))

    res.section("POST /update: key and username validation (TestValidKey, "
                "TestGetValidUsername)")
    for key, what in (("", "empty key"),
                      ("aaaaaaaa-aaa-aaaaaa#aaaaaaaa-aaa_aacaaaa", "'#' in key"),
                      (k + "a", "correct key + 1 char (41)"),
                      (k[:-1], "correct key - 1 char (39)"),
                      (k[:-1] + ("A" if k[-1] != "A" else "B"),
                       "last char changed"),
                      (k.swapcase() if k.swapcase() != k else "Z" * 40,
                       "case swapped")):
        r = a.update(u, key, s, VALID_TXT)
        res.check(is_error(r, 401, "forbidden"), f"{what} -> 401", repr(r))
    for user, what in (("a-97455b-52cc-4569-90c8-7a4b97c6eba8",
                        "malformed uuid"),
                       ("&!#!25123!%!'%", "garbage"),
                       (u[:-1], "uuid minus one char"),
                       (u + "0", "uuid plus one char")):
        r = a.update(user, k, s, VALID_TXT)
        res.check(is_error(r, 401, "forbidden"), f"X-Api-User {what} -> 401",
                  repr(r))
    r = a.request("POST", "/update", body=json.dumps(
        {"subdomain": s, "txt": VALID_TXT}),
        headers={"X-Api-User": "", "X-Api-Key": k})
    res.check(is_error(r, 401, "forbidden"), "empty X-Api-User -> 401",
              repr(r))

    res.section("POST /update: TXT validation (TestValidTXT)")
    for txt, st, what in (
            ("a" * 44, 400, "44 chars"),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaa#aaaaaaaaaaaaaa", 400, "'#'"),
            ("a" * 42, 400, "42 chars"),
            ("", 400, "empty"),
            ("a" * 42 + "=", 400, "base64 padding '='"),
            ("a" * 42 + "+", 400, "'+' (not base64url)"),
            ("a" * 42 + "/", 400, "'/'"),
            ("a" * 42 + " ", 400, "trailing space"),
            ("a" * 42 + "\u00e9", 400, "non-ASCII"),
            ("-_" + "Zz09" * 10 + "x", 200, "all of [A-Za-z0-9_-]")):
        r = a.update(u, k, s, txt)
        if st == 200:
            ok = r.status == 200 and r.json() == {"txt": txt}
        else:
            ok = is_error(r, 400, "bad_txt")
        res.check(ok, f"txt {what} -> {st}", repr(r))

    res.section("POST /update: body forms")
    v = rand_txt()
    r = a.update(u, k, s, v, body=json.dumps({"SUBDOMAIN": s, "TXT": v}))
    res.check(r.status == 200, "keys upper case -> 200", repr(r))
    v = rand_txt()
    r = a.update(u, k, s, v, body=json.dumps({"SubDomain": s, "Txt": v}))
    res.check(r.status == 200, "SubDomain/Txt (old goacmedns) -> 200", repr(r))
    v = rand_txt()
    r = a.update(u, k, s, v, body=json.dumps({"txt": v, "subdomain": s}))
    res.check(r.status == 200, "txt before subdomain -> 200", repr(r))
    v = rand_txt()
    r = a.update(u, k, s, v, body=json.dumps(
        {"subdomain": s, "txt": v, "extra": [1, {"x": None}]}))
    res.check(r.status == 200, "unknown keys ignored -> 200", repr(r))
    v = rand_txt()
    r = a.update(u, k, s, v, body=json.dumps({"subdomain": s, "txt": v}) +
                 "garbage after the value")
    res.check(r.status == 200 and r.json() == {"txt": v},
              "data after the first JSON value ignored -> 200", repr(r))
    v = rand_txt()
    r = a.request("POST", "/update", body=json.dumps(
        {"subdomain": s, "txt": v}), headers={"X-Api-User": u,
                                              "X-Api-Key": k})
    res.check(r.status == 200, "no Content-Type -> 200", repr(r))
    v = rand_txt()
    r = a.request("POST", "/update?x=1&y", body=json.dumps(
        {"subdomain": s, "txt": v}), headers={"x-api-user": u,
                                              "x-api-key": k})
    res.check(r.status == 200, "lower-case header names, query string -> 200",
              repr(r))
    r = a.update(u, k, s, None, body=json.dumps({"subdomain": s}))
    res.check(is_error(r, 400, "bad_txt"), "no txt key -> 400 bad_txt",
              repr(r))
    r = a.update(u, k, s, None, body=json.dumps({"txt": VALID_TXT}))
    res.check(is_error(r, 401, "forbidden"), "no subdomain key -> 401",
              repr(r))
    r = a.update(u, k, s, None, body="")
    res.check(is_error(r, 401, "forbidden"), "valid credentials, empty body "
              "-> 401", repr(r))
    r = a.update(u, k, s, None, body="not json")
    res.check(is_error(r, 401, "forbidden"), "valid credentials, body not "
              "JSON -> 401", repr(r))
    r = a.update(u, k, s, None, body=json.dumps(
        {"subdomain": s.upper(), "txt": VALID_TXT}))
    res.check(is_error(r, 401, "forbidden"), "subdomain in upper case -> 401 "
              "(not the registration's own)", repr(r))

    res.section("two updates: both values served (TestGetTXTForDomain)")
    v1 = "___validation_token_received_from_the_ca___"
    v2 = "___validation_token_received_YEAH_the_ca___"
    r1 = a.update(u, k, s, v1)
    r2 = a.update(u, k, s, v2)
    res.check(r1.status == 200 and r2.status == 200, "both 200")
    res.eq(a.txt(reg), (0, sorted([v1, v2])), "DNS serves both values")
    res.eq(a.txt(reg, tcp=True), (0, sorted([v1, v2])), "same over TCP")
    m = query(LOOPBACK4, a.dns_port, a.fqdn(reg).upper(), "TXT")[1]
    res.check(m.rcode == 0 and len(m.answer) == 2,
              "query name in upper case answers too", repr(m))
    res.check(all(rr.ttl == 1 for rr in m.answer),
              "challenge TXT TTL is 1", repr(m))
    # credentials unaffected by updates (TestUpdate: only TXT changes)
    r = a.update(u, k, s, VALID_TXT)
    res.eq(r.status, 200, "credentials still work after updates")
    return other


# --------------------------------------------------------------------------
# allowfrom against the TCP peer (no header mode)


def s_allowfrom_peer(res, a):
    res.section("allowfrom against the TCP peer (TestUpdateAllowedFromIP, "
                "TestApiManyUpdateWithCredentials CIDR users)")
    v6 = a.api_listen6
    cases = [
        (["192.168.1.1/32"], False, 401, "192.168.1.1/32 from 127.0.0.1"),
        (["127.0.0.1/32"], False, 200, "127.0.0.1/32 from 127.0.0.1"),
        (["127.0.0.0/8"], False, 200, "127.0.0.0/8 from 127.0.0.1"),
        (["127.0.0.1/8", "8.8.8.8/32", "1.0.0.1/1"], False, 200,
         "TestRegisterMany set 1 from 127.0.0.1 (127.0.0.1/8 matches)"),
        (["7.6.5.4/32", "1.0.0.1/2"], False, 401,
         "TestRegisterMany set 3 (valid part) from 127.0.0.1"),
        (["192.168.1.2/32", "[::1]/128"], False, 401,
         "192.168.1.2/32 + [::1]/128 from 127.0.0.1"),
    ]
    if v6:
        cases += [
            (["192.168.1.2/32", "[::1]/128"], True, 200,
             "192.168.1.2/32 + [::1]/128 from ::1"),
            (["127.0.0.1/32"], True, 401, "127.0.0.1/32 from ::1"),
            (["::1/128"], False, 401, "::1/128 from 127.0.0.1"),
            (["::/0"], True, 200, "::/0 from ::1"),
            ([], True, 200, "no allowfrom from ::1"),
        ]
    else:
        res.note("no IPv6 loopback: IPv6 peer cases skipped")
    for af, from6, st, what in cases:
        r, reg = a.register(allowfrom=af)
        remember(reg)
        if not res.check(reg is not None, f"register {af}", repr(r)):
            continue
        r = a.update_reg(reg, rand_txt(), v6=from6)
        if st == 200:
            res.eq(r.status, 200, f"{what} -> 200")
        else:
            res.check(is_error(r, 401, "forbidden"), f"{what} -> 401", repr(r))
        # a header must not matter without use_header
        r = a.update_reg(reg, rand_txt(), v6=from6, headers={
            "X-Forwarded-For": "192.168.1.1, 7.6.5.4, 127.0.0.1, ::1"})
        res.eq(r.status, st, f"{what}, X-Forwarded-For ignored -> {st}")
        # DELETE obeys the same allowfrom
        if st == 401:
            r = a.delete(reg["username"], reg["password"], v6=from6)
            res.check(is_error(r, 401, "forbidden"),
                      f"{what}: DELETE /register -> 401 too", repr(r))
            res.eq(a.txt(reg)[0], 0, "... and the name still exists")


# --------------------------------------------------------------------------
# TXT slots


def s_slots(res, a, slots, label):
    res.section(f"txt_slots = {slots} ({label})")
    reg = reg_ok(res, a, "register")
    if not reg:
        return
    vals = [rand_txt() for _ in range(slots + 3)]
    served_ok = True
    detail = []
    for i, v in enumerate(vals):
        r = a.update_reg(reg, v)
        if r.status != 200:
            served_ok = False
            detail.append(f"update {i}: {r!r}")
            continue
        want = sorted(vals[max(0, i + 1 - slots):i + 1])
        got = a.txt(reg)
        if got != (0, want):
            served_ok = False
            detail.append(f"after update {i}: got {got}, want {want}")
    res.check(served_ok, f"each update replaces the oldest; the last {slots} "
              "values are served", "\n".join(detail))
    if slots >= 2:
        cur = vals[-slots:]   # oldest first
        r = a.update_reg(reg, cur[0])
        res.eq(r.status, 200, "re-sending the oldest served value -> 200")
        res.eq(a.txt(reg), (0, sorted(cur)),
               "value already present: refreshed, no second slot used")
        new = rand_txt()
        r = a.update_reg(reg, new)
        # cur[0] was refreshed, so cur[1] is now the oldest
        want = sorted([v for v in cur if v != cur[1]] + [new])
        res.eq(a.txt(reg), (0, want),
               "next update replaces the oldest, not the refreshed one")
        r = a.update_reg(reg, new)
        r = a.update_reg(reg, new)
        res.eq(a.txt(reg), (0, want), "same value twice more: set unchanged")


# --------------------------------------------------------------------------
# DELETE /register


def s_delete(res, a):
    res.section("DELETE /register")
    reg = reg_ok(res, a, "register")
    keep = reg_ok(res, a, "register another")
    if not reg or not keep:
        return
    v = rand_txt()
    a.update_reg(reg, v)
    a.update_reg(keep, VALID_TXT)
    r = a.delete(reg["username"], "x" * 40)
    res.check(is_error(r, 401, "forbidden"), "wrong key -> 401 forbidden",
              repr(r))
    r = a.delete(None, None)
    res.check(is_error(r, 401, "forbidden"), "no credentials -> 401", repr(r))
    r = a.delete(keep["username"], reg["password"])
    res.check(is_error(r, 401, "forbidden"), "other user's key -> 401",
              repr(r))
    res.eq(a.txt(reg), (0, [v]), "after refused deletes: still served")
    r = a.delete(reg["username"], reg["password"])
    res.check(r.status == 204 and r.body == b"", "owner -> 204, no body",
              repr(r))
    rc, vals = a.txt(reg)
    res.check(rc == 3 and not vals, "name gone: NXDOMAIN at once",
              f"{rc} {vals}")
    r = a.update_reg(reg, rand_txt())
    res.check(is_error(r, 401, "forbidden"), "deleted credentials: update "
              "-> 401", repr(r))
    r = a.delete(reg["username"], reg["password"])
    res.check(is_error(r, 401, "forbidden"), "second DELETE -> 401", repr(r))
    res.eq(a.txt(keep), (0, [VALID_TXT]), "other registration untouched")
    r = a.update_reg(keep, rand_txt())
    res.eq(r.status, 200, "other registration still updates")
    # with a body (acme-dns's /delete took one): ignored
    reg2 = reg_ok(res, a, "register a third")
    if reg2:
        r = a.request("DELETE", "/register", body=json.dumps(
            {"subdomain": reg2["subdomain"]}),
            headers={"X-Api-User": reg2["username"],
                     "X-Api-Key": reg2["password"],
                     "Content-Type": "application/json"})
        res.eq(r.status, 204, "DELETE with a JSON body -> 204")
        res.eq(a.txt(reg2)[0], 3, "... NXDOMAIN")


# --------------------------------------------------------------------------
# health, 404, 405


def s_routing(res, a):
    res.section("GET/HEAD /health, 404, 405")
    r = a.request("GET", "/health")
    res.check(r.status == 200 and r.body == b"", "GET /health -> 200, empty "
              "body (TestApiHealthCheck)", repr(r))
    r = a.request("GET", "/health?probe=1")
    res.eq(r.status, 200, "GET /health?probe=1 -> 200")
    r, c = a.raw(build_request("HEAD", "/health", a.hostport()), head=True)
    res.check(r.status == 200, "HEAD /health -> 200", repr(r))
    try:
        c.send(build_request("GET", "/health", a.hostport()))
        r2 = c.read_response(timeout=5)
        ok = r2.status == 200
    except (OSError, HttpError) as e:
        ok, r2 = False, e
    res.check(ok, "HEAD sent no body (the next response on the connection "
              "parses)", repr(r2))
    c.close()
    for m, p in (("GET", "/"), ("GET", "/nope"), ("POST", "/registerx"),
                 ("POST", "/register/x"), ("GET", "/healthz"),
                 ("POST", "/delete"), ("GET", "/update/"),
                 ("GET", "/REGISTER")):
        r = a.request(m, p)
        res.check(is_error(r, 404, "not_found"), f"{m} {p} -> 404 not_found",
                  repr(r))
    for p in ("/%00", "/../register", "/register%00"):
        r = a.request("POST", p)
        res.check(r.status in (400, 404) and r.json() is not None,
                  f"POST {p} -> 400 or 404 with a JSON error", repr(r))
    for m, p, must in (("GET", "/register", "POST"),
                       ("PUT", "/register", "POST"),
                       ("GET", "/update", "POST"),
                       ("DELETE", "/update", "POST"),
                       ("POST", "/health", "GET"),
                       ("DELETE", "/health", "GET"),
                       ("POST", "/metrics", "GET"),
                       ("PATCH", "/register", "DELETE")):
        r = a.request(m, p)
        allow = r.h("Allow") or ""
        res.check(is_error(r, 405, "method_not_allowed") and must in
                  [x.strip() for x in allow.split(",")],
                  f"{m} {p} -> 405 method_not_allowed, Allow has {must}",
                  repr(r))


# --------------------------------------------------------------------------
# keep-alive and pipelining


def s_keepalive(res, a, reg):
    res.section("keep-alive and pipelining")
    hp = a.hostport()
    h = [("X-Api-User", reg["username"]), ("X-Api-Key", reg["password"]),
         ("Content-Type", "application/json")]
    v1, v2 = rand_txt(), rand_txt()
    reqs = (build_request("POST", "/update", hp, h, json.dumps(
        {"subdomain": reg["subdomain"], "txt": v1})) +
        build_request("GET", "/health", hp) +
        build_request("POST", "/update", hp, h, json.dumps(
            {"subdomain": reg["subdomain"], "txt": v2})))
    c = a.conn()
    try:
        c.send(reqs)  # three requests in one write
        rs = [c.read_response() for _ in range(3)]
        got = [(x.status, x.json() if x.body else None) for x in rs]
        res.eq(got, [(200, {"txt": v1}), (200, None), (200, {"txt": v2})],
               "update, health, update in one write: answered in order")
        res.check(not any(x.closes for x in rs), "no Connection: close",
                  repr(rs))
        res.eq(a.txt(reg), (0, sorted([v1, v2])), "both values served")
        c.send(build_request("GET", "/health", hp))
        r = c.read_response()
        res.eq(r.status, 200, "same connection serves a 4th request")
        # register x2 + 404 pipelined
        c.send(build_request("POST", "/register", hp, body="") +
               build_request("GET", "/nope", hp) +
               build_request("POST", "/register", hp, body="{}"))
        rs = [c.read_response() for _ in range(3)]
        res.eq([x.status for x in rs], [201, 404, 201],
               "register, 404, register pipelined: 201 404 201")
        js = [x.json() for x in (rs[0], rs[2])]
        for j in js:
            remember(j)
        res.check(all(js) and js[0]["username"] != js[1]["username"],
                  "two distinct registrations")
        # split across many small writes
        data = build_request("GET", "/health", hp)
        for i in range(len(data)):
            c.send(data[i:i + 1])
        r = c.read_response()
        res.eq(r.status, 200, "a request sent 1 byte per write -> 200")
    except (OSError, HttpError) as e:
        res.check(False, "pipelined exchange", repr(e))
    finally:
        c.close()

    # Connection: close
    r, c = a.raw(build_request("GET", "/health", hp, [("Connection",
                                                      "close")]))
    res.check(r.status == 200 and r.closes, "Connection: close -> answered "
              "with Connection: close", repr(r))
    res.check(c.wait_closed(3) is not None, "... and the server closes")
    c.close()
    # HTTP/1.0 without keep-alive
    r, c = a.raw(build_request("GET", "/health", hp, version="HTTP/1.0"))
    res.check(r.status == 200, "HTTP/1.0 request -> 200", repr(r))
    res.check(c.wait_closed(3) is not None, "HTTP/1.0 without keep-alive: "
              "server closes")
    c.close()
    # HTTP/1.0 with keep-alive
    r, c = a.raw(build_request("GET", "/health", hp,
                               [("Connection", "keep-alive")],
                               version="HTTP/1.0"))
    ok = r.status == 200
    if ok and not r.closes:
        c.send(build_request("GET", "/health", hp, [("Connection",
                                                     "keep-alive")],
                             version="HTTP/1.0"))
        ok = c.read_response().status == 200
    res.check(ok, "HTTP/1.0 keep-alive works (or is closed cleanly)", repr(r))
    c.close()

    # 1,000 requests per connection
    c = a.conn(timeout=30)
    one = build_request("GET", "/health", hp)
    statuses = []
    closes = []
    try:
        for batch in range(10):
            c.send(one * 100)
            for _ in range(100):
                x = c.read_response()
                statuses.append(x.status)
                closes.append(x.closes)
        res.check(statuses == [200] * 1000,
                  "1,000 pipelined requests on one connection: all 200",
                  f"{len(statuses)} answered")
        res.check(not any(closes[:999]) and closes[999],
                  "the 1,000th response says Connection: close, none "
                  "before", f"close flags at {[i for i, x in enumerate(closes) if x]}")
        res.check(c.wait_closed(3) is not None, "then the server closes")
    except (OSError, HttpError) as e:
        res.check(False, "1,000 requests on one connection",
                  f"{len(statuses)} answered, then {e!r}")
    finally:
        c.close()


# --------------------------------------------------------------------------
# update -> DNS latency


def s_latency(res, a, reg, n=50):
    res.section(f"update -> DNS visibility ({n} updates, UDP query right "
                "after each 200)")
    rtts, vis = [], []
    misses = []
    c = a.conn()
    hp = a.hostport()
    h = [("X-Api-User", reg["username"]), ("X-Api-Key", reg["password"])]
    try:
        for i in range(n):
            v = rand_txt()
            req = build_request("POST", "/update", hp, h, json.dumps(
                {"subdomain": reg["subdomain"], "txt": v}))
            t0 = time.monotonic()
            c.send(req)
            r = c.read_response()
            t1 = time.monotonic()
            rc, vals = a.txt(reg)
            t2 = time.monotonic()
            if r.status != 200 or rc != 0 or v not in vals:
                misses.append(f"#{i}: status {r.status}, dns {rc} {vals}")
            rtts.append((t1 - t0) * 1000)
            vis.append((t2 - t0) * 1000)
    except (OSError, HttpError) as e:
        misses.append(repr(e))
    finally:
        c.close()
    res.check(not misses, "every value is in the first DNS answer after its "
              "200", "\n".join(misses[:10]))
    if rtts:
        q = sorted(vis)
        res.note(f"update round trip (send -> 200): median "
                 f"{statistics.median(rtts):.2f} ms, max {max(rtts):.2f} ms")
        res.note(f"update -> value served over UDP: median "
                 f"{statistics.median(vis):.2f} ms, p95 "
                 f"{q[int(len(q) * 0.95) - 1]:.2f} ms, max {max(vis):.2f} ms")
        print(f"LATENCY update->DNS median_ms={statistics.median(vis):.2f} "
              f"max_ms={max(vis):.2f} update_rtt_median_ms="
              f"{statistics.median(rtts):.2f}", flush=True)
    v = rand_txt()
    r = a.update_reg(reg, v)
    ans, rc, out, cmd = run_tool("dig", LOOPBACK4, a.dns_port, a.fqdn(reg),
                                 "TXT")
    res.check(r.status == 200 and f'"{v}"' in ans.rdatas("ANSWER", "TXT"),
              "dig sees the value right after the 200", out)

    res.section("concurrent updates from 8 threads, DNS consistent")
    regs = [reg_ok(res, a, f"register t{i}") for i in range(8)]
    errs = []

    def worker(rg):
        try:
            last = None
            for _ in range(10):
                v = rand_txt()
                r = a.update_reg(rg, v)
                if r.status != 200:
                    errs.append(repr(r))
                    return
                rc, vals = a.txt(rg)
                if v not in vals:
                    errs.append(f"{rg['subdomain']}: {v} not served: {vals}")
                last = v
            rg["last"] = last
        except OSError as e:
            errs.append(repr(e))

    ts = [threading.Thread(target=worker, args=(g,)) for g in regs if g]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    res.check(not errs, "80 concurrent updates: all 200, each value visible "
              "at once", "\n".join(errs[:10]))


# --------------------------------------------------------------------------
# metrics


def s_metrics(res, a):
    res.section("GET /metrics")
    r, s0, bad = a.metrics()
    res.eq(r.status, 200, "GET /metrics -> 200")
    ct = r.h("Content-Type") or ""
    res.check(ct.startswith("text/plain") and "0.0.4" in ct,
              "Content-Type text/plain; version=0.0.4", ct)
    res.check(not bad, "every line is valid Prometheus text", "\n".join(bad[:10]))
    text = r.body.decode("utf-8", "replace")
    for name, typ in (("acmedns_registrations", "gauge"),
                      ("acmedns_api_requests_total", "counter"),
                      ("acmedns_updates_total", "counter"),
                      ("acmedns_api_request_duration_seconds", "histogram"),
                      ("acmedns_dns_queries_total", "counter"),
                      ("acmedns_dns_responses_total", "counter"),
                      ("acmedns_dns_queries_by_type_total", "counter"),
                      ("acmedns_store_commits_total", "counter"),
                      ("acmedns_store_queue", "gauge")):
        res.check(f"# TYPE {name} {typ}" in text, f"# TYPE {name} {typ}")

    # a known sequence, then exact deltas
    reg = reg_ok(res, a, "register")
    if not reg:
        return
    _, s0, _ = a.metrics()
    oks = [a.update_reg(reg, rand_txt()).status for _ in range(3)]
    forb = [a.update(reg["username"], "y" * 40, reg["subdomain"],
                     VALID_TXT).status for _ in range(2)]
    badt = a.update_reg(reg, "short").status
    bads = a.update_reg(reg, VALID_TXT).status
    r2, reg2 = a.register()
    remember(reg2)
    a.request("GET", "/nope")
    for _ in range(5):
        a.txt(reg)
    a.txt(str(uuid.uuid4()))   # NXDOMAIN
    a.txt(reg, tcp=True)
    res.check(oks == [200] * 3 and forb == [401] * 2 and badt == 400 and
              bads == 200 and r2.status == 201, "sequence ran as planned",
              f"{oks} {forb} {badt} {bads} {r2.status}")
    _, s1, _ = a.metrics()

    def d(name, **lab):
        x0 = metric_sum(s0, name, **lab) or 0.0
        x1 = metric_sum(s1, name, **lab)
        return None if x1 is None else x1 - x0

    res.eq(d("acmedns_updates_total", result="ok"), 4.0,
           'acmedns_updates_total{result="ok"} +4')
    res.eq(d("acmedns_updates_total", result="forbidden"), 2.0,
           'acmedns_updates_total{result="forbidden"} +2')
    res.eq(d("acmedns_updates_total", result="bad_txt"), 1.0,
           'acmedns_updates_total{result="bad_txt"} +1')
    res.eq(d("acmedns_registrations"), 1.0, "acmedns_registrations +1")
    labs = metric_labels(s1, "acmedns_api_requests_total")
    res.check(labs and all(set(x) >= {"endpoint", "code"} for x in labs),
              "acmedns_api_requests_total has endpoint and code labels",
              labs[:5])
    reg_ep = [x["endpoint"] for x in labs if "register" in x["endpoint"]]
    upd_ep = [x["endpoint"] for x in labs if "update" in x["endpoint"]]
    if reg_ep and upd_ep:
        res.eq(d("acmedns_api_requests_total", endpoint=reg_ep[0], code="201"),
               1.0, "api_requests_total{register,201} +1")
        res.eq(d("acmedns_api_requests_total", endpoint=upd_ep[0], code="200"),
               4.0, "api_requests_total{update,200} +4")
        res.eq(d("acmedns_api_requests_total", endpoint=upd_ep[0], code="401"),
               2.0, "api_requests_total{update,401} +2")
        res.eq(d("acmedns_api_request_duration_seconds_count",
                 endpoint=upd_ep[0]), 7.0,
               "request_duration_seconds_count{update} +7")
    else:
        res.check(False, "endpoint labels for register and update", labs)
    hb = [k for k in s1 if k.startswith(
        "acmedns_api_request_duration_seconds_bucket") and 'le="+Inf"' in k]
    res.check(hb and any(k.startswith("acmedns_api_request_duration_seconds_"
                                      "sum") for k in s1),
              "histogram has _bucket{le=\"+Inf\"} and _sum", hb[:3])
    res.check((d("acmedns_dns_queries_total", proto="udp") or 0) >= 6,
              'dns_queries_total{proto="udp"} +6 or more')
    res.check((d("acmedns_dns_queries_total", proto="tcp") or 0) >= 1,
              'dns_queries_total{proto="tcp"} +1 or more')
    tq = d("acmedns_dns_queries_by_type_total", qtype="TXT")
    if tq is None:
        tq = d("acmedns_dns_queries_by_type_total", qtype="16")
    res.check((tq or 0) >= 7, "dns_queries_by_type_total{qtype=TXT} +7 or "
              "more", tq)
    nx = d("acmedns_dns_responses_total", rcode="NXDOMAIN")
    if nx is None:
        nx = d("acmedns_dns_responses_total", rcode="3")
    res.check((nx or 0) >= 1, "dns_responses_total{rcode=NXDOMAIN} +1", nx)
    res.check((d("acmedns_store_commits_total") or 0) >= 5,
              "store_commits_total +5 or more (1 register, 4 updates)")
    res.check(metric_sum(s1, "acmedns_store_queue") is not None and
              metric_sum(s1, "acmedns_store_queue") >= 0,
              "acmedns_store_queue present, >= 0")


# --------------------------------------------------------------------------
# registration policy


def s_disable_registration(res, binary):
    res.section("disable_registration = true")
    a = ApiDaemon(binary, "api-noreg", api={"disable_registration": True})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    for body in (None, "{}", '{"allowfrom": ["10.0.0.0/8"]}', "not json"):
        r = a.request("POST", "/register", body=body)
        res.check(is_error(r, 403, "registration_disabled"),
                  f"POST /register body {body!r} -> 403 registration_disabled",
                  repr(r))
    r = a.request("GET", "/health")
    res.eq(r.status, 200, "/health still 200")
    a.check_alive(res, "disable_registration")
    a.stop(res)


def s_registration_allowfrom(res, binary):
    res.section("registration_allowfrom")
    a = ApiDaemon(binary, "api-regallow", api_listen6=True, api={
        "registration_allowfrom": ["192.0.2.0/24", "::1/128"]})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    r = a.request("POST", "/register")
    res.check(is_error(r, 403, "forbidden"), "127.0.0.1 outside -> 403 "
              "forbidden", repr(r))
    r = a.request("POST", "/register", headers={"X-Forwarded-For":
                                                "192.0.2.1"})
    res.check(is_error(r, 403, "forbidden"), "X-Forwarded-For ignored without "
              "use_header -> 403", repr(r))
    if a.api_listen6:
        r, reg = a.register(v6=True)
        remember(reg)
        res.eq(r.status, 201, "::1 inside -> 201")
        if reg:
            r = a.update_reg(reg, rand_txt())
            res.eq(r.status, 200, "registration_allowfrom does not limit "
                   "/update (from 127.0.0.1)")
    a.check_alive(res, "registration_allowfrom")
    a.stop(res)


def s_registration_token(res, binary):
    res.section("registration_token")
    tok = "tok-" + rand_txt()
    a = ApiDaemon(binary, "api-token", api={"registration_token": tok})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    for hdrs, what in (({}, "no Authorization"),
                       ({"Authorization": "Bearer wrong"}, "wrong token"),
                       ({"Authorization": f"Bearer {tok}x"}, "token + 1 char"),
                       ({"Authorization": f"Bearer {tok[:-1]}"},
                        "token - 1 char"),
                       ({"Authorization": f"Basic {tok}"}, "Basic scheme"),
                       ({"Authorization": tok}, "no scheme"),
                       ({"Authorization": "Bearer "}, "empty token")):
        r = a.request("POST", "/register", headers=hdrs)
        www = r.h("WWW-Authenticate") or ""
        res.check(is_error(r, 401, "unauthorized") and
                  www.lower().startswith("bearer"),
                  f"{what} -> 401 unauthorized + WWW-Authenticate: Bearer",
                  repr(r))
    r, reg = a.register(headers={"Authorization": f"Bearer {tok}"})
    remember(reg)
    res.eq(r.status, 201, "Authorization: Bearer <token> -> 201")
    if reg:
        r = a.update_reg(reg, rand_txt())
        res.eq(r.status, 200, "/update needs no token")
    # the token must not show up in logs
    a.check_alive(res, "registration_token")
    err = a.stop(res)
    res.check(tok not in err, "the token never appears on stderr")
    rc, out, e2 = run_check_config(binary, a.conf)
    res.check(tok not in out + e2, "check-config masks the token",
              (out + e2)[-500:])


def run_check_config(binary, conf):
    p = subprocess.run([binary, "check-config", "-c", conf],
                       capture_output=True, text=True, timeout=20)
    return p.returncode, p.stdout, p.stderr


# --------------------------------------------------------------------------
# txt_max_age


def s_max_age(res, binary):
    res.section("txt_max_age = 2")
    a = ApiDaemon(binary, "api-maxage", api={"txt_max_age": 2})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    reg = reg_ok(res, a, "register")
    if reg:
        v = rand_txt()
        a.update_reg(reg, v)
        res.eq(a.txt(reg), (0, [v]), "served right after the update")
        time.sleep(2.0)
        w = rand_txt()
        a.update_reg(reg, w)
        rc, vals = a.txt(reg)
        res.check(rc == 0 and w in vals, "second value served at t=2 s",
                  f"{rc} {vals}")
        time.sleep(1.4)
        res.eq(a.txt(reg), (0, [w]), "at t=3.4 s the first (older than 2 s) "
               "is no longer served, the second is")
        time.sleep(2.0)
        res.eq(a.txt(reg), (0, []), "at t=5.4 s: NODATA (name still exists)")
        x = rand_txt()
        r = a.update_reg(reg, x)
        res.check(r.status == 200 and a.txt(reg) == (0, [x]),
                  "a new update is served again")
    a.check_alive(res, "txt_max_age")
    a.stop(res)


# --------------------------------------------------------------------------
# CORS


def s_cors(res, binary):
    res.section("CORS")
    origin = "https://admin.example.test"
    a = ApiDaemon(binary, "api-cors", api={
        "cors_origins": [origin, "https://other.example.test"]})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    r = a.request("GET", "/health", headers={"Origin": origin})
    res.check(r.status == 200 and r.h("Access-Control-Allow-Origin") == origin
              and "origin" in (r.h("Vary") or "").lower(),
              "listed Origin: ACAO = origin, Vary: Origin", repr(r))
    r, reg = a.register(headers={"Origin": origin})
    remember(reg)
    res.check(r.status == 201 and r.h("Access-Control-Allow-Origin") == origin,
              "POST /register with Origin: ACAO on the 201", repr(r))
    if reg:
        r = a.update(reg["username"], "z" * 40, reg["subdomain"], VALID_TXT,
                     headers={"Origin": origin})
        res.check(r.status == 401 and
                  r.h("Access-Control-Allow-Origin") == origin,
                  "ACAO on an error (401) too", repr(r))
    r = a.request("GET", "/health", headers={"Origin": "https://evil.test"})
    res.check(r.status == 200 and r.h("Access-Control-Allow-Origin") is None,
              "unlisted Origin: no ACAO", repr(r))
    r = a.request("GET", "/health")
    res.check(r.h("Access-Control-Allow-Origin") is None, "no Origin: no ACAO",
              repr(r))
    for path, meth in (("/register", "POST"), ("/update", "POST"),
                       ("/register", "DELETE")):
        r = a.request("OPTIONS", path, headers={
            "Origin": origin, "Access-Control-Request-Method": meth,
            "Access-Control-Request-Headers": "content-type,x-api-user,"
                                              "x-api-key"})
        res.check(r.status == 204 and
                  r.h("Access-Control-Allow-Origin") == origin and
                  r.h("Access-Control-Allow-Methods") ==
                  "GET, POST, DELETE, OPTIONS" and
                  r.h("Access-Control-Allow-Headers") ==
                  "Content-Type, X-Api-User, X-Api-Key, Authorization",
                  f"preflight OPTIONS {path} ({meth}) -> 204 with the "
                  "Allow-Methods / Allow-Headers of docs/API.md", repr(r))
    a.check_alive(res, "cors")
    a.stop(res)

    b = ApiDaemon(binary, "api-cors-star", api={"cors_origins": ["*"]})
    try:
        b.start()
    except RuntimeError as e:
        res.check(False, "daemon starts (cors *)", str(e))
        return
    r = b.request("GET", "/health", headers={"Origin": "https://any.test"})
    res.check(r.h("Access-Control-Allow-Origin") in ("*", "https://any.test"),
              "cors_origins = *: any Origin gets ACAO", repr(r))
    r = b.request("OPTIONS", "/update", headers={
        "Origin": "https://any.test", "Access-Control-Request-Method": "POST"})
    res.check(r.status == 204 and r.h("Access-Control-Allow-Methods") ==
              "GET, POST, DELETE, OPTIONS", "preflight with * -> 204", repr(r))
    b.stop(res)


# --------------------------------------------------------------------------
# client IP from a header


def s_use_header_acmedns(res, binary):
    res.section("use_header = true, no trusted_proxies (acme-dns's "
                "TestApiManyUpdateWithIpCheckHeaders)")
    a = ApiDaemon(binary, "api-usehdr", api={"use_header": True})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    err = a.stderr().lower()
    res.check("warn" in err and "header" in err, "use_header without "
              "trusted_proxies is logged as a warning at start", err[-1500:])
    plain = reg_ok(res, a, "user without allowfrom")
    cidr = reg_ok(res, a, "user 192.168.1.2/32",
                  allowfrom=["192.168.1.2/32"])
    ip6 = reg_ok(res, a, "user 2002:c0a8::0/32",
                 allowfrom=["2002:c0a8::0/32"])
    valid = reg_ok(res, a, "user 10.1.2.3/32", allowfrom=["10.1.2.3/32"])
    other = reg_ok(res, a, "user 192.168.1.1/32",
                   allowfrom=["192.168.1.1/32"])
    two = reg_ok(res, a, "user 2.2.2.2/32", allowfrom=["2.2.2.2/32"])
    one = reg_ok(res, a, "user 1.1.1.1/32", allowfrom=["1.1.1.1/32"])
    if not all((plain, cidr, ip6, valid, other, two, one)):
        a.stop(res)
        return
    for reg, hv, st in (
            (plain, "whatever goes", 200),
            (plain, "10.0.0.1, 1.2.3.4 ,3.4.5.6", 200),
            (cidr, "127.0.0.1", 401),
            (cidr, "10.0.0.1, 10.0.0.2, 192.168.1.3", 401),
            (cidr, "10.1.1.1 ,192.168.1.2, 8.8.8.8", 200),
            (ip6, "2002:c0a8:b4dc:0d3::0", 200),
            (ip6, "2002:c0a7:0ff::0", 401),
            (ip6, "2002:c0a8:d3ad:b33f:c0ff:33b4:dc0d:3b4d", 200),
            (valid, "10.1.2.3", 200),
            (other, "10.1.2.3", 401),
            # TestGetIPListFromHeader splitting
            (two, "1.1.1.1, 2.2.2.2", 200),
            (one, " 1.1.1.1 , 2.2.2.2", 200),
            (two, ",1.1.1.1 ,2.2.2.2", 200),
            (one, ",1.1.1.1 ,2.2.2.2", 200),
            (two, "1.1.1.1", 401)):
        r = a.update_reg(reg, VALID_TXT, headers={"X-Forwarded-For": hv})
        res.eq(r.status, st, f"allowfrom {reg['allowfrom']} with "
               f"X-Forwarded-For {hv!r} -> {st}")
    r = a.update_reg(cidr, VALID_TXT)
    res.eq(r.status, 401, "allowfrom user, no header -> 401")
    a.check_alive(res, "use_header")
    a.stop(res)


def s_trusted_proxies(res, binary):
    res.section("trusted_proxies (header read right to left, only from "
                "trusted peers)")
    a = ApiDaemon(binary, "api-proxy", api_listen6=True, api={
        "use_header": True, "trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"],
        "registration_allowfrom": ["198.51.100.0/24"]})
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    r, reg = a.register(headers={"X-Forwarded-For": "198.51.100.7"})
    remember(reg)
    res.eq(r.status, 201, "register via trusted proxy, client 198.51.100.7 "
           "inside registration_allowfrom -> 201")
    r, _ = a.register()
    res.eq(r.status, 403, "no header: client is the proxy 127.0.0.1 -> 403")
    r, _ = a.register(headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"})
    res.eq(r.status, 403, "rightmost untrusted 203.0.113.9 -> 403")
    if a.api_listen6:
        r, _ = a.register(v6=True, headers={"X-Forwarded-For":
                                            "198.51.100.7"})
        res.eq(r.status, 403, "untrusted peer ::1: header ignored -> 403")
    if not reg:
        a.stop(res)
        return
    reg2 = None
    r, reg2 = a.register(headers={"X-Forwarded-For": "198.51.100.8"},
                         allowfrom=["198.51.100.7/32"])
    remember(reg2)
    if not res.check(reg2 is not None, "register user 198.51.100.7/32",
                     repr(r)):
        a.stop(res)
        return
    for hv, st, what in (
            ("198.51.100.7", 200, "client 198.51.100.7"),
            ("203.0.113.9, 198.51.100.7", 200,
             "spoofed left entry ignored, rightmost is the client"),
            ("198.51.100.7, 203.0.113.9", 401, "rightmost untrusted wins"),
            ("198.51.100.7, 10.1.1.1", 200, "trusted 10.1.1.1 skipped"),
            ("198.51.100.7, 10.1.1.1, 10.2.2.2", 200, "two trusted hops"),
            ("198.51.100.7,10.1.1.1", 200, "no spaces"),
            ("garbage, 198.51.100.7", 200, "garbage left of the client"),
            (None, 401, "no header: the proxy itself (127.0.0.1)")):
        hdrs = {"X-Forwarded-For": hv} if hv is not None else {}
        r = a.update_reg(reg2, rand_txt(), headers=hdrs)
        res.eq(r.status, st, f"allowfrom 198.51.100.7/32, {what} -> {st}")
    r = a.update_reg(reg2, rand_txt(), headers={
        "X-Forwarded-For": "198.51.100.7", "X-Real-IP": "203.0.113.1"})
    res.eq(r.status, 200, "other headers do not matter")
    if a.api_listen6:
        r = a.update_reg(reg2, rand_txt(), v6=True,
                         headers={"X-Forwarded-For": "198.51.100.7"})
        res.eq(r.status, 401, "from untrusted ::1 the header is ignored -> 401")
    a.check_alive(res, "trusted_proxies")
    err = a.stop(res)
    lines = [l for l in err.splitlines() if "/update" in l and
             "198.51.100.7" in l and reg2["username"] in l]
    res.check(lines, "access log shows the client IP from the header "
              "(198.51.100.7), not the proxy", err[-1500:])

    res.section("trusted_proxies alone (use_header = false): docs/API.md "
                "says the header is read from trusted peers")
    c = ApiDaemon(binary, "api-proxy3", api={
        "trusted_proxies": ["127.0.0.1/32"]})
    try:
        c.start()
        reg = reg_ok(res, c, "register 198.51.100.7/32",
                     allowfrom=["198.51.100.7/32"])
        if reg:
            r = c.update_reg(reg, rand_txt(), headers={"X-Forwarded-For":
                                                       "198.51.100.7"})
            res.eq(r.status, 200, "X-Forwarded-For from trusted 127.0.0.1 "
                   "-> 200")
            r = c.update_reg(reg, rand_txt())
            res.eq(r.status, 401, "no header -> the peer -> 401")
        c.stop(res)
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))

    res.section("trusted_proxies with header_name = X-Real-IP")
    b = ApiDaemon(binary, "api-proxy2", api={
        "use_header": True, "trusted_proxies": ["127.0.0.1/32"],
        "header_name": "X-Real-IP"})
    try:
        b.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    reg = reg_ok(res, b, "register 198.51.100.7/32",
                 allowfrom=["198.51.100.7/32"])
    if reg:
        r = b.update_reg(reg, rand_txt(), headers={"X-Real-IP":
                                                   "198.51.100.7"})
        res.eq(r.status, 200, "X-Real-IP: 198.51.100.7 -> 200")
        r = b.update_reg(reg, rand_txt(), headers={"x-real-ip":
                                                   "198.51.100.7"})
        res.eq(r.status, 200, "header name matched case-insensitively")
        r = b.update_reg(reg, rand_txt(), headers={"X-Forwarded-For":
                                                   "198.51.100.7"})
        res.eq(r.status, 401, "X-Forwarded-For is not the configured header "
               "-> 401")
    b.stop(res)


# --------------------------------------------------------------------------
# store failure


def s_store_failure(res, binary):
    res.section("store failure -> 500 db_error (file size limit 1 byte via "
                "prlimit, SIGXFSZ ignored)")
    if not shutil_which("prlimit"):
        res.note("prlimit not installed: skipped")
        return
    a = ApiDaemon(binary, "api-storefail", ignore_sigxfsz=True)
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts", str(e))
        return
    reg = reg_ok(res, a, "register before the failure")
    if not reg:
        a.stop(res)
        return
    v0 = rand_txt()
    a.update_reg(reg, v0)

    def lim(spec):
        p = subprocess.run(["prlimit", f"--pid={a.pid}", f"--fsize={spec}"],
                           capture_output=True, text=True, timeout=10)
        return p.returncode == 0, p.stderr

    ok, err = lim("1:unlimited")
    if not res.check(ok, "prlimit --fsize=1 on the daemon", err):
        a.stop(res)
        return
    try:
        r = a.request("POST", "/register", timeout=20)
        res.check(is_error(r, 500, "db_error"), "POST /register -> 500 "
                  "db_error (TestApiRegisterWithMockDB)", repr(r))
        r = a.update_reg(reg, rand_txt())
        res.check(is_error(r, 500, "db_error"), "POST /update -> 500 db_error "
                  "(TestApiUpdateWithCredentialsMockDB)", repr(r))
    except OSError as e:
        res.check(False, "store failure answered", repr(e))
    finally:
        ok, err = lim("unlimited:unlimited")
        res.check(ok, "file size limit lifted", err)
    res.check(a.alive(), "daemon survives the store failure",
              a.stderr()[-2000:])
    if a.alive():
        r, reg2 = a.register()
        res.eq(r.status, 201, "after the disk recovers: register -> 201")
        v = rand_txt()
        r = a.update_reg(reg, v)
        res.eq(r.status, 200, "after the disk recovers: update -> 200")
        res.check(v in a.txt(reg)[1], "... and served")
        a.check_alive(res, "after store failure")
    a.stop(res)


def shutil_which(x):
    import shutil
    return shutil.which(x)


# --------------------------------------------------------------------------
# idle keep-alive connections close after 60 s


class IdleWatch:
    """Two idle connections on their own daemon, watched while the other
    sections run: one after a request (keep-alive idle), one that never
    sent a byte. Both must be closed by the server after 60 s, silently."""

    def __init__(self, binary):
        self.a = ApiDaemon(binary, "api-idle")
        self.out = {}
        self.threads = []

    def start(self):
        self.a.start()
        c1 = self.a.conn(timeout=90)
        c1.send(build_request("GET", "/health", self.a.hostport()))
        self.first = c1.read_response()
        c2 = self.a.conn(timeout=90)
        for name, c in (("after a request", c1), ("never used", c2)):
            t = threading.Thread(target=self._watch, args=(name, c),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _watch(self, name, c):
        t0 = time.monotonic()
        dt = c.wait_closed(85)
        self.out[name] = (dt, bytes(c.buf))
        c.close()

    def check(self, res):
        res.section("idle keep-alive connections close after 60 s")
        res.eq(self.first.status, 200, "first request on the connection")
        for t in self.threads:
            t.join(90)
        for name in ("after a request", "never used"):
            dt, data = self.out.get(name, (None, b""))
            res.check(dt is not None and 57.0 <= dt <= 64.0,
                      f"idle connection ({name}) closed by the server after "
                      f"60 s ({'open' if dt is None else f'{dt:.1f} s'})")
            res.check(data == b"", f"... without a response (no 408 for an "
                      "idle connection)", data[:200])
        self.a.check_alive(res, "idle watch")
        self.a.stop(res)


def main():
    args = std_args(__doc__)
    res = Results("api")
    binary = args.acmedns

    idle = IdleWatch(binary)
    try:
        idle.start()
    except (RuntimeError, OSError, HttpError) as e:
        res.check(False, "idle-watch daemon starts", repr(e))
        idle = None

    a = ApiDaemon(binary, "api-main", api_listen6=True)
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "main daemon starts with the API", str(e))
        res.finish()
    reg = s_register(res, a)
    if reg:
        other = s_update(res, a, reg)
        s_allowfrom_peer(res, a)
        s_slots(res, a, 2, "default, as acme-dns")
        s_delete(res, a)
        s_routing(res, a)
        s_keepalive(res, a, other or reg)
        s_latency(res, a, reg)
        s_metrics(res, a)
    a.check_alive(res, "main daemon at the end")
    users = []
    err = a.stop(res)
    leaked = [p for p in SECRETS if p in err]
    res.check(not leaked, f"none of the {len(SECRETS)} passwords appears on "
              "stderr (access log)", leaked[:3])
    lines = [l for l in err.splitlines() if reg and "/update" in l and
             reg["username"] in l and " 200" in l and "127.0.0.1" in l]
    res.check(lines, "access log: a line with client IP, /update, 200 and "
              "the username", err[-1500:])
    lines = [l for l in err.splitlines() if "/register" in l and " 201" in l]
    res.check(lines, "access log: POST /register 201 lines", err[-1500:])
    found = secrets_in_file(a.store_path, SECRETS)
    res.check(not found, "no plaintext password in the store files",
              found[:3])

    for slots in (1, 3):
        # txt_slots=1 also runs at log_level = warning: no access log
        b = ApiDaemon(binary, f"api-slots{slots}", api={"txt_slots": slots},
                      log_level="warning" if slots == 1 else "info")
        try:
            b.start()
            n0 = len(SECRETS)
            s_slots(res, b, slots, "configured")
            b.check_alive(res, f"txt_slots={slots}")
        except RuntimeError as e:
            res.check(False, f"daemon with txt_slots={slots} starts", str(e))
        err = b.stop(res)
        if slots == 1:
            res.check("/update" not in err and "/register" not in err,
                      "log_level = warning: no access log lines (they are "
                      "info)", err[-1000:])

    s_disable_registration(res, binary)
    s_registration_allowfrom(res, binary)
    s_registration_token(res, binary)
    s_max_age(res, binary)
    s_cors(res, binary)
    s_use_header_acmedns(res, binary)
    s_trusted_proxies(res, binary)
    s_store_failure(res, binary)
    if idle:
        idle.check(res)
    res.finish()


if __name__ == "__main__":
    main()
