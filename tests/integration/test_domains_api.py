#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: the managed-domain REST API (contract §4.2,
docs/API.md "Managed domains") and the `acmedns domains` CLI, black box,
end to end with a real CA.

Pebble (test CA) -> unbound -> {nsd: example.test with the user's CNAMEs,
acmedns: auth.example.test}, on random loopback ports in one temp dir
(tests/integration/acmeenv.py).

1. Issuance: register, POST /domains for example.test + *.example.test
   with a TLSA port, create the CNAMEs the 202 lists in nsd, poll GET until
   valid (bounded), download fullchain/cert/chain/key and check them with
   openssl (chain verifies to Pebble's root, SANs, key matches, fullchain =
   cert + chain), the TLSA record acmedns serves, GET /domains, /metrics.
2. A CSR domain: the certificate for the CSR's names, key.pem 404 no_key.
3. Every 4xx: bad bodies (400 with their codes), another registration's
   domain (404, byte-identical to an unknown id), unknown ids and paths,
   bad credentials (401), wrong methods (405 + Allow), no certificate yet
   (404/409), bad revocation reasons, the per-registration limit (429).
4. POST renew (a new certificate), revoke (Pebble says Revoked), DELETE.
5. The CLI on the same store while the daemon runs: list/show (text and
   --json, no private key), usage errors (exit 2), unknown id (exit 1),
   add --user (applied by the daemon and issued), renew and delete queued
   and applied, add without --user (its registration works after a
   restart).
6. DELETE /register removes the registration's domains.
7. A daemon without [acme] directory: every /domains endpoint is 503
   acme_disabled.
Finally acmedns exits 0 on SIGTERM, without sanitizer reports, and never
logged a private key.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acmeenv  # noqa: E402
from acmeenv import wait_for  # noqa: E402
from apiclient import ApiDaemon  # noqa: E402
from harness import Results, run, std_args, write  # noqa: E402

TOOLS = ["pebble", "nsd", "unbound", "unbound-checkconf", "openssl", "dig"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                     r"[0-9a-f]{12}$")
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
ISSUE_TIMEOUT = 90.0


def hdr(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


def jload(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def dreq(env, acct, method, path, body=None, headers=None):
    """A /domains request as acct (None: no credentials): (status, headers,
    text, json)."""
    h = dict(env.auth(acct)) if acct else {}
    if body is not None:
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    st, hd, text = env.api(method, path, body, h)
    return st, hd, text, jload(text)


def is_err(res, got, status, code, what):
    st, hd, text, j = got
    ok = (st == status and isinstance(j, dict) and j.get("error") == code
          and isinstance(j.get("detail"), str) and j["detail"]
          and (hdr(hd, "Content-Type") or "").startswith("application/json"))
    return res.check(ok, f"{what} -> {status} {code}",
                     f"got {st} {text[:300]!r}")


def openssl(*args, input=None):
    rc, out, err = run(["openssl", *args], timeout=20, input=input)
    return rc, out, err


def pubkey_of_cert(path):
    return openssl("x509", "-in", path, "-noout", "-pubkey")[1].strip()


def pubkey_of_key(path):
    return openssl("pkey", "-in", path, "-pubout")[1].strip()


def spki_sha256(cert_path):
    pem = pubkey_of_cert(cert_path)
    body = "".join(ln for ln in pem.splitlines() if not ln.startswith("-"))
    import base64
    return hashlib.sha256(base64.b64decode(body)).hexdigest()


# --------------------------------------------------------------------------
# 1. issuance


def download(res, env, acct, did, workdir, names, with_key=True):
    """GET the four PEM files, check them with openssl; returns the path of
    cert.pem (None on failure)."""
    d = os.path.join(workdir, did)
    os.makedirs(d, exist_ok=True)
    files = {}
    for f in ("fullchain.pem", "cert.pem", "chain.pem", "key.pem"):
        st, hd, text, _ = dreq(env, acct, "GET", f"/domains/{did}/{f}")
        if f == "key.pem" and not with_key:
            continue
        ok = res.check(st == 200 and "-----BEGIN" in text,
                       f"GET {f} -> 200 PEM", f"{st} {text[:200]!r}")
        res.eq(hdr(hd, "Content-Type"), "application/x-pem-file",
               f"{f}: Content-Type application/x-pem-file")
        res.check("no-store" in (hdr(hd, "Cache-Control") or ""),
                  f"{f}: Cache-Control: no-store", repr(hd))
        if ok:
            files[f] = write(os.path.join(d, f), text)
    if len(files) < (4 if with_key else 3):
        return None
    full = open(files["fullchain.pem"]).read()
    cert = open(files["cert.pem"]).read()
    chain = open(files["chain.pem"]).read()
    res.check(full == cert + chain, "fullchain.pem = cert.pem + chain.pem")
    res.eq(cert.count("BEGIN CERTIFICATE"), 1, "cert.pem: one certificate")
    res.check(chain.count("BEGIN CERTIFICATE") >= 1,
              "chain.pem: the issuer(s)")
    ok, out = env.pebble.verify(files["cert.pem"],
                                untrusted=files["chain.pem"])
    res.check(ok, "cert.pem verifies to Pebble's root with chain.pem", out)
    res.eq(acmeenv.cert_sans(files["cert.pem"]), sorted(names),
           "certificate SANs are exactly the names")
    if with_key:
        res.check("PRIVATE KEY" in open(files["key.pem"]).read(),
                  "key.pem is a private key")
        res.eq(pubkey_of_key(files["key.pem"]),
               pubkey_of_cert(files["cert.pem"]),
               "key.pem matches cert.pem")
    # the files the daemon wrote are the same certificate
    on_disk = env.domain_dir(did, names[0])
    if on_disk and os.path.exists(os.path.join(on_disk, "cert.pem")):
        res.eq(open(os.path.join(on_disk, "cert.pem")).read(), cert,
               "[certs] dir/<id>/cert.pem is the certificate served")
    return files["cert.pem"]


def s_issue(res, env, acct, workdir):
    res.section("POST /domains -> CNAMEs -> valid -> PEM files")
    names = ["example.test", "*.example.test"]
    st, hd, text, j = dreq(env, acct, "POST", "/domains", {
        "names": names, "key_type": "ec256",
        "tlsa": [{"port": 443, "proto": "tcp"}]})
    if not res.check(st == 202 and isinstance(j, dict), "POST -> 202",
                     f"{st} {text[:300]!r}"):
        return None, None
    did = j.get("id", "")
    res.check(UUID_RE.match(did), "id is a UUID", did)
    res.check(j.get("status") in ("awaiting_delegation", "pending"),
              "status awaiting_delegation or pending", j.get("status"))
    target = f"{acct['subdomain']}.{env.zone}."
    want = {("_acme-challenge.example.test.", target),
            ("_443._tcp.example.test.", f"_443._tcp.{target}")}
    got = {(c.get("name"), c.get("target")) for c in j.get("cnames", [])}
    res.eq(got, want, "cnames: one challenge CNAME (shared by the "
           "wildcard) and the TLSA CNAME")
    res.check("no-store" in (hdr(hd, "Cache-Control") or ""),
              "202: Cache-Control: no-store")
    env.add_cnames(j.get("cnames", []))
    t0 = time.monotonic()
    try:
        dom = env.wait_domain(acct, did, timeout=ISSUE_TIMEOUT)
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "domain becomes valid", str(e))
        return did, None
    res.check(True, f"valid after {time.monotonic() - t0:.1f} s")
    res.eq(dom.get("id"), did, "GET: id")
    res.eq(sorted(dom.get("names", [])), sorted(names), "GET: names")
    for k in ("not_before", "not_after", "renew_at"):
        res.check(isinstance(dom.get(k), str) and RFC3339_RE.match(dom[k]),
                  f"GET: {k} is an RFC 3339 time", dom.get(k))
    res.check(dom.get("not_before", "") < dom.get("renew_at", "") <
              dom.get("not_after", ""), "not_before < renew_at < not_after",
              repr(dom))
    res.check("error" in dom and dom["error"] is None, "GET: error null",
              dom.get("error"))
    res.eq(dom.get("key_type"), "ec256", "GET: key_type")
    res.eq(dom.get("tlsa"), [{"port": 443, "proto": "tcp"}], "GET: tlsa")
    res.check(not any("PRIVATE" in str(v) for v in dom.values()),
              "GET: no private key in the view")
    cert = download(res, env, acct, did, workdir, names)
    if cert:
        # RFC 6698 3 1 1 at _443._tcp.<subdomain>.<zone>
        try:
            rrs = env.acmedns_dig(f"_443._tcp.{acct['subdomain']}."
                                  f"{env.zone}", "TLSA")
            want = spki_sha256(cert)
            res.check(any(r.lower().replace(" ", "").endswith(want)
                          and r.startswith("3 1 1") for r in rrs),
                      "acmedns serves TLSA 3 1 1 of the certificate's key",
                      f"{rrs} want {want}")
        except RuntimeError as e:
            res.check(False, "dig TLSA", str(e))
    st, _, text, lst = dreq(env, acct, "GET", "/domains")
    ent = [e for e in (lst or []) if isinstance(e, dict) and
           e.get("id") == did]
    res.check(st == 200 and len(ent) == 1 and ent[0].get("status") ==
              "valid" and ent[0].get("not_after") == dom.get("not_after")
              and sorted(ent[0].get("names", [])) == sorted(names),
              "GET /domains lists it: id, names, status, not_after",
              text[:400])
    st, _, text = env.api("GET", "/metrics")
    res.check(re.search(r'^acmedns_acme_domains\{status="valid"\} [1-9]',
                        text, re.M),
              "/metrics: acmedns_acme_domains{status=\"valid\"} >= 1",
              text[-800:])
    res.check(re.search(r"^acmedns_acme_certificates_issued_total [1-9]",
                        text, re.M),
              "/metrics: acmedns_acme_certificates_issued_total >= 1")
    return did, cert


# --------------------------------------------------------------------------
# 2. CSR


def s_csr(res, env, acct, workdir):
    res.section("POST /domains with a CSR")
    d = os.path.join(workdir, "csr")
    os.makedirs(d, exist_ok=True)
    key, csr = os.path.join(d, "k.pem"), os.path.join(d, "r.pem")
    rc, _, err = openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                         "-subj", "/CN=csr.example.test", "-addext",
                         "subjectAltName=DNS:csr.example.test", "-out", csr)
    if not res.check(rc == 0, "openssl makes a CSR", err):
        return
    st, _, text, j = dreq(env, acct, "POST", "/domains",
                          {"csr": open(csr).read()})
    if not res.check(st == 202 and isinstance(j, dict), "CSR alone -> 202",
                     f"{st} {text[:300]!r}"):
        return
    did = j["id"]
    res.eq([c["name"] for c in j.get("cnames", [])],
           ["_acme-challenge.csr.example.test."],
           "cnames from the CSR's names")
    is_err(res, dreq(env, acct, "GET", f"/domains/{did}/key.pem"), 404,
           "no_key", "key.pem of a CSR domain")
    env.add_cnames(j.get("cnames", []))
    try:
        dom = env.wait_domain(acct, did, timeout=ISSUE_TIMEOUT)
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "CSR domain becomes valid", str(e))
        return
    res.eq(dom.get("csr"), True, "GET: csr true")
    cert = download(res, env, acct, did, workdir, ["csr.example.test"],
                    with_key=False)
    if cert:
        res.eq(pubkey_of_cert(cert), pubkey_of_key(key),
               "the certificate carries the CSR's key")
    is_err(res, dreq(env, acct, "GET", f"/domains/{did}/key.pem"), 404,
           "no_key", "key.pem of a CSR domain, after issuance")


# --------------------------------------------------------------------------
# 3. errors


BAD_BODIES = [
    ("", "malformed_json_payload"),
    ("not json", "malformed_json_payload"),
    ("[]", "malformed_json_payload"),
    ('{"names":["a.example.test"]} trailing', "malformed_json_payload"),
    ('{"Names":["a.example.test"]}', "malformed_json_payload"),
    ('{"names":["a.example.test"],"extra":1}', "malformed_json_payload"),
    ("{}", "bad_names"),
    ('{"names":[]}', "bad_names"),
    ('{"names":"a.example.test"}', "bad_names"),
    ('{"names":[1]}', "bad_names"),
    ('{"names":["bad name.test"]}', "bad_names"),
    ('{"names":["a.*.example.test"]}', "bad_names"),
    ('{"names":["a.example.test","A.EXAMPLE.TEST"]}', "bad_names"),
    ('{"names":["x%d.example.test"]}', None),  # 101 names: filled below
    ('{"names":["a.example.test"],"key_type":"ec521"}', "bad_key_type"),
    ('{"names":["a.example.test"],"key_type":1}', "bad_key_type"),
    ('{"names":["a.example.test"],"tlsa":[{"port":0}]}', "bad_tlsa"),
    ('{"names":["a.example.test"],"tlsa":[{"port":443,"proto":"icmp"}]}',
     "bad_tlsa"),
    ('{"names":["a.example.test"],"tlsa":"443"}', "bad_tlsa"),
    ('{"csr":"not a csr"}', "bad_csr"),
    ('{"csr":"-----BEGIN CERTIFICATE REQUEST-----\\nAAAA\\n'
     '-----END CERTIFICATE REQUEST-----\\n"}', "bad_csr"),
]


def s_errors(res, env, acct, other, did):
    res.section("4xx answers")
    for body, code in BAD_BODIES:
        if code is None:
            body = json.dumps({"names": [f"x{i}.example.test"
                                         for i in range(101)]})
            code = "bad_names"
        is_err(res, dreq(env, acct, "POST", "/domains", body), 400, code,
               f"POST {body[:60]!r}")

    unknown = str(uuid.uuid4())
    if did:
        for sfx, m in (("", "GET"), ("/fullchain.pem", "GET"),
                       ("/cert.pem", "GET"), ("/chain.pem", "GET"),
                       ("/key.pem", "GET"), ("/renew", "POST"),
                       ("/revoke", "POST"), ("", "DELETE")):
            a = dreq(env, other, m, f"/domains/{did}{sfx}")
            b = dreq(env, other, m, f"/domains/{unknown}{sfx}")
            is_err(res, a, 404, "not_found",
                   f"{m} {sfx or '/{id}'} of another registration's domain")
            res.eq(a[2], b[2], f"{m} {sfx or '/{id}'}: same body as an "
                   "unknown id")
        st, _, _, lst = dreq(env, other, "GET", "/domains")
        res.check(st == 200 and isinstance(lst, list) and
                  all(e.get("id") != did for e in lst),
                  "the other registration's list does not show it")
        res.check(env.get_domain(acct, did) is not None,
                  "the owner still has it")
        # ids are case-insensitive UUIDs
        st, _, _, j = dreq(env, acct, "GET", f"/domains/{did.upper()}")
        res.check(st == 200 and j and j.get("id") == did,
                  "GET /domains/{ID in upper case} -> 200")

    for p in ("/domains/", "/domains/123", f"/domains/{unknown}x",
              f"/domains/{unknown}/other", f"/domains/{unknown}/key.pem/x"):
        is_err(res, dreq(env, acct, "GET", p), 404, "not_found", f"GET {p}")
    # not under /domains at all: the acme-dns style 404
    st, _, _, j = dreq(env, acct, "GET", "/domainsx")
    res.check(st == 404 and j and j.get("error") == "not_found",
              "GET /domainsx -> 404 not_found", f"{st} {j}")

    # authentication, as /update
    is_err(res, dreq(env, None, "GET", "/domains"), 401, "forbidden",
           "no credentials")
    bad = dict(acct)
    bad["password"] = "x" * 40
    is_err(res, dreq(env, bad, "GET", "/domains"), 401, "forbidden",
           "wrong X-Api-Key")
    bad = dict(acct)
    bad["username"] = str(uuid.uuid4())
    is_err(res, dreq(env, bad, "POST", "/domains",
                     {"names": ["a.example.test"]}), 401, "forbidden",
           "unknown X-Api-User")
    if did:
        is_err(res, dreq(env, None, "GET", f"/domains/{did}/key.pem"), 401,
               "forbidden", "key.pem without credentials")

    # methods
    some = did or unknown
    for m, p, allow in (("PUT", "/domains", "GET, POST, OPTIONS"),
                        ("DELETE", "/domains", "GET, POST, OPTIONS"),
                        ("POST", f"/domains/{some}", "GET, DELETE, OPTIONS"),
                        ("GET", f"/domains/{some}/renew", "POST, OPTIONS"),
                        ("DELETE", f"/domains/{some}/revoke",
                         "POST, OPTIONS"),
                        ("POST", f"/domains/{some}/cert.pem",
                         "GET, OPTIONS")):
        got = dreq(env, acct, m, p)
        is_err(res, got, 405, "method_not_allowed", f"{m} {p[:30]}")
        res.eq(hdr(got[1], "Allow"), allow, f"{m} {p[:30]}: Allow")

    # a domain without its CNAME: no certificate yet
    st, _, text, j = dreq(env, acct, "POST", "/domains",
                          {"names": ["nocname.example.test"]})
    if res.check(st == 202 and j, "POST nocname.example.test -> 202", text):
        nid = j["id"]
        for f in ("fullchain.pem", "cert.pem", "chain.pem", "key.pem"):
            is_err(res, dreq(env, acct, "GET", f"/domains/{nid}/{f}"), 404,
                   "no_certificate", f"{f} before issuance")
        is_err(res, dreq(env, acct, "POST", f"/domains/{nid}/revoke"), 409,
               "no_certificate", "revoke before issuance")
        is_err(res, dreq(env, acct, "POST", f"/domains/{nid}/revoke",
                         {"reason": 7}), 400, "bad_reason",
               "revoke reason 7")
        is_err(res, dreq(env, acct, "POST", f"/domains/{nid}/revoke",
                         {"reason": 11}), 400, "bad_reason",
               "revoke reason 11")
        is_err(res, dreq(env, acct, "POST", f"/domains/{nid}/revoke",
                         {"why": 1}), 400, "malformed_json_payload",
               "revoke with an unknown member")
        st, _, _, j = dreq(env, acct, "DELETE", f"/domains/{nid}")
        res.check(st == 200 and j == {"id": nid, "deleted": True},
                  "DELETE -> 200 {id, deleted: true}", repr(j))
        is_err(res, dreq(env, acct, "GET", f"/domains/{nid}"), 404,
               "not_found", "GET after DELETE")


def s_limit(res, env):
    res.section("per-registration limit (429 too_many_domains)")
    acct = env.register()
    ids = []
    t0 = time.monotonic()
    for i in range(100):
        st, _, text, j = dreq(env, acct, "POST", "/domains",
                              {"names": [f"lim{i}.example.test"]})
        if st != 202:
            res.check(False, f"add #{i + 1} -> 202", f"{st} {text[:200]}")
            break
        ids.append(j["id"])
    res.eq(len(ids), 100, f"100 domains added in "
           f"{time.monotonic() - t0:.1f} s")
    is_err(res, dreq(env, acct, "POST", "/domains",
                     {"names": ["lim-extra.example.test"]}), 429,
           "too_many_domains", "the 101st")
    st, _, _, lst = dreq(env, acct, "GET", "/domains")
    res.check(st == 200 and isinstance(lst, list) and len(lst) == 100,
              "GET /domains lists 100", len(lst or []))
    if ids:
        st, _, _, _ = dreq(env, acct, "DELETE", f"/domains/{ids[0]}")
        res.eq(st, 200, "DELETE one")
        st, _, text, _ = dreq(env, acct, "POST", "/domains",
                              {"names": ["lim-extra.example.test"]})
        res.eq(st, 202, "then one more fits")
    # DELETE /register takes every domain of the registration along
    st, _, _ = env.api("DELETE", "/register", None, env.auth(acct))
    res.check(st in (200, 204), "DELETE /register", st)
    try:
        wait_for(lambda: not any(r.get("owner") == acct["username"]
                                 for r in env.store_rows("acme_domains")),
                 10, 0.2, "rows gone")
        res.check(True, "DELETE /register: its 101 domain rows are gone")
    except TimeoutError as e:
        res.check(False, "DELETE /register removes its domains", str(e))


# --------------------------------------------------------------------------
# 4. renew, revoke, delete


def serial_of(env, acct, did, workdir):
    st, _, text, _ = dreq(env, acct, "GET", f"/domains/{did}/cert.pem")
    if st != 200:
        return None
    p = write(os.path.join(workdir, f"serial-{did}.pem"), text)
    return acmeenv.cert_serial(p)


def s_renew_revoke_delete(res, env, acct, did, workdir):
    res.section("POST renew, POST revoke, DELETE")
    s0 = serial_of(env, acct, did, workdir)
    st, _, text, j = dreq(env, acct, "POST", f"/domains/{did}/renew")
    res.check(st == 202 and j and j.get("id") == did and
              j.get("status") in ("valid", "renewing"),
              "renew -> 202 {id, status}", f"{st} {text}")
    try:
        s1 = wait_for(lambda: (lambda s: s if s and s != s0 else None)(
            serial_of(env, acct, did, workdir)), ISSUE_TIMEOUT, 0.2,
            "a new certificate")
        res.check(True, f"renewed: serial {s0} -> {s1}")
    except TimeoutError as e:
        res.check(False, "renew issues a new certificate", str(e))
        s1 = s0
    env.wait_domain(acct, did, timeout=30)
    st, _, text, j = dreq(env, acct, "POST", f"/domains/{did}/revoke",
                          {"reason": 4})
    res.check(st == 202 and j and j.get("id") == did,
              "revoke {reason: 4} -> 202", f"{st} {text}")
    try:
        env.wait_domain(acct, did, statuses=("revoked",), timeout=30)
        res.check(True, "status revoked")
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "status becomes revoked", str(e))
    if s1:
        stat = env.pebble.cert_status(s1)
        res.check(stat and stat.get("Status") == "Revoked",
                  "Pebble: the certificate is Revoked", repr(stat))
    is_err(res, dreq(env, acct, "POST", f"/domains/{did}/revoke"), 409,
           "already_revoked", "revoke again")
    st, _, text, j = dreq(env, acct, "DELETE", f"/domains/{did}")
    res.check(st == 200 and j == {"id": did, "deleted": True},
              "DELETE -> 200", f"{st} {text}")
    is_err(res, dreq(env, acct, "GET", f"/domains/{did}"), 404, "not_found",
           "GET after DELETE")
    st, _, _, lst = dreq(env, acct, "GET", "/domains")
    res.check(st == 200 and all(e.get("id") != did for e in lst or []),
              "not listed after DELETE")
    res.check(not any(r.get("id") == did
                      for r in env.store_rows("acme_domains")),
              "its store row is gone")


# --------------------------------------------------------------------------
# 5. the CLI


def cli(env, *args, timeout=30):
    return run([env.acmedns_bin, "domains", *args[:1], "-c",
                env.acmedns_conf, *args[1:]], timeout=timeout)


def kv(out):
    d = {}
    for ln in out.splitlines():
        if ": " in ln:
            k, v = ln.split(": ", 1)
            d.setdefault(k.strip(), []).append(v.strip())
    return d


def s_cli(res, env, acct, workdir):
    res.section("acmedns domains (CLI) on the running daemon's store")
    # a valid domain to look at
    st, _, text, j = dreq(env, acct, "POST", "/domains",
                          {"names": ["cli1.example.test"]})
    if not res.check(st == 202, "POST cli1.example.test", text):
        return
    did = j["id"]
    env.add_cnames(j["cnames"])
    try:
        env.wait_domain(acct, did, timeout=ISSUE_TIMEOUT)
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "cli1 valid", str(e))

    rc, out, err = cli(env, "list")
    res.check(rc == 0 and did in out and "valid" in out and
              "cli1.example.test" in out, "list: id, status, names",
              out + err)
    rc, out, err = cli(env, "list", "--json")
    lst = jload(out)
    ent = [e for e in (lst or []) if e.get("id") == did]
    res.check(rc == 0 and len(ent) == 1 and ent[0].get("status") == "valid"
              and ent[0].get("owner") == acct["username"],
              "list --json: the domain with owner and status", out[:400])
    rc, out, err = cli(env, "show", did)
    f = kv(out)
    res.check(rc == 0 and f.get("status") == ["valid"] and
              f.get("id") == [did] and f.get("names") ==
              ["cli1.example.test"], "show: id, names, status", out)
    res.check("PRIVATE KEY" not in out, "show prints no private key")
    want_dir = os.path.join(env.certs_dir(), did)
    res.check(any(v.startswith(os.path.join(want_dir, "fullchain.pem"))
                  for v in f.get("file", [])),
              "show: file paths under [certs] dir/<id>/", out)
    rc, out, err = cli(env, "show", did, "--json")
    j = jload(out)
    res.check(rc == 0 and j and j.get("id") == did and j.get("not_after")
              and "PRIVATE" not in out, "show --json", out[:400])

    # errors
    rc, out, err = cli(env, "show", str(uuid.uuid4()))
    res.check(rc == 1 and "no such domain" in err, "show unknown id: exit 1",
              f"{rc} {err}")
    rc, out, err = cli(env, "renew", "not-an-id")
    res.check(rc == 1 and "no such domain" in err,
              "renew of a non-UUID: exit 1", f"{rc} {err}")
    for args, what in ((("frobnicate",), "unknown operation"),
                       (("show",), "show without ID"),
                       (("list", "x"), "list with an operand"),
                       (("revoke", did, "--reason", "7"), "reason 7"),
                       (("add",), "add without names"),
                       (("add", "--tlsa", "x", "a.example.test"), "bad tlsa"),
                       (("add", "bad name"), "bad name"),
                       (("list", "--bogus"), "unknown option"),
                       (("renew", did, "--json"), "option of another op")):
        rc, out, err = cli(env, *args)
        res.check(rc == 2 and err.strip(), f"usage error ({what}): exit 2",
                  f"{rc} {out} {err}")
    rc, out, err = cli(env, "add", "--user", str(uuid.uuid4()),
                       "x.example.test")
    res.check(rc == 1 and "no such registration" in err,
              "add --user <unknown>: exit 1", f"{rc} {err}")

    # add --user: applied by the running daemon, then issued
    rc, out, err = cli(env, "add", "--user", acct["username"],
                       "cli2.example.test", "--tlsa", "443/tcp")
    f = kv(out)
    ok = res.check(rc == 0 and f.get("id") and UUID_RE.match(f["id"][0]),
                   "add --user: exit 0 with an id", out + err)
    res.check("password" not in f, "add --user prints no password")
    res.check("2 s" in out, "add says when the daemon applies it", out)
    if ok:
        cid = f["id"][0]
        cn = [c.split(" CNAME ") for c in f.get("cname", [])]
        res.eq(sorted(c[0] for c in cn),
               ["_443._tcp.cli2.example.test.",
                "_acme-challenge.cli2.example.test."], "add: the CNAMEs")
        env.add_cnames([{"name": a, "target": b} for a, b in cn])
        def listed():
            st, _, _, lst = dreq(env, acct, "GET", "/domains")
            return st == 200 and any(e.get("id") == cid for e in lst or [])
        try:
            # first the list, before any GET by id: it must not depend on
            # the API having seen the domain
            wait_for(listed, 10, 0.2, "GET /domains lists the CLI's domain")
            res.check(True, "the running daemon applied `add`: GET "
                      "/domains lists it")
            env.wait_domain(acct, cid, timeout=ISSUE_TIMEOUT)
            res.check(True, "the CLI's domain is issued")
        except (TimeoutError, RuntimeError) as e:
            res.check(False, "the CLI's domain is applied and issued",
                      str(e))

    # renew and delete, queued and applied
    s0 = serial_of(env, acct, did, workdir)
    rc, out, err = cli(env, "renew", did)
    res.check(rc == 0 and "queued" in out, "renew: queued", out + err)
    try:
        wait_for(lambda: (lambda s: s and s != s0)(
            serial_of(env, acct, did, workdir)), ISSUE_TIMEOUT, 0.3,
            "new certificate after the CLI renew")
        res.check(True, "the daemon renewed it")
    except TimeoutError as e:
        res.check(False, "CLI renew is applied", str(e))
    rc, out, err = cli(env, "delete", did)
    res.check(rc == 0 and "queued" in out, "delete: queued", out + err)
    try:
        wait_for(lambda: env.get_domain(acct, did) is None, 10, 0.2,
                 "domain gone")
        res.check(True, "the daemon deleted it within 10 s")
    except TimeoutError as e:
        res.check(False, "CLI delete is applied", str(e))

    # add without --user: a new registration, printed once
    rc, out, err = cli(env, "add", "cli3.example.test")
    f = kv(out)
    ok = res.check(rc == 0 and f.get("username") and f.get("password") and
                   f.get("subdomain") and f.get("id"),
                   "add without --user: registration + domain", out + err)
    if ok:
        new = {"username": f["username"][0], "password": f["password"][0],
               "subdomain": f["subdomain"][0]}
        res.check(UUID_RE.match(new["username"]) and
                  len(new["password"]) == 40, "username UUID, 40-char key")
        return new, f["id"][0]
    return None, None


# --------------------------------------------------------------------------
# 7. no engine


def s_disabled(res, binary):
    res.section("a daemon without [acme] directory: 503 acme_disabled")
    a = ApiDaemon(binary, "noacme")
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon without [acme] starts", str(e))
        return
    try:
        r, reg = a.register()
        auth = {"X-Api-User": reg["username"], "X-Api-Key": reg["password"]}
        some = str(uuid.uuid4())
        for m, p, hd in (("GET", "/domains", auth), ("GET", "/domains", {}),
                         ("POST", "/domains", auth),
                         ("GET", f"/domains/{some}", auth),
                         ("GET", f"/domains/{some}/fullchain.pem", auth),
                         ("POST", f"/domains/{some}/renew", auth),
                         ("POST", f"/domains/{some}/revoke", auth),
                         ("DELETE", f"/domains/{some}", auth)):
            body = json.dumps({"names": ["a.example.test"]}) \
                if m == "POST" else None
            r = a.request(m, p, body=body, headers=hd)
            j = jload(r.body.decode(errors="replace"))
            res.check(r.status == 503 and j == {
                "error": "acme_disabled",
                "detail": "[acme] directory is not set"},
                f"{m} {p[:30]}{'' if hd else ' (no auth)'} -> 503 "
                "acme_disabled", f"{r.status} {r.body[:200]!r}")
        # /update still works, of course
        r = a.update_reg(reg, "A" * 43)
        res.eq(r.status, 200, "/update works without the engine")
    finally:
        a.stop(res)


# --------------------------------------------------------------------------


def main():
    args = std_args(__doc__)
    args.acmedns = os.path.abspath(args.acmedns)  # daemons run elsewhere
    res = Results("integ_domains_api")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        res.check(False, "tools installed (scripts/packages.txt)",
                  f"missing: {missing}")
        res.finish()
    env = acmeenv.Env(acmedns_bin=args.acmedns)
    workdir = os.path.join(env.dir, "downloads")
    os.makedirs(workdir, exist_ok=True)
    try:
        # the CNAMEs are created after POST /domains, as a user would:
        # recheck the delegation every 5 s (the minimum), not 60
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
                  acmedns_acme={"delegation_recheck": 5})
    except Exception as e:  # noqa: BLE001 - reported, then the logs
        res.check(False, "environment starts", f"{e}\n{env.logs()}")
        env.stop()
        res.finish()
    try:
        acct = env.register()
        other = env.register()
        did, cert = s_issue(res, env, acct, workdir)
        s_csr(res, env, acct, workdir)
        s_errors(res, env, acct, other, did)
        s_limit(res, env)
        if did and cert:
            s_renew_revoke_delete(res, env, acct, did, workdir)
        new, new_id = s_cli(res, env, acct, workdir) or (None, None)
        if new:
            res.section("restart: the CLI's registration is loaded")
            env.restart_acmedns(res)
            st, _, text, j = dreq(env, new, "GET", f"/domains/{new_id}")
            res.check(st == 200 and j and j.get("id") == new_id,
                      "the CLI-made credentials see the CLI-made domain",
                      f"{st} {text[:200]}")
    except Exception as e:  # noqa: BLE001 - a crash is a failure, logs help
        import traceback
        res.check(False, "test ran to the end",
                  f"{traceback.format_exc()}\n{env.logs()}")
    err = env.acmedns.stderr() if env.acmedns else ""
    res.check("PRIVATE KEY" not in err and "BEGIN EC" not in err,
              "no private key on acmedns's stderr")
    env.stop(res)
    s_disabled(res, args.acmedns)
    res.finish()


if __name__ == "__main__":
    main()
