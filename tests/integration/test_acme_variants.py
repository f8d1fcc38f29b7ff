# SPDX-License-Identifier: MIT
"""The ACME engine against Pebble configured the ways real CAs differ
(same topology as test_acme_e2e.py: Pebble -> unbound -> {nsd, acmedns}).
Each case gets its own environment (own Pebble, store and ports):

1. EAB required (externalAccountBindingRequired + externalAccountMACKeys):
   with [acme] eab_kid / eab_hmac_key the domain is issued; with a wrong
   HMAC key (fresh store, same Pebble) nothing is issued and the reason is
   visible in GET /domains/{id} "error" or in the log.
2. PEBBLE_WFE_NONCEREJECT=50 (half the nonces rejected): still issued.
3. PEBBLE_ALTERNATE_ROOTS=1 and [acme] preferred_chain = the CN of
   Pebble's /roots/1: the saved chain leads to that root.
3b. "key_type" ec384 and rsa2048, and a user's "csr" (the certificate
   carries the CSR's key; no key.pem).
4. 20 domains (20 registrations) issued concurrently, all valid within a
   bound, while a UDP query loop against acmedns measures that DNS keeps
   answering (p50/p99, losses).
5. [api] tls = acme: the API comes up on HTTPS with a certificate for the
   zone apex that verifies against Pebble's root.
"""

import base64
import os
import shutil
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acmeenv  # noqa: E402
from harness import (Results, std_args, run, write, build_query,  # noqa: E402
                     Message)

TOOLS = ["pebble", "nsd", "unbound", "unbound-checkconf", "dig", "openssl"]
ISSUE_TIMEOUT = 90.0
N_CONCURRENT = 20


def main():
    args = std_args(__doc__)
    res = Results("integ_acme_variants")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        res.check(False, "tools installed (scripts/packages.txt)",
                  f"missing: {missing}")
        res.finish()
    for case in (case_eab, case_nonce_reject, case_alternate_root,
                 case_keys_csr, case_concurrent, case_api_tls):
        env = acmeenv.Env(acmedns_bin=args.acmedns)
        try:
            case(res, env)
        except Exception as e:  # noqa: BLE001 - report, go on
            res.check(False, f"{case.__name__}: no unexpected error",
                      f"{type(e).__name__}: {e}")
            print(env.logs(), flush=True)
        finally:
            env.stop(res)
    res.finish()


def start(res, env, what, **kw):
    # a missing CNAME is rechecked after [acme] delegation_recheck: keep it
    # short in case a check races the nsd reload
    keys = acmeenv.acmedns_keys(env.acmedns_bin)
    if "delegation_recheck" in keys.get("acme", ()):
        acme = {"delegation_recheck": 5}
        acme.update(kw.pop("acmedns_acme", None) or {})
        kw["acmedns_acme"] = acme
    try:
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
                  **kw)
        return res.check(True, f"{what}: environment starts")
    except RuntimeError as e:
        res.check(False, f"{what}: environment starts", str(e))
        print(env.logs(), flush=True)
        return False


def issue(res, env, acct, names, what, timeout=ISSUE_TIMEOUT, **extra):
    """CNAMEs + POST /domains + wait valid: the domain's GET object and
    its directory, or (None, None). The CNAMEs are created first (their
    targets follow from the registration) so that the time measured is
    the issuance, not a delegation recheck; the 202's list must match."""
    want = sorted({(f"_acme-challenge.{n.replace('*.', '')}.",
                    acct["fulldomain"] + ".") for n in names})
    env.add_cnames([{"name": a, "target": b} for a, b in want])
    try:
        j = env.add_domain(acct, names, **extra)
    except acmeenv.ApiError as e:
        res.check(False, f"{what}: POST /domains -> 202", str(e))
        return None, None
    res.eq(sorted((c.get("name"), c.get("target"))
                  for c in j.get("cnames", [])), want,
           f"{what}: the 202 lists the CNAMEs")
    t0 = time.monotonic()
    try:
        d = env.wait_domain(acct, j["id"], ("valid",), timeout)
    except (TimeoutError, RuntimeError) as e:
        res.check(False, f"{what}: valid", str(e))
        print(env.logs(), flush=True)
        return None, None
    res.check(True, f"{what}: valid in {time.monotonic() - t0:.2f} s")
    return d, env.domain_dir(j["id"], names[0])


# ---------------------------------------------------------------- 1 EAB

def case_eab(res, env):
    res.section("EAB required")
    kid = "kid-acmedns-test"
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    if not start(res, env, "EAB", eab_keys={kid: key},
                 acmedns_acme={"eab_kid": kid, "eab_hmac_key": key}):
        return
    acct = env.register()
    d, ddir = issue(res, env, acct, ["eab.example.test"],
                    "EAB with the right key")
    if ddir:
        ok, text = env.pebble.verify(os.path.join(ddir, "cert.pem"))
        res.check(ok, "EAB: cert.pem verifies", text)
    # the check-config dump masks the HMAC key (a secret)
    rc, out, _ = run([env.acmedns_bin, "check-config", "-c",
                      env.acmedns_conf], timeout=15)
    res.check(rc == 0 and key not in out, "check-config does not print "
              "eab_hmac_key", out[-500:])

    res.section("EAB with a wrong HMAC key (fresh store)")
    wrong = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    conf = env.acmedns_config(acme={"eab_kid": kid, "eab_hmac_key": wrong},
                              resolver_port=env.unbound.port)
    fresh = os.path.join(env.dir, "acmedns-wrong")
    os.makedirs(fresh)
    conf = conf.replace(os.path.join(env.dir, "acmedns") + "/", fresh + "/")
    env.restart_acmedns(config=conf)
    acct = env.register()
    try:
        j = env.add_domain(acct, ["eabwrong.example.test"])
    except acmeenv.ApiError as e:
        # refusing the domain at once with the account error is fine too
        res.check(e.status >= 400 and "error" in str(e),
                  f"wrong EAB key: POST /domains refused ({e.status})",
                  str(e))
        return
    env.add_cnames(j.get("cnames", []))
    seen = {}

    def explained():
        d = env.get_domain(acct, j["id"]) or {}
        seen["d"] = d
        if d.get("status") == "valid":
            raise RuntimeError("issued with a wrong EAB key")
        err = (d.get("error") or "").lower()
        words = ("externalaccount", "external account", "eab",
                 "unauthorized", "hmac", "binding")
        if any(w in err for w in words):
            seen["why"] = f"GET error: {d.get('error')!r}"
            return True
        for ln in env.acmedns.stderr().splitlines():
            if any(w in ln.lower() for w in ("externalaccountbinding",
                                            "external account binding")):
                seen["why"] = f"log: {ln.strip()[:300]!r}"
                return True
        return False
    try:
        acmeenv.wait_for(explained, 30, 0.2, "EAB error shown")
        res.check(True, "wrong EAB key: not issued, the error says why")
        res.note(seen["why"])
        res.note(f"GET /domains/{{id}}: status {seen['d'].get('status')!r},"
                 f" error {seen['d'].get('error')!r}")
    except TimeoutError as e:
        res.check(False, "wrong EAB key: error visible in GET or the log",
                  f"{e}; last GET {seen.get('d')!r}; log tail:\n"
                  f"{env.acmedns.stderr()[-1500:]}")
    d = env.get_domain(acct, j["id"]) or {}
    res.check(d.get("status") != "valid", "wrong EAB key: not valid",
              repr(d))


# ------------------------------------------------------- 2 NONCEREJECT 50

def case_nonce_reject(res, env):
    res.section("PEBBLE_WFE_NONCEREJECT=50")
    if not start(res, env, "NONCEREJECT=50",
                 pebble_env={"PEBBLE_WFE_NONCEREJECT": "50"}):
        return
    acct = env.register()
    d, ddir = issue(res, env, acct, ["nonce.example.test",
                                     "*.nonce.example.test"],
                    "half the nonces rejected")
    if ddir:
        ok, text = env.pebble.verify(os.path.join(ddir, "cert.pem"))
        res.check(ok, "NONCEREJECT=50: cert.pem verifies", text)
    with open(env.pebble.log) as f:
        plog = f.read()
    res.check("reject 50% of good nonces" in plog,
              "Pebble says it rejects 50% of good nonces")
    n = sum(1 for ln in env.acmedns.stderr().splitlines()
            if "badnonce" in ln.lower())
    res.note(f"acmedns log lines about badNonce: {n}")


# ------------------------------------------------- 3 alternate root chain

def case_alternate_root(res, env):
    res.section("PEBBLE_ALTERNATE_ROOTS=1 + [acme] preferred_chain")
    if not start(res, env, "ALTERNATE_ROOTS=1",
                 pebble_env={"PEBBLE_ALTERNATE_ROOTS": "1"}):
        return
    root1, inter1 = env.pebble.save_chain(1)
    cn = subject_cn(root1)
    res.check(bool(cn), f"Pebble /roots/1 CN: {cn!r}")
    conf = env.acmedns_config(acme={"preferred_chain": cn},
                              resolver_port=env.unbound.port)
    env.restart_acmedns(config=conf)
    acct = env.register()
    d, ddir = issue(res, env, acct, ["alt.example.test"], "preferred chain")
    if not ddir:
        return
    cert = os.path.join(ddir, "cert.pem")
    chain = os.path.join(ddir, "chain.pem")
    rc, out, err = run(["openssl", "verify", "-CAfile", root1, "-untrusted",
                        chain, cert], timeout=15)
    res.check(rc == 0, "openssl verify -CAfile /roots/1 -untrusted "
              "chain.pem cert.pem", (out + err).strip())
    with open(chain) as f:
        got = acmeenv.pem_certs(f.read())
    want = acmeenv.pem_certs(env.pebble.intermediate(1))
    res.check(got[:1] == want[:1], "chain.pem starts with /intermediates/1",
              f"chain issuers: {[issuer_of(c) for c in got]}")
    top = got[-1] if got else ""
    res.check(bool(top) and cn in issuer_of(top),
              f"the chain's top certificate is issued by {cn!r}",
              issuer_of(top))


def subject_cn(path):
    s = acmeenv.cert_field(path, "-subject")
    for part in s.split(","):
        part = part.strip()
        if part.startswith("CN"):
            return part.split("=", 1)[1].strip()
    return ""


def issuer_of(pem):
    p = __import__("subprocess").run(
        ["openssl", "x509", "-noout", "-issuer"], input=pem.encode(),
        capture_output=True, timeout=10)
    return p.stdout.decode().strip()


# ------------------------------------------- key types and a user's CSR

def case_keys_csr(res, env):
    res.section("key_type ec384 / rsa2048, and a CSR instead of a key")
    if not start(res, env, "key types"):
        return
    acct = env.register()
    for kt, want, alg in (("ec384", "(384 bit)", "id-ecPublicKey"),
                          ("rsa2048", "(2048 bit)", "rsaEncryption")):
        name = f"{kt}.example.test"
        d, ddir = issue(res, env, acct, [name], f"key_type {kt}",
                        key_type=kt)
        if not ddir:
            continue
        cert = os.path.join(ddir, "cert.pem")
        rc, out, _ = run(["openssl", "x509", "-in", cert, "-noout",
                          "-text"], timeout=10)
        # the subject key only: Pebble's own signature is RSA either way
        spki = out.split("Subject Public Key Info:", 1)[-1][:200]
        res.check(want in spki and alg in spki,
                  f"{kt}: the certificate's key is {alg} {want}",
                  spki)
        res.check(env.pebble.verify(cert)[0], f"{kt}: cert.pem verifies")
    # a CSR made outside: acmedns never sees the key
    name = "csr.example.test"
    key = os.path.join(env.dir, "csr.key")
    csr = os.path.join(env.dir, "csr.pem")
    rc, out, err = run(["openssl", "req", "-new", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", csr, "-subj", f"/CN={name}",
                        "-addext", f"subjectAltName=DNS:{name}"],
                       timeout=15)
    if not res.check(rc == 0, "openssl req makes a CSR", err):
        return
    with open(csr) as f:
        csr_pem = f.read()
    d, ddir = issue(res, env, acct, [name], "CSR", csr=csr_pem)
    if not ddir:
        return
    cert = os.path.join(ddir, "cert.pem")
    p = __import__("subprocess").run(
        ["openssl", "pkey", "-in", key, "-pubout"], capture_output=True,
        text=True, timeout=10)
    rc, pub, _ = run(["openssl", "x509", "-in", cert, "-noout", "-pubkey"],
                     timeout=10)
    res.check(p.stdout.strip() == pub.strip() and pub.strip() != "",
              "CSR: the certificate carries the CSR's public key")
    res.check(not os.path.exists(os.path.join(ddir, "key.pem")),
              "CSR: no key.pem written")
    st, _, text = env.domains_api(acct, "GET",
                                  f"/domains/{d['id']}/key.pem")
    res.check(st == 404, f"CSR: GET .../key.pem -> {st} (404)", text[:200])


# ---------------------------------------------- 4 20 domains concurrently

class DnsLoop(threading.Thread):
    """One UDP SOA query at a time against acmedns, for as long as it
    runs: latencies (s) and losses (no answer within 1 s)."""

    def __init__(self, port, zone):
        super().__init__(daemon=True)
        self.port = port
        self.q = build_query(zone, "SOA")
        self.lat = []
        self.lost = 0
        self.stop_ev = threading.Event()

    def run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        try:
            while not self.stop_ev.is_set():
                t0 = time.perf_counter()
                try:
                    s.sendto(self.q, ("127.0.0.1", self.port))
                    data, _ = s.recvfrom(4096)
                    Message(data)
                    self.lat.append(time.perf_counter() - t0)
                except (OSError, Exception):  # noqa: BLE001
                    self.lost += 1
                self.stop_ev.wait(0.002)
        finally:
            s.close()

    def stop(self):
        self.stop_ev.set()
        self.join(5)

    def pct(self, p):
        if not self.lat:
            return float("nan")
        v = sorted(self.lat)
        return v[min(len(v) - 1, int(len(v) * p / 100))]


def case_concurrent(res, env):
    res.section(f"{N_CONCURRENT} domains at once (one registration each)")
    if not start(res, env, "concurrent"):
        return
    idle = DnsLoop(env.dns_port, env.zone)
    idle.start()
    time.sleep(2)
    idle.stop()
    accts = [env.register() for _ in range(N_CONCURRENT)]
    names = [f"c{i:02d}.example.test" for i in range(N_CONCURRENT)]
    # the CNAMEs first (one nsd reload), then the POSTs back to back
    env.add_cnames([{"name": f"_acme-challenge.{n}.",
                     "target": a["fulldomain"] + "."}
                    for n, a in zip(names, accts)])
    busy = DnsLoop(env.dns_port, env.zone)
    busy.start()
    t0 = time.monotonic()
    ids = []
    for n, a in zip(names, accts):
        try:
            ids.append((a, env.add_domain(a, [n])["id"]))
        except acmeenv.ApiError as e:
            res.check(False, f"POST /domains {n}", str(e))
    pending = list(ids)
    deadline = t0 + 120
    states = {}
    while pending and time.monotonic() < deadline:
        nxt = []
        for a, did in pending:
            d = env.get_domain(a, did) or {}
            states[did] = d.get("status")
            if d.get("status") == "invalid":
                res.check(False, f"domain {did} invalid", d.get("error"))
            elif d.get("status") != "valid":
                nxt.append((a, did))
        pending = nxt
        time.sleep(0.2)
    took = time.monotonic() - t0
    busy.stop()
    res.check(not pending and len(ids) == N_CONCURRENT,
              f"all {N_CONCURRENT} valid in {took:.1f} s (bound 120 s)",
              f"not valid: {[(d, states.get(d)) for _, d in pending]}")
    print(f"{N_CONCURRENT} concurrent domains: {took:.2f} s", flush=True)
    res.note(f"DNS idle: p50 {idle.pct(50) * 1e3:.2f} ms p99 "
             f"{idle.pct(99) * 1e3:.2f} ms ({len(idle.lat)} queries)")
    res.note(f"DNS during issuance: p50 {busy.pct(50) * 1e3:.2f} ms p99 "
             f"{busy.pct(99) * 1e3:.2f} ms ({len(busy.lat)} queries, "
             f"{busy.lost} lost)")
    total = len(busy.lat) + busy.lost
    res.check(total > 0 and busy.lost <= max(1, total // 100),
              f"DNS keeps answering during issuance ({busy.lost} of "
              f"{total} lost)")
    res.note(f"DNS worst answer during issuance: "
             f"{max(busy.lat or [0]) * 1e3:.2f} ms")
    # generous (sanitizer builds on a shared 2-core machine): catches a
    # loop blocked for long (synchronous network I/O), not fsync stalls
    res.check(busy.pct(99) < 0.200, f"DNS p99 during issuance "
              f"{busy.pct(99) * 1e3:.2f} ms < 200 ms")


# ------------------------------------------------------ 5 [api] tls = acme

def case_api_tls(res, env):
    res.section("[api] tls = acme")
    if not start(res, env, "tls = acme", acmedns_api={"tls": "acme"},
                 wait_api=False):
        return
    root, _ = env.pebble.save_chain(0)
    seen = {}

    def up():
        try:
            st, body, der = env.https_get("/health", root, env.zone,
                                          timeout=2)
        except Exception as e:  # noqa: BLE001 - retried
            seen["e"] = repr(e)
            return None
        seen["st"] = st
        return (st, der) if st == 200 else None
    t0 = time.monotonic()
    try:
        st, der = acmeenv.wait_for(up, ISSUE_TIMEOUT, 0.25,
                                   "HTTPS /health verified")
    except TimeoutError as e:
        res.check(False, "API on HTTPS with a certificate that verifies "
                  "against Pebble's root", f"{e}; last {seen}\n"
                  f"{env.acmedns.stderr()[-2000:]}")
        return
    res.check(True, f"GET https://{env.zone}:{env.api_port}/health -> 200, "
              f"verified against Pebble's root ({time.monotonic() - t0:.1f}"
              " s after start)")
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(
        base64.b64encode(der).decode()[i:i + 64]
        for i in range(0, len(base64.b64encode(der)), 64)) + \
        "\n-----END CERTIFICATE-----\n"
    path = write(os.path.join(env.dir, "api-cert.pem"), pem)
    res.check(env.zone in acmeenv.cert_sans(path),
              f"the API certificate names {env.zone}",
              repr(acmeenv.cert_sans(path)))
    # plain HTTP on the same port is not served
    try:
        st, _, _ = env.api("GET", "/health", timeout=2)
        res.check(st != 200, f"plain HTTP is not answered with 200 ({st})")
    except Exception:  # noqa: BLE001 - a closed connection is the answer
        res.check(True, "plain HTTP is not answered")


if __name__ == "__main__":
    main()
