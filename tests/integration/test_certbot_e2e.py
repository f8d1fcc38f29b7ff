# SPDX-License-Identifier: MIT
"""certbot end to end: acmedns as a drop-in acme-dns for certbot's DNS-01.

Pebble (test CA) -> unbound -> {nsd: example.test with the CNAMEs,
acmedns: auth.example.test with the TXT values}, everything on random
loopback ports in one temp dir (tests/integration/acmeenv.py).

1. POST /register twice: one acme-dns account per challenge name, as
   acme-dns clients do (acme-dns-certbot, lego, Traefik): example.test
   (its apex and *.example.test share _acme-challenge.example.test and need
   TWO TXT values at once: acme-dns's default 2 slots) and www.example.test.
   (One account for all three names cannot work with 2 slots, in acme-dns
   or here: three values would be needed at once.)
2. CNAMEs _acme-challenge.example.test. and _acme-challenge.www.example.test.
   -> the accounts' fulldomains in nsd.
3. Before certbot: POST /update and `dig` through unbound follows the CNAME
   to acmedns and returns the value (both values for the two-slot account).
4. certbot certonly --manual with shell hooks that curl POST /update,
   TLS to Pebble verified with REQUESTS_CA_BUNDLE, for example.test,
   *.example.test and www.example.test; its time is printed.
5. The certificate: openssl verify against Pebble's root + intermediate,
   its SANs, Pebble's status "Valid"; the hooks' calls; then certbot revoke
   and Pebble's status "Revoked"; acmedns exits 0 on SIGTERM, no sanitizer
   reports.
"""

import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acmeenv  # noqa: E402
from harness import Results, std_args, run, write  # noqa: E402

NAMES = ["example.test", "*.example.test", "www.example.test"]
TOOLS = ["pebble", "nsd", "unbound", "unbound-checkconf", "certbot", "dig",
         "curl", "openssl"]

HOOK = """\
#!/bin/sh
# certbot --manual-auth-hook: put $CERTBOT_VALIDATION into acmedns through
# its acme-dns compatible REST API (one account per challenge name).
set -u
D="${{CERTBOT_DOMAIN#\\*.}}"
case "$D" in
{cases}  *) echo "auth-hook: no acmedns account for $D" >&2; exit 1;;
esac
echo "auth $CERTBOT_DOMAIN $S $CERTBOT_VALIDATION" >> "{log}"
OUT=$(curl -sS --max-time 10 -o "{dir}/update.out" -w '%{{http_code}}' \\
  -X POST -H "X-Api-User: $U" -H "X-Api-Key: $K" \\
  --data "{{\\"subdomain\\":\\"$S\\",\\"txt\\":\\"$CERTBOT_VALIDATION\\"}}" \\
  "{api}/update") || {{ echo "auth-hook: curl failed" >&2; exit 1; }}
echo "  -> HTTP $OUT $(cat "{dir}/update.out")" >> "{log}"
[ "$OUT" = 200 ] || {{ echo "auth-hook: /update answered $OUT" >&2; exit 1; }}
exit 0
"""

CLEANUP_HOOK = """\
#!/bin/sh
# certbot --manual-cleanup-hook: acme-dns has no TXT removal; the next
# update replaces the oldest slot. Only record the call.
echo "cleanup $CERTBOT_DOMAIN $CERTBOT_VALIDATION" >> "{log}"
exit 0
"""


def value(i):
    """A distinct valid TXT value: 43 base64url characters."""
    return (f"e2e{i:02d}" + "Q" * 43)[:43]


def main():
    args = std_args(__doc__)
    res = Results("integ_certbot_e2e")
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


def body(res, env):
    res.section("environment: nsd, unbound, pebble, acmedns")
    try:
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True)
    except RuntimeError as e:
        res.check(False, "environment starts (API answers GET /health)",
                  str(e))
        print(env.logs(), flush=True)
        return
    res.check(True, "environment starts (API answers GET /health)")

    res.section("register + CNAMEs")
    accts = {}
    for base in ("example.test", "www.example.test"):
        try:
            a = env.register()
        except acmeenv.ApiError as e:
            res.check(False, f"POST /register for {base}", str(e))
            return
        ok = all(a.get(k) for k in ("username", "password", "fulldomain",
                                    "subdomain")) and \
            a["fulldomain"] == f"{a['subdomain']}.{env.zone}"
        res.check(ok, f"POST /register for {base}: 201, fulldomain "
                      f"{a.get('fulldomain')}", repr(a))
        if not ok:
            return
        accts[base] = a
        env.add_cname(f"_acme-challenge.{base}.", a["fulldomain"] + ".")
    res.check(len({a["subdomain"] for a in accts.values()}) == 2,
              "the two registrations have distinct subdomains")
    res.note(f"nsd reloads by SIGHUP; restarts needed: {env.nsd.restarts}")

    res.section("the chain: unbound -> nsd CNAME -> acmedns TXT")
    www = accts["www.example.test"]
    try:
        env.update(www, value(1))
    except acmeenv.ApiError as e:
        res.check(False, "POST /update (www account)", str(e))
        return
    ans, rc, text, cmd = env.dig("_acme-challenge.www.example.test", "TXT")
    cnames = [r[4] for r in ans.rrs(rtype="CNAME")]
    txts = ans.rdatas(rtype="TXT")
    res.check(rc == 0 and ans.status == "NOERROR" and
              cnames == [www["fulldomain"] + "."] and
              txts == [f'"{value(1)}"'],
              f"dig @127.0.0.1 -p {env.unbound.port} "
              "_acme-challenge.www.example.test TXT: CNAME to the fulldomain "
              "and the value from /update", text)
    apex = accts["example.test"]
    try:
        env.update(apex, value(2))
        env.update(apex, value(3))
    except acmeenv.ApiError as e:
        res.check(False, "POST /update x2 (example.test account)", str(e))
        return
    got = env.resolve_txt("_acme-challenge.example.test")
    res.eq(got, sorted([value(2), value(3)]),
           "_acme-challenge.example.test through unbound: both slots served")
    # a Pebble-style query (RD=1, no EDNS, UDP) sees the CNAME + TXT
    m = env.resolve("_acme-challenge.example.test", "TXT")
    res.check(m.rcode == 0 and [r.rtype for r in m.answer][:1] == [5],
              "Pebble-style UDP query: NOERROR, CNAME first", repr(m.answer))

    res.section("certbot certonly --manual (dns-01 via acmedns)")
    cb = os.path.join(env.dir, "certbot")
    os.makedirs(cb, exist_ok=True)
    hooklog = os.path.join(cb, "hooks.log")
    write(hooklog, "")
    cases = "".join(
        f"  {base}) U='{a['username']}'; K='{a['password']}'; "
        f"S='{a['subdomain']}';;\n" for base, a in accts.items())
    auth = write(os.path.join(cb, "auth-hook.sh"),
                 HOOK.format(cases=cases, log=hooklog, dir=cb,
                             api=env.api_url))
    os.chmod(auth, 0o700)
    cleanup = write(os.path.join(cb, "cleanup-hook.sh"),
                    CLEANUP_HOOK.format(log=hooklog))
    os.chmod(cleanup, 0o700)
    cmd = ["certbot", "certonly", "--non-interactive", "--agree-tos",
           "-m", "admin@example.test", "--no-eff-email",
           "--server", env.pebble.dir_url,
           "--config-dir", f"{cb}/etc", "--work-dir", f"{cb}/work",
           "--logs-dir", f"{cb}/log",
           "--manual", "--preferred-challenges", "dns",
           "--manual-auth-hook", auth, "--manual-cleanup-hook", cleanup,
           "--cert-name", "example.test"]
    for n in NAMES:
        cmd += ["-d", n]
    cenv = acmeenv.child_env({"REQUESTS_CA_BUNDLE": env.ca.ca_pem})
    t0 = time.monotonic()
    rc, out, err = run(cmd, timeout=180, env=cenv, cwd=cb)
    took = time.monotonic() - t0
    res.note(f"certbot took {took:.2f} s (rc {rc})")
    print(f"certbot time: {took:.2f} s", flush=True)
    hooks = open(hooklog).read()
    if not res.check(rc == 0, "certbot certonly exits 0",
                     f"rc {rc}\nstdout:\n{out[-3000:]}\nstderr:\n"
                     f"{err[-3000:]}\nhooks:\n{hooks}\ncertbot log:\n"
                     f"{acmeenv.tail(os.path.join(cb, 'log', 'letsencrypt.log'), 6000)}"
                     f"\n{env.logs()}"):
        return

    res.section("the certificate")
    live = os.path.join(cb, "etc", "live", "example.test")
    cert = os.path.join(live, "cert.pem")
    full = os.path.join(live, "fullchain.pem")
    chain = os.path.join(live, "chain.pem")
    ok, text = env.pebble.verify(cert)
    res.check(ok, "openssl verify -CAfile root -untrusted intermediate "
                  "cert.pem", text)
    ok, text = env.pebble.verify(full)
    res.check(ok, "openssl verify ... fullchain.pem", text)
    with open(chain) as f:
        chain_pem = f.read().strip()
    res.check(chain_pem == env.pebble.intermediate().strip(),
              "chain.pem is Pebble's intermediate")
    res.eq(acmeenv.cert_sans(cert), sorted(NAMES), "SANs of cert.pem")
    serial = acmeenv.cert_serial(cert)
    st = env.pebble.cert_status(serial)
    res.check(st is not None and st.get("Status") == "Valid",
              f"Pebble: serial {serial} is Valid", repr(st))

    res.section("hooks and acmedns state")
    auths = [ln.split() for ln in hooks.splitlines() if ln.startswith("auth ")]
    okres = [ln for ln in hooks.splitlines() if "-> HTTP 200" in ln]
    # certbot passes a wildcard's identifier without "*." (as ACME does)
    res.eq(sorted(a[1] for a in auths),
           sorted(n.replace("*.", "") for n in NAMES),
           "auth hook called once per name (CERTBOT_DOMAIN)")
    res.eq(len(okres), 3, "three POST /update answered 200")
    by_sub = {}
    for a in auths:
        by_sub.setdefault(a[2], []).append(a[3])
    res.eq(sorted(len(v) for v in by_sub.values()), [1, 2],
           "apex + wildcard values went to one account, www to the other")
    apex_vals = sorted(by_sub.get(apex["subdomain"], []))
    res.eq(env.resolve_txt("_acme-challenge.example.test"), apex_vals,
           "after certbot, the example.test account serves certbot's two "
           "values")
    res.eq(hooks.count("cleanup "), 3, "cleanup hook called once per name")
    env.acmedns.check_alive(res, "after certbot")

    res.section("certbot revoke")
    rc, out, err = run(["certbot", "revoke", "--non-interactive",
                        "--cert-path", cert, "--reason", "keycompromise",
                        "--no-delete-after-revoke",
                        "--server", env.pebble.dir_url,
                        "--config-dir", f"{cb}/etc", "--work-dir",
                        f"{cb}/work", "--logs-dir", f"{cb}/log"],
                       timeout=60, env=cenv, cwd=cb)
    res.check(rc == 0, "certbot revoke exits 0", f"rc {rc}\n{out}{err}")
    st = env.pebble.cert_status(serial)
    res.check(st is not None and st.get("Status") == "Revoked" and
              st.get("Reason") == 1,
              f"Pebble: serial {serial} is Revoked (keyCompromise)",
              repr(st))


if __name__ == "__main__":
    main()
