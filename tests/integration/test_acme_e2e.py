# SPDX-License-Identifier: MIT
"""The in-process ACME engine end to end, against a real CA (contract §4.2,
§5): Pebble 2.4.0 (PEBBLE_VA_NOSLEEP=1) -> unbound -> {nsd: the customer
zone example.test holding the CNAMEs, acmedns: auth.example.test}, all on
random loopback ports in one temp dir (tests/integration/acmeenv.py).

1. POST /register, then POST /domains {"names": ["example.test",
   "*.example.test", "www.example.test"], "tlsa": [{"port": 443, "proto":
   "tcp"}]} -> 202 with exactly the CNAMEs to create; they go into nsd and
   GET /domains/{id} is polled until "valid" (bounded).
2. The files under [certs] dir/<id>/: cert.pem, chain.pem, fullchain.pem
   (= cert + chain), key.pem 0600 matching the certificate, archive/; GET
   .../fullchain.pem etc. serve the same bytes; `openssl verify` against
   Pebble's root and intermediate; the SANs; the dates of GET.
3. TLSA 3 1 1 at _443._tcp.<subdomain>.<zone> on acmedns's DNS port equals
   sha256 of the certificate's SubjectPublicKeyInfo, and the customer's
   _443._tcp.www.example.test CNAME resolves to it through unbound.
4. The deploy hook ([certs] deploy_hook) ran with the domain's paths.
5. POST .../renew -> a new certificate (new serial), the previous one in
   archive/, TLSA follows the new key, the hook ran again.
6. POST .../revoke {"reason": 1} -> "revoked"; Pebble's management API
   says Revoked, reason 1.
7. DELETE -> GET 404, files and TLSA gone.
8. A missing CNAME -> "awaiting_delegation" with the CNAME named in
   "error"; creating it -> "valid" within the recheck interval.
9. kill -9 right after a 202, restart: the domain completes, the stored
   account URL is unchanged, Pebble saw no second account, one row.
10. kill -9 while the order URL is stored (an order in flight), restart:
    the order is resumed (Pebble sees no second order) and completes.
11. acmedns exits 0 on SIGTERM, no sanitizer reports.
"""

import json
import os
import shutil
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acmeenv  # noqa: E402
from harness import Results, std_args, run, write  # noqa: E402

NAMES = ["example.test", "*.example.test", "www.example.test"]
TOOLS = ["pebble", "nsd", "unbound", "unbound-checkconf", "dig", "openssl"]
ISSUE_TIMEOUT = 60.0

HOOK = """\
#!/bin/sh
# [certs] deploy_hook: record the environment acmedns gives the hook
n=$(ls "{out}" 2>/dev/null | wc -l)
env > "{out}/run-$n.env"
exit 0
"""


def main():
    args = std_args(__doc__)
    res = Results("integ_acme_e2e")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        res.check(False, "tools installed (scripts/packages.txt)",
                  f"missing: {missing}")
        res.finish()
    env = acmeenv.Env(acmedns_bin=args.acmedns)
    try:
        body(res, env)
    except Exception as e:  # noqa: BLE001 - report, then stop everything
        res.check(False, "no unexpected error", f"{type(e).__name__}: {e}")
        print(env.logs(), flush=True)
    finally:
        env.stop(res)
    res.finish()


def hook_runs(d):
    """The deploy hook's recorded environments, oldest first: [dict]."""
    out = []
    try:
        files = sorted(os.listdir(d), key=lambda f: int(f[4:-4]))
    except OSError:
        return out
    for f in files:
        e = {}
        with open(os.path.join(d, f)) as fh:
            for ln in fh:
                k, _, v = ln.rstrip("\n").partition("=")
                e[k] = v
        out.append(e)
    return out


def pem_of(path):
    with open(path) as f:
        return f.read()


def body(res, env):
    keys = acmeenv.acmedns_keys(env.acmedns_bin)
    acme = {}
    # a missing CNAME is looked up again every [acme] delegation_recheck
    # seconds (default 60; 5 is the smallest accepted)
    recheck = 60
    if "delegation_recheck" in keys.get("acme", ()):
        recheck = 5
        acme["delegation_recheck"] = recheck
    if "check_delegation" in keys.get("acme", ()):
        acme["check_delegation"] = "true"
    hookdir = os.path.join(env.dir, "hook-runs")
    os.makedirs(hookdir)
    hook = write(os.path.join(env.dir, "deploy-hook.sh"),
                 HOOK.format(out=hookdir))
    os.chmod(hook, 0o755)

    res.section("environment: nsd, unbound, pebble, acmedns with [acme]")
    try:
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
                  acmedns_acme=acme,
                  acmedns_extra=f"deploy_hook = {hook}\n")
    except RuntimeError as e:
        res.check(False, "environment starts (API answers GET /health)",
                  str(e))
        print(env.logs(), flush=True)
        return
    res.check(True, "environment starts (API answers GET /health)")
    res.note(f"[acme] extra keys: {acme or 'none known to this binary'}")

    acct = env.register()
    fd = acct["fulldomain"] + "."
    sub = acct["subdomain"]

    # ---------------------------------------------------------------- 1
    res.section("POST /domains (3 names + TLSA 443/tcp) -> 202, CNAMEs")
    st, j, text = env.domains_api(acct, "POST", "/domains", {
        "names": NAMES, "tlsa": [{"port": 443, "proto": "tcp"}]})
    if not res.check(st == 202 and isinstance(j, dict) and j.get("id"),
                     "POST /domains -> 202 with an id", f"{st} {text}"):
        return
    t_post = time.monotonic()
    did = j["id"]
    res.check(j.get("status") in ("awaiting_delegation", "pending"),
              f"initial status {j.get('status')!r} is awaiting_delegation "
              "or pending")
    want = {("_acme-challenge.example.test.", fd),
            ("_acme-challenge.www.example.test.", fd),
            ("_443._tcp.example.test.", f"_443._tcp.{fd}"),
            ("_443._tcp.www.example.test.", f"_443._tcp.{fd}")}
    got = {(c.get("name"), c.get("target")) for c in j.get("cnames", [])}
    res.eq(sorted(got), sorted(want), "cnames: challenge names (apex and "
           "wildcard share one) and TLSA names, to the registration")
    env.add_cnames(j.get("cnames", []))
    t_cn = time.monotonic()
    try:
        d = env.wait_domain(acct, did, ("valid",), ISSUE_TIMEOUT +
                            recheck)
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "GET /domains/{id} becomes valid", str(e))
        print(env.logs(), flush=True)
        return
    res.check(True, f"valid {time.monotonic() - t_cn:.2f} s after the "
              f"CNAMEs ({time.monotonic() - t_post:.2f} s after the POST)")
    res.eq(sorted(d.get("names", [])), sorted(NAMES), "GET: names")
    res.eq(d.get("id"), did, "GET: id")
    now = time.time()
    nb, na, ra = (parse_time(d.get(k)) for k in
                  ("not_before", "not_after", "renew_at"))
    res.check(None not in (nb, na, ra) and nb - 300 <= now <= na and
              nb < ra < na,
              "GET: not_before <= now <= not_after, renew_at inside",
              repr(d))
    res.check(d.get("error") in (None, ""), "GET: no error", repr(d))

    # ---------------------------------------------------------------- 2
    res.section("files under [certs] dir and GET .../*.pem")
    ddir = env.domain_dir(did, NAMES[0])
    if not res.check(ddir is not None, "[certs] dir/<id or first name>/ "
                     "exists", repr(os.listdir(env.certs_dir())
                                    if os.path.isdir(env.certs_dir())
                                    else None)):
        return
    files = {n: os.path.join(ddir, n) for n in
             ("cert.pem", "chain.pem", "fullchain.pem", "key.pem")}
    for n, p in files.items():
        res.check(os.path.isfile(p), f"{n} exists")
    kmode = stat.S_IMODE(os.stat(files["key.pem"]).st_mode)
    res.check(kmode == 0o600, f"key.pem is 0600 ({oct(kmode)})")
    arch = os.path.join(ddir, "archive")
    res.check(os.path.isdir(arch) and len(os.listdir(arch)) >= 1,
              "archive/ holds the current version")
    cert, chain, full = (pem_of(files[n]) for n in
                         ("cert.pem", "chain.pem", "fullchain.pem"))
    res.eq(acmeenv.pem_certs(full), acmeenv.pem_certs(cert) +
           acmeenv.pem_certs(chain), "fullchain.pem = cert.pem + chain.pem")
    res.eq(len(acmeenv.pem_certs(cert)), 1, "cert.pem holds one certificate")
    for n in ("fullchain.pem", "cert.pem", "chain.pem", "key.pem"):
        st, _, text = env.domains_api(acct, "GET", f"/domains/{did}/{n}")
        res.check(st == 200 and text == pem_of(files[n]),
                  f"GET /domains/{{id}}/{n} -> 200, the file's bytes",
                  f"{st} {text[:200]!r}")
    other = env.register()
    st, _, _ = env.domains_api(other, "GET", f"/domains/{did}/key.pem")
    res.check(st in (401, 403, 404), f"another registration: GET key.pem "
              f"-> {st} (not served)")
    ok, text = env.pebble.verify(files["cert.pem"])
    res.check(ok, "openssl verify -CAfile <pebble root> -untrusted "
              "<pebble intermediate> cert.pem", text)
    ok, text = env.pebble.verify(files["fullchain.pem"],
                                 untrusted=files["chain.pem"])
    res.check(ok, "openssl verify fullchain.pem with chain.pem untrusted",
              text)
    res.eq(acmeenv.cert_sans(files["cert.pem"]), sorted(NAMES),
           "subjectAltName: the three names")
    try:
        kh = key_spki_sha256(files["key.pem"])
        res.eq(kh, acmeenv.spki_sha256(files["cert.pem"]),
               "key.pem is the certificate's key")
    except RuntimeError as e:
        res.check(False, "key.pem parses", str(e))
    res.eq((nb, na), (cert_time(files["cert.pem"], "-startdate"),
                      cert_time(files["cert.pem"], "-enddate")),
           "GET: not_before / not_after are the certificate's")
    serial1 = acmeenv.cert_serial(files["cert.pem"])
    stp = env.pebble.cert_status(serial1)
    res.check(stp is not None and stp.get("Status") == "Valid",
              f"Pebble: serial {serial1} Valid", repr(stp))

    # ---------------------------------------------------------------- 3
    res.section("TLSA 3 1 1 for _443._tcp")
    tlsa_name = f"_443._tcp.{sub}.{env.zone}"

    def tlsa_hashes(name, server="acmedns"):
        if server == "acmedns":
            lines = env.acmedns_dig(name, "TLSA")
        else:
            rc, out, _ = run(["dig", "+short", "+time=2", "@127.0.0.1", "-p",
                              str(env.unbound.port), name, "TLSA"],
                             timeout=10)
            lines = [ln for ln in out.splitlines() if ln.strip()]
        hs = []
        for ln in lines:
            p = ln.split()
            if len(p) >= 4 and p[:3] == ["3", "1", "1"]:
                hs.append("".join(p[3:]).lower())
        return hs, lines

    spki1 = acmeenv.spki_sha256(files["cert.pem"])
    hs, lines = tlsa_hashes(tlsa_name)
    res.check(spki1 in hs, f"dig @acmedns {tlsa_name} TLSA: 3 1 1 "
              "sha256(SPKI of cert.pem)", f"got {lines}, want {spki1}")
    hs, lines = tlsa_hashes("_443._tcp.www.example.test", "unbound")
    res.check(spki1 in hs, "through unbound: _443._tcp.www.example.test "
              "CNAME -> the same TLSA", repr(lines))

    # ---------------------------------------------------------------- 4
    res.section("deploy hook")
    try:
        runs = acmeenv.wait_for(lambda: hook_runs(hookdir), 10, 0.1,
                                "deploy hook ran")
    except TimeoutError:
        runs = []
    res.check(len(runs) >= 1, f"deploy hook ran ({len(runs)} run(s))")
    if runs:
        vals = " ".join(runs[0].values())
        res.check(ddir in vals or os.path.realpath(ddir) in vals,
                  "the hook's environment names the domain's directory",
                  repr({k: v for k, v in runs[0].items()
                        if k.startswith("ACMEDNS")}))
    nruns = len(runs)

    # ---------------------------------------------------------------- 5
    res.section("renew")
    st, _, text = env.domains_api(acct, "POST", f"/domains/{did}/renew")
    res.check(200 <= st < 300, f"POST /domains/{{id}}/renew -> {st}", text)
    t0 = time.monotonic()
    try:
        env.wait_domain(acct, did, ("valid",), ISSUE_TIMEOUT,
                        pred=lambda _j: acmeenv.cert_serial(
                            files["cert.pem"]) != serial1)
        res.check(True, f"renewed: valid with a new serial in "
                  f"{time.monotonic() - t0:.2f} s")
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "renewed: new serial in cert.pem", str(e))
        return
    serial2 = acmeenv.cert_serial(files["cert.pem"])
    res.check(serial2 != serial1, f"new serial {serial2} != {serial1}")
    versions = sorted(os.listdir(arch))
    res.check(len(versions) >= 2, f"archive/ keeps the previous version "
              f"({versions})")
    old = [v for v in versions
           if os.path.isfile(os.path.join(arch, v, "cert.pem")) and
           acmeenv.cert_serial(os.path.join(arch, v, "cert.pem")) == serial1]
    res.check(bool(old), "archive/<version>/cert.pem has the old serial",
              repr(versions))
    ok, text = env.pebble.verify(files["cert.pem"])
    res.check(ok, "renewed cert.pem verifies", text)
    spki2 = acmeenv.spki_sha256(files["cert.pem"])
    hs, lines = tlsa_hashes(tlsa_name)
    res.check(spki2 in hs, "TLSA has the renewed certificate's key",
              repr(lines))
    try:
        runs = acmeenv.wait_for(
            lambda: (lambda r: r if len(r) > nruns else None)(
                hook_runs(hookdir)), 10, 0.1, "hook ran again")
        res.check(True, f"deploy hook ran again ({len(runs)} runs)")
    except TimeoutError:
        res.check(False, "deploy hook ran again after the renewal")

    # ---------------------------------------------------------------- 6
    res.section("revoke")
    st, _, text = env.domains_api(acct, "POST", f"/domains/{did}/revoke",
                                  {"reason": 1})
    res.check(200 <= st < 300, f"POST /domains/{{id}}/revoke "
              f"{{\"reason\": 1}} -> {st}", text)
    try:
        env.wait_domain(acct, did, ("revoked",), 30)
        res.check(True, "status revoked")
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "status revoked", str(e))
    stp = env.pebble.cert_status(serial2)
    res.check(stp is not None and stp.get("Status") == "Revoked" and
              stp.get("Reason") == 1,
              f"Pebble /cert-status-by-serial/{serial2}: Revoked, reason 1",
              repr(stp))

    # ---------------------------------------------------------------- 7
    res.section("delete")
    st, _, text = env.domains_api(acct, "DELETE", f"/domains/{did}")
    res.check(200 <= st < 300, f"DELETE /domains/{{id}} -> {st}", text)
    st, j, text = env.domains_api(acct, "GET", f"/domains/{did}")
    res.check(st == 404 and isinstance(j, dict) and j.get("error"),
              f"GET after DELETE -> 404 with a JSON error ({st})", text)
    try:
        acmeenv.wait_for(lambda: not os.path.exists(ddir), 10, 0.1,
                         "files removed")
        res.check(True, "the domain's directory is removed")
    except TimeoutError:
        res.check(False, "the domain's directory is removed",
                  repr(os.listdir(ddir)))
    hs, lines = tlsa_hashes(tlsa_name)
    res.check(not hs, "TLSA gone after DELETE", repr(lines))

    # ---------------------------------------------------------------- 8
    res.section(f"missing CNAME -> awaiting_delegation (recheck {recheck} s)")
    mname = "missing.example.test"
    try:
        j = env.add_domain(acct, [mname])
    except acmeenv.ApiError as e:
        res.check(False, "POST /domains missing.example.test -> 202", str(e))
        return
    mid = j["id"]
    try:
        d = env.wait_domain(acct, mid, ("awaiting_delegation",), 20,
                            pred=lambda x: bool(x.get("error")))
        res.check(True, "status awaiting_delegation")
        res.check(f"_acme-challenge.{mname}" in (d.get("error") or ""),
                  "error names the missing CNAME", repr(d.get("error")))
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "status awaiting_delegation with an error", str(e))
    env.add_cnames(j.get("cnames", []))
    t0 = time.monotonic()
    try:
        env.wait_domain(acct, mid, ("valid",), recheck + ISSUE_TIMEOUT)
        took = time.monotonic() - t0
        res.check(took <= recheck + 30, f"CNAME added -> valid in "
                  f"{took:.1f} s (recheck {recheck} s)")
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "CNAME added -> valid", str(e))

    # ---------------------------------------------------------------- 9
    res.section("kill -9 right after POST /domains, restart")
    acc1 = env.stored_account() or {}
    res.check(bool(acc1.get("url")), "the store holds the account URL",
              repr({k: v for k, v in acc1.items() if k != "key_pem"}))
    naccts = pebble_accounts(env)
    cname = "crash.example.test"
    env.add_cname(f"_acme-challenge.{cname}.", fd)
    try:
        j = env.add_domain(acct, [cname])
    except acmeenv.ApiError as e:
        res.check(False, "POST /domains crash.example.test -> 202", str(e))
        return
    env.kill_acmedns()
    res.note(f"killed acmedns {env.acmedns.pid} after the 202")
    env.restart_acmedns()
    try:
        env.wait_domain(acct, j["id"], ("valid",), ISSUE_TIMEOUT)
        res.check(True, "after the restart the domain becomes valid")
    except (TimeoutError, RuntimeError) as e:
        res.check(False, "after the restart the domain becomes valid",
                  str(e))
    acc2 = env.stored_account() or {}
    res.eq(acc2.get("url"), acc1.get("url"),
           "the stored account URL is unchanged")
    if naccts is not None:
        res.eq(pebble_accounts(env), naccts,
               "Pebble created no second account")
    rows = [r for r in env.store_rows("acme_domains")
            if cname in str(r.get("json", r))]
    res.eq(len(rows), 1, "one stored row for crash.example.test")
    cdir = env.domain_dir(j["id"], cname)
    res.check(cdir is not None and
              env.pebble.verify(os.path.join(cdir, "cert.pem"))[0],
              "its cert.pem verifies")

    # ---------------------------------------------------------------- 10
    res.section("kill -9 with an order in flight, restart: resumed")
    oname = "inflight.example.test"
    env.add_cname(f"_acme-challenge.{oname}.", fd)
    orders0 = pebble_orders(env)
    try:
        j = env.add_domain(acct, [oname])
    except acmeenv.ApiError as e:
        res.check(False, f"POST /domains {oname} -> 202", str(e))
        return

    def order_url():
        for r in env.store_rows("acme_domains"):
            if r.get("id") == j["id"]:
                dj = json.loads(r.get("json") or "{}")
                if dj.get("order_url"):
                    return dj["order_url"]
                if dj.get("cert_pem"):
                    raise RuntimeError("already issued")
        return None
    try:
        url = acmeenv.wait_for(order_url, 20, 0.01, "order_url stored")
    except (TimeoutError, RuntimeError) as e:
        url = None
        res.note(f"no order in flight caught ({e}): resume not tested")
    if url:
        env.kill_acmedns()
        res.note(f"killed acmedns with {url} stored")
        env.restart_acmedns()
        try:
            env.wait_domain(acct, j["id"], ("valid",), ISSUE_TIMEOUT)
            res.check(True, "after the restart the domain becomes valid")
        except (TimeoutError, RuntimeError) as e:
            res.check(False, "after the restart the domain becomes valid",
                      str(e))
        if orders0 is not None:
            n = pebble_orders(env) - orders0
            lines = [ln for ln in env.acmedns.stderr().splitlines()
                     if j["id"] in ln]
            # Killing the DNS server while Pebble validates can make the
            # validation itself fail: then the resumed order is invalid
            # and exactly one new order is the right outcome.
            lost = any("is gone (invalid)" in ln for ln in lines)
            res.check(n == 1 or (n == 2 and lost),
                      f"Pebble saw {n} order(s) for it (resumed; a second "
                      f"only if the first failed validation)",
                      "\n".join(lines[-12:]))
            if n == 2:
                res.note("the first order failed validation while acmedns "
                         "was down; a new order was made")
    # ---------------------------------------------------------------- 11
    res.section("files lost (crash between commit and write): restored")
    if cdir:
        serial = acmeenv.cert_serial(os.path.join(cdir, "cert.pem"))
        import shutil
        shutil.rmtree(cdir)
        env.restart_acmedns()
        rdir = env.domain_dir(j0 := os.path.basename(cdir), cname)
        res.check(rdir is not None and
                  os.path.exists(os.path.join(rdir, "cert.pem")),
                  "after a restart the files are back", str(rdir))
        if rdir:
            res.eq(acmeenv.cert_serial(os.path.join(rdir, "cert.pem")),
                   serial, "the same certificate (from the store)")
            res.check(env.pebble.verify(os.path.join(rdir, "cert.pem"))[0],
                      "restored cert.pem verifies")
        res.note(f"restored {j0}")
    env.acmedns.check_alive(res, "at the end")


def parse_time(v):
    """A GET /domains time: RFC 3339 UTC text ("2026-12-01T19:11:38Z") or
    unix seconds -> unix seconds (None if neither)."""
    import calendar
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    if isinstance(v, str):
        try:
            return calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return None
    return None


def cert_time(path, opt):
    """openssl x509 -startdate/-enddate as unix seconds."""
    import calendar
    v = acmeenv.cert_field(path, opt)  # "Dec  1 19:11:38 2026 GMT"
    return calendar.timegm(time.strptime(" ".join(v.split()),
                                         "%b %d %H:%M:%S %Y %Z"))


def key_spki_sha256(key_path):
    import hashlib
    import subprocess
    p = subprocess.run(["openssl", "pkey", "-in", key_path, "-pubout",
                        "-outform", "DER"], capture_output=True, timeout=10)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode())
    return hashlib.sha256(p.stdout).hexdigest()


def pebble_orders(env):
    """Pebble logs "There are now N orders in the db" on every new order:
    the last N (0 if none yet)."""
    n = 0
    with open(env.pebble.log) as f:
        for ln in f:
            if "orders in the db" in ln:
                n = int([w for w in ln.split() if w.isdigit()][-1])
    return n


def pebble_accounts(env):
    """Pebble logs "There are now N accounts in memory" on every new
    account: the last N, or None if it never logged it."""
    n = None
    try:
        with open(env.pebble.log) as f:
            for ln in f:
                if "accounts in memory" in ln:
                    for w in ln.split():
                        if w.isdigit():
                            n = int(w)
    except OSError:
        pass
    return n


if __name__ == "__main__":
    main()
