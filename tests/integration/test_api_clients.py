#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: the real acme-dns clients' requests, byte for byte,
end to end to a DNS TXT answer. Each client's request shape (method, header
names and order, Content-Type or none, body bytes) is taken from its source:

- old goacmedns (cpu/goacmedns <= v0.1, lego <= v4.20, cert-manager, Traefik):
  register body empty or {"AllowFrom":[...]}, update {"SubDomain","Txt"},
  Go net/http headers, keep-alive;
- new goacmedns (nrdcg/goacmedns, newer lego): register body "null\\n"
  (json.Encoder of a nil *Register) or {"allowfrom":[...]}\\n, update
  {"subdomain","txt"}\\n, Accept: application/json;
- certbot hook joohoi/acme-dns-certbot-joohoi (python requests): register
  with no body, or data=json.dumps(...) and NO Content-Type; update with
  Content-Type: application/json; two tokens (wildcard + base) on one
  account;
- acme.sh dnsapi/dns_acmedns.sh (curl): register POST without a body and
  without Content-Length, parsed with acme.sh's own sed; update with curl
  --data (form Content-Type), success = grep "\\"$txtvalue\\"" on the
  response. Run with the real curl, sed and grep, and as raw bytes;
- cert-manager (pkg/issuer/acme/dns/acmedns): goacmedns UpdateTXTRecord
  with credentials from ACME_DNS_ACCOUNT_JSON (our 201 body);
- Caddy caddy-dns/acmedns -> libdns/acmedns: update only, a marshalled
  map {"subdomain","txt"}, Go default User-Agent;
- Posh-ACME AcmeDns plugin (Invoke-RestMethod): register body '{}' with
  application/json, update body with txt first and the form Content-Type.
"""

import json
import os
import shutil
import subprocess

from apiclient import (DOMAIN, KEY_RE, UUID4_RE, ApiDaemon, HttpError,
                       rand_txt)
from harness import Results, std_args

GO_UA = "goacmedns (linux; amd64)"


def head(method, path, host, headers):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def account_ok(j):
    return (isinstance(j, dict) and UUID4_RE.match(j.get("username") or "")
            and KEY_RE.match(j.get("password") or "")
            and UUID4_RE.match(j.get("subdomain") or "")
            and j.get("fulldomain") == f"{j.get('subdomain')}.{DOMAIN}")


def exchange(res, c, data, what):
    try:
        c.send(data)
        return c.read_response()
    except (OSError, HttpError) as e:
        res.check(False, f"{what}: response", repr(e))
        return None


def served(res, a, acct, values, what):
    rc, vals = a.txt(acct["subdomain"])
    res.check(rc == 0 and all(v in vals for v in values),
              f"{what}: DNS TXT at {acct['fulldomain']} serves the value"
              f"{'s' if len(values) > 1 else ''}", f"rcode {rc}, {vals}")


# --------------------------------------------------------------------------


def go_old(res, a, allowfrom):
    tag = "goacmedns old" + (" +AllowFrom" if allowfrom else "")
    res.section(f"{tag} (cpu/goacmedns: lego, cert-manager, Traefik)")
    hp = a.hostport()
    body = json.dumps({"AllowFrom": allowfrom}, separators=(",", ":")) \
        .encode() if allowfrom else b""
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/register", hp, [
            ("User-Agent", GO_UA), ("Content-Length", str(len(body))),
            ("Content-Type", "application/json"),
            ("Accept-Encoding", "gzip")]) + body, tag)
        if r is None:
            return None
        acct = r.json()
        res.check(r.status == 201 and account_ok(acct),
                  f"{tag}: register {body!r} -> 201, Account unmarshals",
                  repr(r))
        if not account_ok(acct):
            return None
        if allowfrom:
            res.eq(acct.get("allowfrom"), allowfrom, f"{tag}: allowfrom echoed")
        v = rand_txt()
        ub = json.dumps({"SubDomain": acct["subdomain"], "Txt": v},
                        separators=(",", ":")).encode()
        r = exchange(res, c, head("POST", "/update", hp, [
            ("User-Agent", GO_UA), ("Content-Length", str(len(ub))),
            ("Content-Type", "application/json"),
            ("X-Api-Key", acct["password"]),
            ("X-Api-User", acct["username"]),
            ("Accept-Encoding", "gzip")]) + ub, tag)
        if r is None:
            return None
        res.check(r.status == 200, f"{tag}: update on the same keep-alive "
                  "connection -> 200 (UpdateTXTRecord wants exactly 200)",
                  repr(r))
        served(res, a, acct, [v], tag)
        return acct
    finally:
        c.close()


def go_new(res, a, allowfrom):
    tag = "goacmedns new" + (" +allowfrom" if allowfrom else "")
    res.section(f"{tag} (nrdcg/goacmedns: newer lego)")
    hp = a.hostport()
    if allowfrom:
        body = (json.dumps({"allowfrom": allowfrom}, separators=(",", ":")) +
                "\n").encode()
    else:
        body = b"null\n"
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/register", hp, [
            ("User-Agent", GO_UA), ("Content-Length", str(len(body))),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Accept-Encoding", "gzip")]) + body, tag)
        if r is None:
            return None
        acct = r.json()
        res.check(r.status // 100 == 2 and account_ok(acct),
                  f"{tag}: register {body!r} -> 2xx, Account unmarshals",
                  repr(r))
        if not account_ok(acct):
            return None
        v = rand_txt()
        ub = (json.dumps({"subdomain": acct["subdomain"], "txt": v},
                         separators=(",", ":")) + "\n").encode()
        r = exchange(res, c, head("POST", "/update", hp, [
            ("User-Agent", GO_UA), ("Content-Length", str(len(ub))),
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("X-Api-Key", acct["password"]),
            ("X-Api-User", acct["username"]),
            ("Accept-Encoding", "gzip")]) + ub, tag)
        if r is None:
            return None
        res.check(r.status // 100 == 2, f"{tag}: update -> 2xx", repr(r))
        res.eq(r.status, 200, f"{tag}: update -> 200")
        served(res, a, acct, [v], tag)
        return acct
    finally:
        c.close()


REQ_HDRS = [("User-Agent", "python-requests/2.28.1"),
            ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*"),
            ("Connection", "keep-alive")]


def certbot(res, a, allowfrom):
    tag = "certbot acme-dns-auth.py" + (" +allowfrom" if allowfrom else "")
    res.section(f"{tag} (python requests)")
    hp = a.hostport()
    if allowfrom:
        body = json.dumps({"allowfrom": allowfrom}).encode()  # no Content-Type
        hdrs = REQ_HDRS + [("Content-Length", str(len(body)))]
    else:
        body = b""
        hdrs = REQ_HDRS + [("Content-Length", "0")]
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/register", hp, hdrs) + body, tag)
    finally:
        c.close()
    if r is None:
        return None
    acct = r.json()
    res.check(r.status == 201 and account_ok(acct),
              f"{tag}: register {body!r} (no Content-Type) -> 201, "
              "res.json() works", repr(r))
    if not account_ok(acct):
        return None
    # a wildcard and its base name: two tokens on one account
    vals = [rand_txt(), rand_txt()]
    for i, v in enumerate(vals):
        ub = json.dumps({"subdomain": acct["subdomain"], "txt": v}).encode()
        c = a.conn()
        try:
            r = exchange(res, c, head("POST", "/update", hp, REQ_HDRS + [
                ("X-Api-User", acct["username"]),
                ("X-Api-Key", acct["password"]),
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(ub)))]) + ub, tag)
        finally:
            c.close()
        if r is None:
            return None
        res.check(r.status == 200 and isinstance(r.json(), dict),
                  f"{tag}: update {i + 1} -> 200 with a JSON body", repr(r))
    served(res, a, acct, vals, f"{tag}: wildcard + base")
    return acct


ACMESH_UA = "acme.sh/3.0.9 (https://github.com/acmesh-official/acme.sh)"


def acmesh_raw(res, a):
    tag = "acme.sh (raw curl bytes)"
    res.section(tag)
    hp = a.hostport()
    # curl -X POST without --data: no Content-Length, no Content-Type
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/register", hp, [
            ("User-Agent", ACMESH_UA), ("Accept", "*/*")]), tag)
    finally:
        c.close()
    if r is None:
        return
    acct = r.json()
    res.check(r.status == 201 and account_ok(acct), f"{tag}: POST /register "
              "with neither Content-Length nor a body -> 201", repr(r))
    if not account_ok(acct):
        return
    v = rand_txt()
    data = ('{"subdomain":"%s", "txt": "%s"}' % (acct["subdomain"], v)).encode()
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/update", hp, [
            ("User-Agent", ACMESH_UA), ("Accept", "*/*"),
            ("X-Api-User", acct["username"]), ("X-Api-Key", acct["password"]),
            ("Content-Length", str(len(data))),
            ("Content-Type", "application/x-www-form-urlencoded")]) + data,
            tag)
    finally:
        c.close()
    if r is None:
        return
    line = r.body.decode("utf-8", "replace")
    res.check(r.status == 200 and f'"{v}"' in line, f"{tag}: update with the "
              "form Content-Type -> 200, the response contains \"<txt>\"",
              repr(r))
    served(res, a, acct, [v], tag)


ACMESH_SCRIPT = r'''
set -u
_post() {
  # acme.sh's _post with curl, as in acme.sh (body url "" POST)
  body="$1"; _post_url="$2"; httpmethod="$4"
  _CURL="curl -L --silent --dump-header $HTTP_HEADER -g "
  if [ "$body" ]; then
    $_CURL --user-agent "$USER_AGENT" -X $httpmethod -H "$_H1" -H "$_H2" -H "$_H3" -H "$_H4" -H "$_H5" --data "$body" "$_post_url"
  else
    $_CURL --user-agent "$USER_AGENT" -X $httpmethod -H "$_H1" -H "$_H2" -H "$_H3" -H "$_H4" -H "$_H5" "$_post_url"
  fi
}
_H1=""; _H2=""; _H3=""; _H4=""; _H5=""
ACMEDNS_UPDATE_URL="$ACMEDNS_BASE_URL/update"
ACMEDNS_REGISTER_URL="$ACMEDNS_BASE_URL/register"
response="$(_post "" "$ACMEDNS_REGISTER_URL" "" "POST")"
U=$(echo "$response" | sed -n 's/^{.*\"username\":[ ]*\"\([^\"]*\)\".*}/\1/p')
P=$(echo "$response" | sed -n 's/^{.*\"password\":[ ]*\"\([^\"]*\)\".*}/\1/p')
S=$(echo "$response" | sed -n 's/^{.*\"subdomain\":[ ]*\"\([^\"]*\)\".*}/\1/p')
F=$(echo "$response" | sed -n 's/^{.*\"fulldomain\":[ ]*\"\([^\"]*\)\".*}/\1/p')
echo "U=$U"; echo "P=$P"; echo "S=$S"; echo "F=$F"
export _H1="X-Api-User: $U"
export _H2="X-Api-Key: $P"
data="{\"subdomain\":\"$S\", \"txt\": \"$txtvalue\"}"
response="$(_post "$data" "$ACMEDNS_UPDATE_URL" "" "POST")"
echo "R=$response"
if ! echo "$response" | grep "\"$txtvalue\"" >/dev/null; then
  echo "invalid response of acme-dns"
  exit 1
fi
echo OK
'''


def acmesh_curl(res, a):
    tag = "acme.sh dns_acmedns_add (real curl, sed, grep)"
    res.section(tag)
    if not shutil.which("curl"):
        res.note("curl not installed: skipped")
        return
    v = rand_txt()
    env = {k: val for k, val in os.environ.items()
           if "proxy" not in k.lower()}
    env.update({"ACMEDNS_BASE_URL": f"http://{a.hostport()}",
                "USER_AGENT": ACMESH_UA, "txtvalue": v,
                "HTTP_HEADER": os.path.join(a.work, "acmesh.headers"),
                "NO_PROXY": "*", "no_proxy": "*"})
    p = subprocess.run(["sh", "-c", ACMESH_SCRIPT], capture_output=True,
                       text=True, env=env, timeout=60)
    out = p.stdout
    got = dict(line.split("=", 1) for line in out.splitlines() if "=" in line
               and line[:2] in ("U=", "P=", "S=", "F="))
    acct = {"username": got.get("U", ""), "password": got.get("P", ""),
            "subdomain": got.get("S", ""), "fulldomain": got.get("F", "")}
    res.check(account_ok(acct), f"{tag}: sed extracts username, password, "
              "subdomain, fulldomain from the 201", out + p.stderr)
    res.check(p.returncode == 0 and out.rstrip().endswith("OK"),
              f"{tag}: update response passes acme.sh's grep", out + p.stderr)
    if account_ok(acct):
        served(res, a, acct, [v], tag)


def cert_manager(res, a, acct):
    tag = "cert-manager (goacmedns UpdateTXTRecord, ACME_DNS_ACCOUNT_JSON)"
    res.section(tag)
    # cert-manager keeps our 201 body, keyed by domain, as its account JSON;
    # goacmedns.Account unmarshals it (json tags fulldomain, subdomain,
    # username, password)
    account_json = json.dumps({"example.com": acct})
    acc = json.loads(account_json)["example.com"]
    hp = a.hostport()
    v = rand_txt()
    ub = json.dumps({"SubDomain": acc["subdomain"], "Txt": v},
                    separators=(",", ":")).encode()
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/update", hp, [
            ("User-Agent", GO_UA), ("Content-Length", str(len(ub))),
            ("Content-Type", "application/json"),
            ("X-Api-Key", acc["password"]), ("X-Api-User", acc["username"]),
            ("Accept-Encoding", "gzip")]) + ub, tag)
    finally:
        c.close()
    if r is None:
        return
    res.eq(r.status, 200, f"{tag}: Present -> 200")
    served(res, a, acc, [v], tag)


def caddy(res, a, acct):
    tag = "Caddy caddy-dns/acmedns (libdns/acmedns updateTxtValue)"
    res.section(tag)
    hp = a.hostport()
    vals = []
    for _ in range(2):
        v = rand_txt()
        vals.append(v)
        # json.Marshal(map[string]string): keys sorted, no spaces
        ub = json.dumps({"subdomain": acct["subdomain"], "txt": v},
                        separators=(",", ":"), sort_keys=True).encode()
        c = a.conn()
        try:
            r = exchange(res, c, head("POST", "/update", hp, [
                ("User-Agent", "Go-http-client/1.1"),
                ("Content-Length", str(len(ub))),
                ("Content-Type", "application/json"),
                ("X-Api-Key", acct["password"]),
                ("X-Api-User", acct["username"]),
                ("Accept-Encoding", "gzip")]) + ub, tag)
        finally:
            c.close()
        if r is None:
            return
        res.eq(r.status, 200, f"{tag}: AppendRecords -> 200")
    served(res, a, acct, vals, f"{tag}: two appends")


PS_UA = ("Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; "
         "en-US) PowerShell/7.4.0")


def posh_acme(res, a):
    tag = "Posh-ACME AcmeDns plugin (Invoke-RestMethod)"
    res.section(tag)
    hp = a.hostport()
    body = b"{}"
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/register", hp, [
            ("User-Agent", PS_UA), ("Content-Type", "application/json"),
            ("Content-Length", "2")]) + body, tag)
    finally:
        c.close()
    if r is None:
        return
    acct = r.json()
    res.check(r.status == 201 and account_ok(acct) and
              (r.h("Content-Type") or "").startswith("application/json"),
              f"{tag}: register '{{}}' -> 201, JSON Content-Type (auto-parsed)",
              repr(r))
    if not account_ok(acct):
        return
    v = rand_txt()
    # ConvertTo-Json -Compress of a hashtable: txt may come first
    ub = json.dumps({"txt": v, "subdomain": acct["subdomain"]},
                    separators=(",", ":")).encode()
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/update", hp, [
            ("User-Agent", PS_UA), ("X-Api-User", acct["username"]),
            ("X-Api-Key", acct["password"]),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", str(len(ub)))]) + ub, tag)
    finally:
        c.close()
    if r is None:
        return
    res.eq(r.status, 200, f"{tag}: update (txt first, form Content-Type) -> "
           "200")
    served(res, a, acct, [v], tag)


def dotnet_charset(res, a, acct):
    tag = ".NET HttpClient StringContent (win-acme style)"
    res.section(tag)
    hp = a.hostport()
    v = rand_txt()
    ub = json.dumps({"subdomain": acct["subdomain"], "txt": v}).encode()
    c = a.conn()
    try:
        r = exchange(res, c, head("POST", "/update", hp, [
            ("X-Api-User", acct["username"]), ("X-Api-Key", acct["password"]),
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(ub)))]) + ub, tag)
    finally:
        c.close()
    if r is None:
        return
    res.eq(r.status, 200, f"{tag}: Content-Type with charset -> 200")
    served(res, a, acct, [v], tag)


def main():
    args = std_args(__doc__)
    res = Results("api_clients")
    a = ApiDaemon(args.acmedns, "api-clients")
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts with the API", str(e))
        res.finish()
    acct = go_old(res, a, None)
    go_old(res, a, ["127.0.0.0/8"])
    go_new(res, a, None)
    go_new(res, a, ["127.0.0.1/32", "::1/128"])
    certbot(res, a, None)
    certbot(res, a, ["127.0.0.0/8", "::1/128"])
    acmesh_raw(res, a)
    acmesh_curl(res, a)
    if acct:
        cert_manager(res, a, acct)
        caddy(res, a, acct)
        dotnet_charset(res, a, acct)
    posh_acme(res, a)
    a.check_alive(res, "after every client")
    a.stop(res)
    res.finish()


if __name__ == "__main__":
    main()
