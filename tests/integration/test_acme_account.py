#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: the ACME account operations of the local admin
(`acmedns account show|key-change|contact|deactivate`), account-level
errors made visible (GET /domains/{id}, `domains show`, /metrics), and a
registration made by `acmedns domains add` picked up by a running daemon,
against the real Pebble (tests/integration/acmeenv.py: Pebble -> unbound ->
{nsd: example.test, acmedns: auth.example.test}, loopback, random ports).

1. Issue one domain; `account show` (text and --json) names the account
   URL the store holds, its key type and RFC 7638 thumbprint, the contact,
   and never a private key; usage errors exit 2.
2. `account contact` -> the CA accepts it, show and the log say so.
3. `account key-change --key-type ec384` -> within seconds the stored key
   differs (same account URL), show prints the new thumbprint, the daemon
   logs the change; POST /domains/{id}/renew still issues (signed by the
   new key: Pebble refuses the old one).
4. `domains add` without --user on the running daemon: the printed
   credentials work on /update within the 2 s poll (no restart).
5. A restart keeps the new key and the same account URL (no second
   account), and a renewal after it works.
6. /metrics acmedns_acme_account_ready 1; `account deactivate --yes` ->
   status deactivated, renew answers 409 account_deactivated, a domain
   that is not valid shows "account: ..." in GET and `domains show`,
   `domains renew` exits 1, the gauge is 0, /health stays 200.
7. A fresh daemon with a wrong EAB key (Pebble with
   externalAccountBindingRequired): GET /domains/{id} "error" names the
   account problem, `domains show` and `account show` too.
Every acmedns exits 0 on SIGTERM and never logs a private key.
"""

import base64
import json
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import acmeenv  # noqa: E402
from acmeenv import wait_for  # noqa: E402
from harness import Results, run, std_args  # noqa: E402

TOOLS = ["pebble", "nsd", "unbound", "unbound-checkconf", "openssl", "dig"]
ISSUE_TIMEOUT = 90.0
THUMB_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def cli(env, group, op, *args, timeout=30):
    return run([env.acmedns_bin, group, op, "-c", env.acmedns_conf, *args],
               timeout=timeout)


def kv(out):
    d = {}
    for ln in out.splitlines():
        if ": " in ln:
            k, v = ln.split(": ", 1)
            d.setdefault(k.strip(), v.strip())
    return d


def show_json(env):
    rc, out, err = cli(env, "account", "show", "--json")
    try:
        return rc, json.loads(out), out + err
    except ValueError:
        return rc, None, out + err


def metric(env, name):
    st, _, text = env.api("GET", "/metrics")
    for ln in text.splitlines():
        if ln.startswith(name + " "):
            return ln.split()[1]
    return None


def no_secret(res, text, what):
    res.check("PRIVATE KEY" not in text and "key_pem" not in text,
              f"{what}: no private key printed", text[-400:])


def issue(res, env, acct, name):
    env.add_cnames([{"name": f"_acme-challenge.{name}.",
                     "target": acct["fulldomain"] + "."}])
    try:
        j = env.add_domain(acct, [name])
        d = env.wait_domain(acct, j["id"], ("valid",), ISSUE_TIMEOUT)
        res.check(True, f"{name} issued")
        return d
    except (acmeenv.ApiError, TimeoutError, RuntimeError) as e:
        res.check(False, f"{name} issued", f"{e}\n{env.logs()}")
        return None


def renew(res, env, acct, d, what):
    """POST renew and wait for a new certificate (not_before moves)."""
    st, j, text = env.domains_api(acct, "POST", f"/domains/{d['id']}/renew")
    res.eq(st, 202, f"{what}: POST renew -> 202 ({text[:200]})")
    try:
        n = env.wait_domain(acct, d["id"], ("valid",), ISSUE_TIMEOUT,
                            pred=lambda x: x.get("not_before") !=
                            d.get("not_before"))
        res.check(True, f"{what}: a new certificate is issued")
        return n
    except (TimeoutError, RuntimeError) as e:
        res.check(False, f"{what}: a new certificate is issued",
                  f"{e}\n{env.logs()}")
        return d


def s_show(res, env):
    res.section("account show")
    stored = env.stored_account() or {}
    rc, out, err = cli(env, "account", "show")
    res.eq(rc, 0, f"account show exits 0 ({err.strip()})")
    f = kv(out)
    res.check(stored.get("url") and f.get("url") == stored.get("url"),
              "show: the stored account URL", out)
    res.eq(f.get("status"), "valid", "show: status valid")
    res.eq(f.get("directory"), env.pebble.dir_url, "show: the directory")
    res.eq(f.get("key_type"), "ec256", "show: key type (default ec256)")
    res.check(THUMB_RE.match(f.get("key_thumbprint", "")),
              "show: a JWK thumbprint (RFC 7638, 43 base64url)", out)
    res.eq(f.get("contact"), "admin@example.test", "show: the contact")
    res.eq(f.get("error"), "-", "show: no account error")
    no_secret(res, out + err, "account show")
    rc, j, text = show_json(env)
    res.check(rc == 0 and isinstance(j, dict) and
              j.get("url") == stored.get("url") and
              j.get("key_thumbprint") == f.get("key_thumbprint") and
              j.get("error") is None,
              "show --json: the same account", text[-500:])
    no_secret(res, text, "account show --json")

    res.section("account: usage errors exit 2, nothing queued")
    before = len(env.store_rows("acme_requests"))
    for args, what in (((), "no operation"),
                       (("bogus",), "unknown operation"),
                       (("deactivate",), "deactivate without --yes"),
                       (("key-change", "--key-type", "rsa1024"),
                        "an unknown key type"),
                       (("key-change", "--json"), "--json on key-change"),
                       (("contact",), "contact without EMAIL"),
                       (("contact", "a b@example.test"),
                        "an email with a space"),
                       (("contact", "x@a.test,y@b.test"), "two emails"),
                       (("show", "extra"), "an operand to show")):
        a = [env.acmedns_bin, "account"]
        if args:
            a += [args[0], "-c", env.acmedns_conf, *args[1:]]
        rc, out, err = run(a, timeout=15)
        res.check(rc == 2 and err.strip(), f"{what}: exit 2 + message",
                  f"rc={rc} {err[-300:]!r}")
    res.eq(len(env.store_rows("acme_requests")), before,
           "usage errors queue nothing")
    rc, out, _ = run([env.acmedns_bin, "--help"], timeout=10)
    res.check(rc == 0 and "account key-change" in out and
              "account deactivate" in out and "account show" in out and
              "account contact" in out, "--help lists the account "
              "operations")
    return f.get("key_thumbprint"), stored


def s_contact(res, env):
    res.section("account contact")
    rc, out, err = cli(env, "account", "contact", "ops@example.test")
    res.eq(rc, 0, f"contact queued, exit 0 ({err.strip()})")
    try:
        wait_for(lambda: kv(cli(env, "account", "show")[1]).get("contact")
                 == "ops@example.test", 15, 0.3, "contact stored")
        res.check(True, "the CA accepted the contact; show names it")
    except TimeoutError as e:
        res.check(False, "the CA accepted the contact; show names it",
                  f"{e}\n{env.logs()}")
    res.check("account contact set to ops@example.test"
              in env.acmedns.stderr(), "the daemon logged the contact")


def s_key_change(res, env, acct, d, old_thumb, old_stored):
    res.section("account key-change")
    rc, out, err = cli(env, "account", "key-change", "--key-type", "ec384")
    res.eq(rc, 0, f"key-change queued, exit 0 ({err.strip()})")
    seen = {}

    def changed():
        s = env.stored_account() or {}
        seen["s"] = s
        return s.get("key_pem") and s["key_pem"] != old_stored.get(
            "key_pem")
    try:
        wait_for(changed, 20, 0.2, "a new stored account key")
        res.check(True, "the stored account key changed within seconds")
    except TimeoutError as e:
        res.check(False, "the stored account key changed within seconds",
                  f"{e}\n{env.logs()}")
        return None
    new = seen["s"]
    res.eq(new.get("url"), old_stored.get("url"),
           "the same account URL after the rollover")
    f = kv(cli(env, "account", "show")[1])
    res.check(f.get("key_thumbprint") and
              f.get("key_thumbprint") != old_thumb,
              "show prints a new key thumbprint",
              f"{old_thumb} -> {f.get('key_thumbprint')}")
    res.eq(f.get("key_type"), "ec384", "show: the new key type")
    log = env.acmedns.stderr()
    res.check(re.search(r"account key changed \(key thumbprint "
                        + re.escape(old_thumb) + r" -> "
                        + re.escape(f.get("key_thumbprint", "?")), log),
              "the daemon logged the change with both thumbprints",
              log[-1500:])
    renew(res, env, acct, d, "after the key change")
    return new


def s_register(res, env):
    res.section("domains add without --user: picked up at once")
    rc, out, err = run([env.acmedns_bin, "domains", "add", "-c",
                        env.acmedns_conf, "pickup.example.test"],
                       timeout=30)
    res.eq(rc, 0, f"domains add exits 0 ({err.strip()})")
    f = kv(out)
    user, pw, sub = f.get("username"), f.get("password"), f.get("subdomain")
    did = f.get("id")
    if not (user and pw and sub):
        res.check(False, "domains add printed credentials", out)
        return None
    acct = {"username": user, "password": pw, "subdomain": sub,
            "fulldomain": f.get("fulldomain")}
    t0 = time.monotonic()
    ok = False
    while time.monotonic() - t0 < 6.0:
        try:
            env.update(acct, "P" * 43)
            ok = True
            break
        except acmeenv.ApiError:
            time.sleep(0.1)
    res.check(ok, "the printed credentials work on /update without a "
              f"restart (after {time.monotonic() - t0:.1f} s)",
              env.acmedns.stderr()[-1500:])
    if ok:
        res.check(time.monotonic() - t0 < 4.5,
                  "within the 2 s poll (+ margin)")
        vals = env.acmedns_dig(f"{sub}.{env.zone}", "TXT")
        res.check(any("P" * 43 in v for v in vals),
                  "and DNS serves the value", vals)
    res.check(f"registration {user} (subdomain {sub}) loaded" in
              env.acmedns.stderr(), "the daemon logged the pickup")
    acct["id"] = did
    return acct


def s_restart(res, env, acct, d, after_kc):
    res.section("restart after the key change")
    log_before = env.acmedns.stderr()
    env.restart_acmedns(res)
    time.sleep(1.0)
    s = env.stored_account() or {}
    res.eq(s.get("url"), after_kc.get("url"), "the same account URL")
    res.check(s.get("key_pem") == after_kc.get("key_pem"),
              "the new key is kept")
    log = env.acmedns.stderr()
    res.check(" created" not in "\n".join(
        ln for ln in log.splitlines() if "account" in ln and "acme" in ln)
        and "account key stored" not in log,
        "no second account (no newAccount, no new key)", log[-1500:])
    res.check(log != log_before, "a new daemon runs")
    return renew(res, env, acct, d, "after the restart")


def s_deactivate(res, env, acct, d, pickup):
    res.section("account deactivate")
    res.eq(metric(env, "acmedns_acme_account_ready"), "1",
           "/metrics acmedns_acme_account_ready 1 before")
    rc, out, err = cli(env, "account", "deactivate", "--yes")
    res.eq(rc, 0, f"deactivate queued, exit 0 ({err.strip()})")
    try:
        wait_for(lambda: (env.stored_account() or {}).get("status") ==
                 "deactivated", 15, 0.2, "deactivated")
        res.check(True, "the stored account is deactivated")
    except TimeoutError as e:
        res.check(False, "the stored account is deactivated",
                  f"{e}\n{env.logs()}")
        return
    f = kv(cli(env, "account", "show")[1])
    res.eq(f.get("status"), "deactivated", "show: status deactivated")
    res.check("deactivated" in f.get("error", ""),
              "show: the error says deactivated", repr(f.get("error")))
    res.check("deactivated; no certificate can be ordered"
              in env.acmedns.stderr(), "the daemon logged it")
    st, j, text = env.domains_api(acct, "POST", f"/domains/{d['id']}/renew")
    res.check(st == 409 and j and j.get("error") == "account_deactivated"
              and "deactivated" in (j.get("detail") or ""),
              "renew -> 409 account_deactivated with a clear detail",
              f"{st} {text[:300]}")
    st, j, text = env.domains_api(acct, "POST", "/domains",
                                  {"names": ["late.example.test"]})
    res.check(st == 409 and j and j.get("error") == "account_deactivated",
              "POST /domains -> 409 account_deactivated",
              f"{st} {text[:300]}")
    if pickup and pickup.get("id"):
        g = env.get_domain(pickup, pickup["id"]) or {}
        res.check(g.get("status") != "valid" and
                  (g.get("error") or "").startswith("account: ") and
                  "deactivated" in g.get("error", ""),
                  "GET of a domain that is not valid: error "
                  "\"account: ...deactivated\"", repr(g))
        rc, out, err = cli(env, "domains", "show", pickup["id"])
        res.check(rc == 0 and kv(out).get("error", "").startswith(
            "account: "), "domains show: the account error",
            out[-600:] + err)
    rc, out, err = cli(env, "domains", "renew", d["id"])
    res.check(rc == 1 and "deactivated" in err,
              "domains renew exits 1: the account is deactivated",
              f"rc={rc} {err!r}")
    rc, out, err = cli(env, "account", "key-change")
    res.check(rc == 1 and "deactivated" in err,
              "account key-change exits 1 once deactivated",
              f"rc={rc} {err!r}")
    res.eq(metric(env, "acmedns_acme_account_ready"), "0",
           "/metrics acmedns_acme_account_ready 0 after")
    res.eq(env.api("GET", "/health")[0], 200, "/health stays 200")


def s_eab(res, args):
    res.section("a wrong EAB key: the account error is shown")
    env = acmeenv.Env(acmedns_bin=args.acmedns)
    kid = "kid-acmedns-account"
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    wrong = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    try:
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
                  eab_keys={kid: key},
                  acmedns_acme={"eab_kid": kid, "eab_hmac_key": wrong,
                                "delegation_recheck": 5})
    except Exception as e:  # noqa: BLE001 - reported with the logs
        res.check(False, "EAB environment starts", f"{e}\n{env.logs()}")
        env.stop()
        return
    try:
        acct = env.register()
        env.add_cnames([{"name": "_acme-challenge.eab.example.test.",
                         "target": acct["fulldomain"] + "."}])
        j = env.add_domain(acct, ["eab.example.test"])
        seen = {}

        def shown():
            g = env.get_domain(acct, j["id"]) or {}
            seen["g"] = g
            if g.get("status") == "valid":
                raise RuntimeError("issued with a wrong EAB key")
            e = (g.get("error") or "")
            return e.startswith("account: ") and any(
                w in e.lower() for w in ("externalaccount", "eab",
                                         "binding", "unauthorized",
                                         "newaccount"))
        try:
            wait_for(shown, 30, 0.2, "the account error in GET")
            res.check(True, "GET /domains/{id} error names the account "
                      f"problem: {seen['g'].get('error')!r}")
        except (TimeoutError, RuntimeError) as e:
            res.check(False, "GET /domains/{id} error names the account "
                      "problem", f"{e} {seen.get('g')!r}\n{env.logs()}")
        res.eq(metric(env, "acmedns_acme_account_ready"), "0",
               "/metrics acmedns_acme_account_ready 0")
        res.eq(env.api("GET", "/health")[0], 200, "/health stays 200")
        rc, out, err = cli(env, "domains", "show", j["id"])
        res.check(rc == 0 and kv(out).get("error", "").startswith(
            "account: "), "domains show: the account error",
            out[-600:] + err)
        rc, out, err = cli(env, "account", "show")
        f = kv(out)
        res.check(rc == 0 and f.get("error", "-") != "-" and
                  f.get("url", "").startswith("-"),
                  "account show: not registered, with the error",
                  out + err)
        no_secret(res, out + err, "account show (EAB)")
        rc, out, err = cli(env, "account", "key-change")
        res.check(rc == 1 and "not registered" in err,
                  "account key-change exits 1: not registered yet",
                  f"rc={rc} {err!r}")
    except Exception as e:  # noqa: BLE001 - a crash is a failure
        import traceback
        res.check(False, "EAB case ran to the end",
                  f"{traceback.format_exc()}\n{env.logs()}")
    err = env.acmedns.stderr() if env.acmedns else ""
    res.check("PRIVATE KEY" not in err, "EAB: no private key logged")
    env.stop(res)


def main():
    args = std_args(__doc__)
    args.acmedns = os.path.abspath(args.acmedns)
    res = Results("integ_acme_account")
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        res.check(False, "tools installed (scripts/packages.txt)",
                  f"missing: {missing}")
        res.finish()
    env = acmeenv.Env(acmedns_bin=args.acmedns)
    try:
        env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
                  acmedns_acme={"delegation_recheck": 5})
    except Exception as e:  # noqa: BLE001 - reported, then the logs
        res.check(False, "environment starts", f"{e}\n{env.logs()}")
        env.stop()
        res.finish()
    try:
        acct = env.register()
        d = issue(res, env, acct, "acct.example.test")
        if d:
            thumb, stored = s_show(res, env)
            s_contact(res, env)
            after = s_key_change(res, env, acct, d, thumb, stored)
            d = env.get_domain(acct, d["id"]) or d
            pickup = s_register(res, env)
            if after:
                d = s_restart(res, env, acct, d, after)
            s_deactivate(res, env, acct, d, pickup)
    except Exception as e:  # noqa: BLE001 - a crash is a failure
        import traceback
        res.check(False, "test ran to the end",
                  f"{traceback.format_exc()}\n{env.logs()}")
    err = env.acmedns.stderr() if env.acmedns else ""
    res.check("PRIVATE KEY" not in err and "BEGIN EC" not in err,
              "no private key on acmedns's stderr")
    env.stop(res)
    s_eab(res, args)
    res.finish()


if __name__ == "__main__":
    main()
