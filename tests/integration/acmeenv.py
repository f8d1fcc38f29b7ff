# SPDX-License-Identifier: MIT
"""An ACME end-to-end test environment on loopback (Python 3 stdlib only).

Everything lives in one temporary directory and on random loopback ports
(harness.free_port); every process is started by this module, waited for
with a bound, and stopped by its PID (explicitly by Env.stop(), and by an
atexit handler if a test dies first).

    Pebble (test CA, HTTPS)  --dns-01 TXT query-->  unbound (resolver)
                                                     |-- stub example.test -> nsd
                                                     '-- stub auth.example.test -> acmedns

Pebble asks exactly one UDP question and does not follow CNAMEs, so the real
delegation topology (customer zone CNAME -> acmedns) needs unbound between.

Usage:

    import acmeenv
    env = acmeenv.Env(acmedns_bin="build/acmedns")
    env.start(pebble=True, nsd_zones=["example.test"], acmedns=True)
    acct = env.register()                       # POST /register -> dict
    env.add_cname("_acme-challenge.www.example.test.", acct["fulldomain"])
    env.update(acct, "A" * 43)                  # POST /update
    env.resolve_txt("_acme-challenge.www.example.test")  # via unbound
    env.pebble.dir_url                          # https://127.0.0.1:P/dir
    env.pebble.save_chain()                     # (root.pem, intermediate.pem)
    env.pebble.verify(cert_path)                # openssl verify: (ok, text)
    env.pebble.cert_status(serial_hex)          # {"Status": "Valid"|"Revoked"}
    env.restart_acmedns()                       # same ports, store, certs
    env.stop(res)                               # acmedns exit 0 checked in res

ACMEENV_KEEP=1 keeps the temp dir (every component's log) for a post-mortem.

Components, each usable alone (all take the workdir and ports they need):
    TestCA   openssl EC P-256 CA + localhost cert for Pebble's own TLS
    Pebble   pebble -config F -dnsserver 127.0.0.1:RESOLVER -strict=false
    NSD      nsd serving customer zones, records added at run time
    Unbound  unbound -d with stub-zones, no cache
    Env      wires them together with an acmedns daemon (harness.Daemon)
"""

import atexit
import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (LOOPBACK4, free_port, write, run, build_query,  # noqa: E402
                     udp_exchange, Message)

ACMEDNS_ZONE = "auth.example.test"

# --------------------------------------------------------------------------
# process bookkeeping: every child by PID, process groups for forking daemons

_procs = []  # (Popen, kill_group)


def _kill_all():
    for p, group in reversed(_procs):
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
        if group:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


atexit.register(_kill_all)


def _spawn(args, logpath, env=None, group=False, cwd=None):
    """Start a long-running child with stdout+stderr in logpath. group: own
    session (for daemons that fork); it is then killed as a group."""
    log = open(logpath, "ab")
    try:
        p = subprocess.Popen(args, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL, env=env, cwd=cwd,
                             start_new_session=group)
    finally:
        log.close()
    _procs.append((p, group))
    return p


def _stop(p, group=False, timeout=5.0):
    """SIGTERM, wait up to timeout, then SIGKILL (the group if group).
    Returns the exit status (negative: killed by a signal)."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.terminate()
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
        except OSError:
            pass
    if group:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # leftovers of our own session
        except (ProcessLookupError, PermissionError):
            pass
    return p.returncode


def wait_for(pred, timeout, interval=0.05, what="condition"):
    """Call pred() until it returns a true value (returned) or timeout s
    pass (raises TimeoutError). Exceptions from pred count as false."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not true after {timeout} s"
                               + (f" (last error: {last!r})" if last else ""))
        time.sleep(interval)


def tail(path, n=4000):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode(errors="replace")
    except OSError:
        return f"({path}: not readable)"


def child_env(extra=None):
    """os.environ without proxies (loopback only), plus extra."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


def abs_name(name):
    return name if name.endswith(".") else name + "."


# --------------------------------------------------------------------------
# (a) test CA for Pebble's own TLS


class TestCA:
    """EC P-256 CA + a localhost certificate (SAN DNS:localhost,
    IP:127.0.0.1, IP:::1). ca_pem: the CA alone (for REQUESTS_CA_BUNDLE,
    curl --cacert, [acme] ca_bundle); bundle: system roots + the CA."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "tls")
        os.makedirs(self.dir, exist_ok=True)
        self.ca_pem = os.path.join(self.dir, "test-ca.pem")
        self.ca_key = os.path.join(self.dir, "test-ca.key")
        self.cert = os.path.join(self.dir, "localhost.pem")
        self.key = os.path.join(self.dir, "localhost.key")
        self.bundle = os.path.join(self.dir, "bundle.pem")

    def _ossl(self, *args):
        rc, out, err = run(["openssl", *args], timeout=30, cwd=self.dir)
        if rc != 0:
            raise RuntimeError(f"openssl {' '.join(args)}: rc {rc}: {err}")

    def create(self):
        self._ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-days", "3650",
                   "-keyout", self.ca_key, "-out", self.ca_pem,
                   "-subj", "/CN=acmedns e2e test CA",
                   "-addext", "basicConstraints=critical,CA:TRUE",
                   "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        csr = os.path.join(self.dir, "localhost.csr")
        self._ossl("req", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key,
                   "-out", csr, "-subj", "/CN=localhost")
        ext = write(os.path.join(self.dir, "ext.cnf"),
                    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                    "extendedKeyUsage=serverAuth\n"
                    "basicConstraints=critical,CA:FALSE\n")
        self._ossl("x509", "-req", "-in", csr, "-CA", self.ca_pem,
                   "-CAkey", self.ca_key, "-CAcreateserial", "-days", "825",
                   "-extfile", ext, "-out", self.cert)
        os.chmod(self.key, 0o600)
        os.chmod(self.ca_key, 0o600)
        system = ""
        try:
            with open("/etc/ssl/certs/ca-certificates.crt") as f:
                system = f.read()
        except OSError:
            pass
        with open(self.ca_pem) as f:
            write(self.bundle, system + f.read())
        return self

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_pem)


# --------------------------------------------------------------------------
# (b) Pebble


class Pebble:
    """Pebble with its ACME and management listeners on random loopback
    ports. env: PEBBLE_* overrides (defaults: VA_NOSLEEP=1, WFE_NONCEREJECT=0,
    AUTHZREUSE=0); eab_keys: {kid: base64url HMAC key} turns on EAB
    (externalAccountBindingRequired); config_extra: more keys for the
    "pebble" JSON object."""

    DEFAULT_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0",
                   "PEBBLE_AUTHZREUSE": "0"}

    def __init__(self, workdir, ca, dns_port, env=None, eab_keys=None,
                 config_extra=None, strict=False):
        self.dir = os.path.join(workdir, "pebble")
        os.makedirs(self.dir, exist_ok=True)
        self.ca = ca
        self.dns_port = dns_port
        self.port = free_port(ipv6=False)
        self.mgmt_port = free_port(ipv6=False)
        self.dir_url = f"https://127.0.0.1:{self.port}/dir"
        self.mgmt_url = f"https://127.0.0.1:{self.mgmt_port}"
        self.env = dict(self.DEFAULT_ENV)
        self.env.update({k: str(v) for k, v in (env or {}).items()})
        self.strict = strict
        cfg = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": ca.cert,
            "privateKey": ca.key,
            # ports Pebble's VA connects to for http-01/tls-alpn-01 (unused
            # here: dns-01 only); random so that nothing else is hit
            "httpPort": free_port(ipv6=False),
            "tlsPort": free_port(ipv6=False),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(eab_keys),
        }
        if eab_keys:
            cfg["externalAccountMACKeys"] = dict(eab_keys)
        cfg.update(config_extra or {})
        self.config = os.path.join(self.dir, "pebble-config.json")
        write(self.config, json.dumps({"pebble": cfg}, indent=2) + "\n")
        self.log = os.path.join(self.dir, "pebble.log")
        self.proc = None
        self._ctx = ca.ssl_context()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self._ctx))

    def start(self, timeout=20.0):
        args = ["pebble", "-config", self.config, "-dnsserver",
                f"127.0.0.1:{self.dns_port}",
                f"-strict={'true' if self.strict else 'false'}"]
        self.proc = _spawn(args, self.log, env=child_env(self.env),
                           cwd=self.dir)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("exited")
            return self.get(self.dir_url, timeout=1)[0] == 200 and \
                self.get(self.mgmt_url + "/roots/0", timeout=1)[0] == 200
        try:
            wait_for(ready, timeout, 0.1, "pebble answers /dir")
        except (TimeoutError, RuntimeError) as e:
            raise RuntimeError(f"pebble did not start ({e}); status "
                               f"{self.proc.poll()}; log:\n{tail(self.log)}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return _stop(self.proc)

    def get(self, url, timeout=5.0):
        """GET over TLS verified with the test CA: (status, bytes)."""
        try:
            with self._opener.open(url, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def directory(self):
        st, body = self.get(self.dir_url)
        if st != 200:
            raise RuntimeError(f"GET {self.dir_url}: {st}")
        return json.loads(body)

    def _mgmt_pem(self, path):
        st, body = self.get(self.mgmt_url + path)
        if st != 200:
            raise RuntimeError(f"GET {self.mgmt_url}{path}: {st} {body[:200]!r}")
        return body.decode()

    def root(self, i=0):
        """PEM of issuing root i (regenerated at every Pebble start;
        0..PEBBLE_ALTERNATE_ROOTS)."""
        return self._mgmt_pem(f"/roots/{i}")

    def intermediate(self, i=0):
        return self._mgmt_pem(f"/intermediates/{i}")

    def save_chain(self, i=0, directory=None):
        """Write root i and intermediate i to files: (root, intermediate)."""
        d = directory or self.dir
        r = write(os.path.join(d, f"root-{i}.pem"), self.root(i))
        m = write(os.path.join(d, f"intermediate-{i}.pem"),
                  self.intermediate(i))
        return r, m

    def verify(self, cert_path, i=0, untrusted=None):
        """openssl verify CERT against Pebble's root i, with intermediate i
        as untrusted (or the file untrusted, e.g. a fullchain.pem, when
        PEBBLE_CHAIN_LENGTH > 2): (ok, output)."""
        root, inter = self.save_chain(i)
        rc, out, err = run(["openssl", "verify", "-CAfile", root,
                            "-untrusted", untrusted or inter, cert_path],
                           timeout=15)
        return rc == 0, (out + err).strip()

    def cert_status(self, serial):
        """Revocation status by serial (int, or hex with or without ':').
        Returns Pebble's JSON, e.g. {"Status": "Valid"|"Revoked", ...};
        None if Pebble does not know the serial."""
        if isinstance(serial, int):
            hexs = format(serial, "x")
        else:
            hexs = serial.replace(":", "").strip().lower().lstrip("0") or "0"
        st, body = self.get(f"{self.mgmt_url}/cert-status-by-serial/{hexs}")
        if st == 404:
            return None
        if st != 200:
            raise RuntimeError(f"cert-status-by-serial/{hexs}: {st} {body!r}")
        return json.loads(body)


def cert_serial(cert_path):
    """Serial number of a PEM certificate as lower-case hex."""
    rc, out, err = run(["openssl", "x509", "-in", cert_path, "-noout",
                        "-serial"], timeout=10)
    if rc != 0:
        raise RuntimeError(err)
    return out.strip().split("=", 1)[1].lower()


def cert_sans(cert_path):
    """Sorted DNS/IP names of a PEM certificate's subjectAltName."""
    rc, out, err = run(["openssl", "x509", "-in", cert_path, "-noout",
                        "-ext", "subjectAltName"], timeout=10)
    if rc != 0:
        raise RuntimeError(err)
    names = []
    for line in out.splitlines()[1:]:
        for part in line.split(","):
            part = part.strip()
            if ":" in part:
                names.append(part.split(":", 1)[1])
    return sorted(names)


# --------------------------------------------------------------------------
# (c) nsd: the customer zones


class NSD:
    """nsd serving zones (list of names) on a random loopback port, zone
    files rewritten at run time. Every zone gets SOA, NS ns1, ns1/@/www A
    127.0.0.1. Changes are loaded with SIGHUP (nsd 4.6 rereads zone files
    whose mtime changed) and confirmed by querying nsd itself; if that does
    not show them in time, nsd is restarted on the same port."""

    def __init__(self, workdir, zones, port=None):
        self.dir = os.path.join(workdir, "nsd")
        os.makedirs(self.dir, exist_ok=True)
        self.zones = [z.rstrip(".").lower() for z in zones]
        self.port = port or free_port(ipv6=False)
        self.serial = {z: 1 for z in self.zones}
        self.records = {z: [] for z in self.zones}  # extra lines, absolute
        self.files = {z: os.path.join(self.dir, f"{z}.zone")
                      for z in self.zones}
        self.log = os.path.join(self.dir, "nsd.log")
        self.proc = None
        self.restarts = 0
        self._mtime = 0
        zone_cfg = "".join(f"zone:\n    name: {z}\n    zonefile: {self.files[z]}\n"
                           for z in self.zones)
        d = self.dir
        self.conf = write(os.path.join(d, "nsd.conf"), f"""\
server:
    ip-address: 127.0.0.1@{self.port}
    do-ip6: no
    server-count: 1
    zonesdir: ""
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    username: ""
    chroot: ""
    verbosity: 1
    hide-version: yes
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    tcp-timeout: 10
remote-control:
    control-enable: no
{zone_cfg}""")
        for z in self.zones:
            self._write_zone(z)

    def zone_of(self, name):
        n = abs_name(name).lower()
        best = None
        for z in self.zones:
            if n == z + "." or n.endswith("." + z + "."):
                if best is None or len(z) > len(best):
                    best = z
        if best is None:
            raise ValueError(f"{name} is in none of the nsd zones {self.zones}")
        return best

    def _write_zone(self, z):
        lines = [f"$ORIGIN {z}.", "$TTL 60",
                 f"@ SOA ns1.{z}. hostmaster.{z}. {self.serial[z]} 3600 600 "
                 "86400 60",
                 "@ NS ns1", "ns1 A 127.0.0.1", "@ A 127.0.0.1",
                 "www A 127.0.0.1"] + self.records[z]
        path = self.files[z]
        tmp = path + ".tmp"
        write(tmp, "\n".join(lines) + "\n")
        # nsd compares mtimes: make every version strictly newer, even when
        # two rewrites fall in the same second
        m = max(time.time(), self._mtime + 1.0)
        self._mtime = m
        os.utime(tmp, (m, m))
        os.replace(tmp, path)

    def start(self, timeout=10.0):
        self.proc = _spawn(["nsd", "-d", "-c", self.conf],
                           os.path.join(self.dir, "nsd.stderr"), group=True,
                           env=child_env())
        try:
            wait_for(lambda: all(self._soa_serial(z) is not None
                                 for z in self.zones),
                     timeout, 0.05, "nsd answers SOA")
        except TimeoutError as e:
            raise RuntimeError(f"nsd did not start ({e}); status "
                               f"{self.proc.poll()}; log:\n{tail(self.log)}"
                               f"\n{tail(os.path.join(self.dir, 'nsd.stderr'))}")
        return self

    def _soa_serial(self, z):
        if self.proc.poll() is not None:
            raise RuntimeError("nsd exited")
        m = Message(udp_exchange(LOOPBACK4, self.port,
                                 build_query(z + ".", "SOA"), timeout=0.3))
        for r in m.answer:
            if r.rtype == 6:
                return int(r.rdata.split()[2])
        return None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return _stop(self.proc, group=True)

    def add_record(self, line, reload=True):
        """Add a zone-file line whose owner is absolute, e.g.
        '_acme-challenge.example.test. 60 IN CNAME x.auth.example.test.'."""
        owner = line.split()[0]
        z = self.zone_of(owner)
        self.records[z].append(line)
        if reload:
            self.reload([z])

    def remove_records(self, owner):
        """Remove every added record of owner."""
        z = self.zone_of(owner)
        o = abs_name(owner).lower()
        self.records[z] = [r for r in self.records[z]
                           if r.split()[0].lower() != o]
        self.reload([z])

    def reload(self, zones=None, timeout=10.0):
        """Bump the serial of zones, rewrite them, SIGHUP nsd and wait until
        nsd serves the new serial (restart nsd if SIGHUP did not do it)."""
        zones = zones or self.zones
        for z in zones:
            self.serial[z] += 1
            self._write_zone(z)
        if not self.alive():
            raise RuntimeError(f"nsd is not running; log:\n{tail(self.log)}")
        os.kill(self.proc.pid, signal.SIGHUP)

        def loaded():
            return all(self._soa_serial(z) == self.serial[z] for z in zones)
        try:
            wait_for(loaded, min(5.0, timeout), 0.05, "nsd reload")
            return
        except TimeoutError:
            pass
        # fallback: restart on the same port
        self.restarts += 1
        self.stop()
        self.start(timeout)
        wait_for(loaded, timeout, 0.05, "nsd serves the new zone")


# --------------------------------------------------------------------------
# (d) unbound: the resolver Pebble (and acmedns's delegation checks) use


class Unbound:
    """unbound -d on a random loopback port; stubs: {zone: [port, ...]} on
    127.0.0.1. No cache, no DNSSEC: every answer is fresh."""

    def __init__(self, workdir, stubs, port=None):
        self.dir = os.path.join(workdir, "unbound")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or free_port(ipv6=False)
        self.stubs = {z.rstrip("."): (p if isinstance(p, (list, tuple))
                                      else [p]) for z, p in stubs.items()}
        self.log = os.path.join(self.dir, "unbound.log")
        stub_cfg = ""
        for z, ports in self.stubs.items():
            stub_cfg += f'stub-zone:\n    name: "{z}"\n'
            stub_cfg += "".join(f"    stub-addr: 127.0.0.1@{p}\n"
                                for p in ports)
        d = self.dir
        self.conf = write(os.path.join(d, "unbound.conf"), f"""\
server:
    interface: 127.0.0.1@{self.port}
    port: {self.port}
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    directory: "{d}"
    pidfile: "{d}/unbound.pid"
    logfile: "{self.log}"
    use-syslog: no
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    local-zone: "test." nodefault
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
    infra-host-ttl: 1
{stub_cfg}remote-control:
    control-enable: no
""")
        self.proc = None

    def start(self, timeout=10.0):
        rc, out, err = run(["unbound-checkconf", self.conf], timeout=15)
        if rc != 0:
            raise RuntimeError(f"unbound-checkconf: {out}{err}")
        self.proc = _spawn(["unbound", "-d", "-c", self.conf],
                           os.path.join(self.dir, "unbound.stderr"),
                           env=child_env())

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited")
            # unbound answers version.server CH TXT itself (no upstream)
            Message(udp_exchange(LOOPBACK4, self.port,
                                 build_query("version.server", "TXT", "CH"),
                                 timeout=0.3))
            return True
        try:
            wait_for(ready, timeout, 0.05, "unbound answers")
        except TimeoutError as e:
            raise RuntimeError(f"unbound did not start ({e}); status "
                               f"{self.proc.poll()}; log:\n{tail(self.log)}"
                               f"\n{tail(os.path.join(self.dir, 'unbound.stderr'))}")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        return _stop(self.proc)

    def query(self, name, qtype="A", timeout=3.0):
        """One UDP query with RD=1, no EDNS (as Pebble asks): Message."""
        return Message(udp_exchange(LOOPBACK4, self.port,
                                    build_query(abs_name(name), qtype),
                                    timeout=timeout))


# --------------------------------------------------------------------------
# (e) acmedns + the whole environment


class ApiError(Exception):
    def __init__(self, method, path, status, body):
        super().__init__(f"{method} {path}: HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


class _NullResults:
    """Stands in for harness.Results when Env.stop() is given none."""

    def __init__(self):
        self.failures = []

    def check(self, cond, msg, detail=None):
        if not cond:
            self.failures.append(f"{msg}: {detail}" if detail else msg)
        return bool(cond)

    def eq(self, got, want, msg):
        return self.check(got == want, msg, f"got {got!r}, want {want!r}")


def txt_strings(msg):
    """TXT RDATA of an answer as Python strings (one per RR, the character
    strings concatenated)."""
    out = []
    for r in msg.answer:
        if r.rtype == 16:
            parts = []
            s = r.rdata
            i = 0
            while i < len(s):
                if s[i] == '"':
                    j = i + 1
                    buf = ""
                    while s[j] != '"':
                        if s[j] == "\\":
                            buf += s[j + 1]
                            j += 2
                        else:
                            buf += s[j]
                            j += 1
                    parts.append(buf)
                    i = j + 1
                else:
                    i += 1
            out.append("".join(parts))
    return sorted(out)


class Env:
    """The whole environment in one temp dir.

    env = Env(acmedns_bin=PATH)           # workdir: a fresh temp dir
    env.start(pebble=True, nsd_zones=["example.test"], acmedns=True,
              unbound=True, pebble_env={...}, eab_keys={...},
              acmedns_records=['x.auth.example.test. TXT "x"'],
              acmedns_api={"txt_slots": 3}, acmedns_acme={...},
              acmedns_extra="", acme_engine=True, wait_api=True)
    acmedns_records: [zone] record lines; acmedns_api / acmedns_acme: extra
    keys of [api] / [acme] (the [acme] defaults point at this Pebble: directory,
    ca_bundle, email, and resolver = this unbound); acmedns_extra: raw text
    appended at the end of the file (it lands in [certs], e.g. deploy_hook).
    Attributes after start: dir, ca (TestCA), pebble (Pebble), nsd (NSD),
    unbound (Unbound), acmedns (harness.Daemon), acmedns_conf, dns_port,
    api_port, api_url, zone (the acmedns zone)."""

    def __init__(self, acmedns_bin=None, workdir=None, zone=ACMEDNS_ZONE,
                 log=None):
        """workdir: default a fresh temp dir removed at exit (kept when the
        environment variable ACMEENV_KEEP is set)."""
        # absolute: acmedns runs with its work dir as the cwd
        self.acmedns_bin = os.path.abspath(acmedns_bin) if acmedns_bin \
            else None
        if workdir is None and os.environ.get("ACMEENV_KEEP"):
            # keep the directory (logs, certbot state) for a post-mortem
            workdir = tempfile.mkdtemp(prefix="acmedns-e2e-")
        self.dir = workdir or harness.tempdir("e2e")
        self.zone = zone.rstrip(".")
        self.log = log or (lambda m: print(f"        [env] {m}", flush=True))
        self.ca = self.pebble = self.nsd = self.unbound = None
        self.acmedns = None
        self.acmedns_conf = None
        self.dns_port = self.api_port = None
        self.api_url = None
        self._started = False
        self._restarts = 0
        atexit.register(self._atexit)

    # -- lifecycle

    def start(self, pebble=True, nsd_zones=("example.test",), acmedns=True,
              unbound=True, pebble_env=None, eab_keys=None,
              pebble_config=None, acmedns_records=(), acmedns_api=None,
              acmedns_acme=None, acmedns_extra="", acme_engine=True,
              wait_api=True, log_level="info", extra_stubs=None):
        """extra_stubs: {zone: port} more stub zones for unbound (other
        authoritative servers on 127.0.0.1, e.g. a benchmark's knotd)."""
        t0 = time.monotonic()
        self._started = True
        self.dns_port = free_port(ipv6=False) if acmedns else None
        self.api_port = free_port(ipv6=False) if acmedns else None
        self.api_url = f"http://127.0.0.1:{self.api_port}" if acmedns else None
        resolver_port = free_port(ipv6=False)
        if pebble:
            self.ca = TestCA(self.dir).create()
        if nsd_zones:
            self.nsd = NSD(self.dir, nsd_zones).start()
            self.log(f"nsd {self.nsd.proc.pid} on 127.0.0.1:{self.nsd.port} "
                     f"zones {self.nsd.zones}")
        if unbound:
            stubs = {}
            if self.nsd:
                for z in self.nsd.zones:
                    stubs[z] = self.nsd.port
            if acmedns:
                stubs[self.zone] = self.dns_port
            stubs.update(extra_stubs or {})
            self.unbound = Unbound(self.dir, stubs, resolver_port).start()
            self.log(f"unbound {self.unbound.proc.pid} on "
                     f"127.0.0.1:{self.unbound.port} stubs {stubs}")
        if pebble:
            self.pebble = Pebble(self.dir, self.ca, resolver_port,
                                 env=pebble_env, eab_keys=eab_keys,
                                 config_extra=pebble_config).start()
            self.log(f"pebble {self.pebble.proc.pid} at {self.pebble.dir_url}"
                     f" (mgmt {self.pebble.mgmt_port}) env {self.pebble.env}")
        if acmedns:
            if not self.acmedns_bin:
                raise ValueError("Env(acmedns_bin=...) is needed for acmedns")
            self.acmedns_conf = write(
                os.path.join(self.dir, "acmedns.conf"),
                self.acmedns_config(acmedns_records, acmedns_api,
                                    acmedns_acme, acmedns_extra, acme_engine,
                                    resolver_port, log_level))
            work = os.path.join(self.dir, "acmedns")
            os.makedirs(work, exist_ok=True)
            self.acmedns = harness.Daemon(self.acmedns_bin, self.acmedns_conf,
                                          self.dns_port, work,
                                          domain=self.zone)
            self.acmedns.start(timeout=20)
            self.log(f"acmedns {self.acmedns.pid} dns 127.0.0.1:"
                     f"{self.dns_port} api {self.api_url}")
            if wait_api:
                self.wait_api()
        self.log(f"environment up in {time.monotonic() - t0:.2f} s "
                 f"({self.dir})")
        return self

    def acmedns_config(self, records=(), api=None, acme=None, extra="",
                       acme_engine=True, resolver_port=None,
                       log_level="info"):
        a = os.path.join(self.dir, "acmedns")
        recs = "".join(f"record = {r}\n" for r in records)
        # listen and tls have defaults here; api may override them (one
        # line per key: a repeated single-valued key is a config error)
        api_cfg = {"listen": f"127.0.0.1:{self.api_port}", "tls": "none"}
        api_cfg.update(api or {})
        api_lines = "".join(f"{k} = {v}\n" for k, v in api_cfg.items())
        acme_cfg = {}
        if acme_engine and self.pebble:
            acme_cfg = {"directory": self.pebble.dir_url,
                        "ca_bundle": self.ca.ca_pem,
                        "email": "admin@example.test"}
        if resolver_port and self.unbound:
            acme_cfg["resolver"] = f"127.0.0.1:{resolver_port}"
        acme_cfg.update(acme or {})
        acme_lines = "".join(f"{k} = {v}\n" for k, v in acme_cfg.items())
        return (
            "# written by tests/integration/acmeenv.py\n"
            "[server]\n"
            f"log_level = {log_level}\n"
            "[dns]\n"
            f"listen = 127.0.0.1:{self.dns_port}\n"
            "[zone]\n"
            f"domain = {self.zone}\n"
            f"nsname = ns1.{self.zone}\n"
            "nsadmin = hostmaster.example.test\n"
            f"record = ns1.{self.zone}. A 127.0.0.1\n"
            f"{recs}"
            "[api]\n"
            f"{api_lines}"
            "[store]\n"
            f"path = {a}/acmedns.db\n"
            "[acme]\n"
            f"{acme_lines}"
            "[certs]\n"
            f"dir = {a}/certs\n"
            f"{extra}")

    def stop(self, res=None):
        """Stop everything (acmedns first, checked into res when given:
        SIGTERM -> exit 0, no sanitizer reports). Returns the failures seen
        when res is None."""
        r = res or _NullResults()
        if self.acmedns is not None:
            self.acmedns.stop(r)
            self.acmedns = None
        for comp in (self.pebble, self.unbound, self.nsd):
            if comp is not None:
                comp.stop()
        self._started = False
        return getattr(r, "failures", [])

    def restart_acmedns(self, res=None, config=None):
        """Stop acmedns (checked into res as in stop()) and start it again on
        the same ports, store and certs dir; config: new file text, if any."""
        r = res or _NullResults()
        self.acmedns.stop(r)
        self._restarts += 1
        if config is not None:
            write(self.acmedns_conf, config)
        self.acmedns = harness.Daemon(self.acmedns_bin, self.acmedns_conf,
                                      self.dns_port,
                                      os.path.join(self.dir, "acmedns"),
                                      domain=self.zone,
                                      name=f"acmedns.{self._restarts}")
        self.acmedns.start(timeout=20)
        self.wait_api()
        return getattr(r, "failures", [])

    def _atexit(self):
        if self._started:
            try:
                self.stop()
            except Exception:  # noqa: BLE001 - _kill_all follows anyway
                pass

    def logs(self, n=3000):
        """Tails of every component's log, for failure reports."""
        out = []
        if self.acmedns is not None:
            out.append(("acmedns", self.acmedns.stderr()[-n:]))
        for name, comp in (("pebble", self.pebble),
                           ("unbound", self.unbound), ("nsd", self.nsd)):
            if comp is not None:
                out.append((name, tail(comp.log, n)))
        return "\n".join(f"---- {k}\n{v}" for k, v in out)

    # -- customer zone

    def add_cname(self, name, target):
        """CNAME name -> target in the nsd zone holding name; returns once
        nsd serves it."""
        self.nsd.add_record(f"{abs_name(name)} 60 IN CNAME {abs_name(target)}")

    def add_record(self, line):
        self.nsd.add_record(line)

    # -- resolution through unbound (what Pebble sees)

    def resolve(self, name, qtype="TXT", timeout=3.0):
        return self.unbound.query(name, qtype, timeout)

    def resolve_txt(self, name):
        return txt_strings(self.resolve(name, "TXT"))

    def wait_txt(self, name, values, timeout=10.0):
        """Wait until the TXT set of name seen through unbound includes
        values; returns the set seen."""
        want = set(values)
        return wait_for(lambda: (lambda s: s if want <= set(s) else None)(
            self.resolve_txt(name)), timeout, 0.1, f"TXT {name} has {want}")

    def dig(self, name, qtype="TXT", timeout=10):
        """dig @127.0.0.1 -p RESOLVER name qtype: (harness.ToolAnswer, rc,
        text, cmd)."""
        return harness.run_tool("dig", LOOPBACK4, self.unbound.port, name,
                                qtype, timeout=timeout)

    # -- acmedns REST API

    def api(self, method, path, body=None, headers=None, timeout=10.0):
        """One HTTP request to the API: (status, headers dict, text)."""
        c = http.client.HTTPConnection(LOOPBACK4, self.api_port,
                                       timeout=timeout)
        try:
            data = None
            if body is not None:
                data = body if isinstance(body, (bytes, str)) \
                    else json.dumps(body)
            c.request(method, path, body=data, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), \
                r.read().decode(errors="replace")
        finally:
            c.close()

    def wait_api(self, timeout=15.0):
        def up():
            if not self.acmedns.alive():
                raise RuntimeError("acmedns exited")
            return self.api("GET", "/health", timeout=1)[0] == 200
        try:
            wait_for(up, timeout, 0.1, f"GET {self.api_url}/health")
        except (TimeoutError, RuntimeError) as e:
            raise RuntimeError(f"acmedns API not answering: {e}\n"
                               f"{self.acmedns.stderr()[-3000:]}")

    def register(self, allowfrom=None):
        """POST /register: the JSON object (username, password, fulldomain,
        subdomain, allowfrom). Raises ApiError unless 201."""
        body = None if allowfrom is None else {"allowfrom": allowfrom}
        st, _, text = self.api("POST", "/register", body)
        if st != 201:
            raise ApiError("POST", "/register", st, text)
        return json.loads(text)

    def update(self, acct, txt):
        """POST /update with acct's credentials: the JSON answer. Raises
        ApiError unless 200."""
        st, _, text = self.api(
            "POST", "/update", {"subdomain": acct["subdomain"], "txt": txt},
            {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]})
        if st != 200:
            raise ApiError("POST", "/update", st, text)
        return json.loads(text)

    # -- managed domains (contract §4.2)

    @staticmethod
    def auth(acct):
        """The X-Api-User / X-Api-Key headers of a registration."""
        return {"X-Api-User": acct["username"], "X-Api-Key": acct["password"]}

    def domains_api(self, acct, method, path, body=None, timeout=10.0):
        """A request to /domains... with acct's credentials: (status,
        parsed JSON or None, text)."""
        hdrs = self.auth(acct)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        st, _, text = self.api(method, path, body, hdrs, timeout=timeout)
        try:
            j = json.loads(text) if text.strip() else None
        except ValueError:
            j = None
        return st, j, text

    def add_domain(self, acct, names, **extra):
        """POST /domains {"names": names, **extra}: the 202 answer's JSON.
        Raises ApiError unless 202."""
        body = {"names": list(names)}
        body.update(extra)
        st, j, text = self.domains_api(acct, "POST", "/domains", body)
        if st != 202 or not isinstance(j, dict):
            raise ApiError("POST", "/domains", st, text)
        return j

    def get_domain(self, acct, did):
        """GET /domains/{id}: the JSON object, or None unless 200."""
        st, j, _ = self.domains_api(acct, "GET", f"/domains/{did}")
        return j if st == 200 and isinstance(j, dict) else None

    def wait_domain(self, acct, did, statuses=("valid",), timeout=60.0,
                    pred=None, interval=0.1):
        """Poll GET /domains/{id} until its status is in statuses (and
        pred(obj) holds, if given); returns the object. TimeoutError names
        the last status and error seen. A status of "invalid" that is not
        waited for ends the wait at once (RuntimeError)."""
        seen = {}

        def ok():
            j = self.get_domain(acct, did)
            seen["last"] = j
            if j is None:
                return None
            if j.get("status") == "invalid" and "invalid" not in statuses:
                raise _Fatal(f"domain {did} is invalid: {j.get('error')}")
            if j.get("status") in statuses and (pred is None or pred(j)):
                return j
            return None
        try:
            return _wait_fatal(ok, timeout, interval)
        except TimeoutError:
            raise TimeoutError(f"domain {did} not {'/'.join(statuses)} "
                               f"after {timeout} s; last GET: "
                               f"{seen.get('last')!r}")

    def add_cnames(self, cnames):
        """Create every CNAME of a POST /domains answer ("cnames": [{name,
        target}]) in nsd, in one reload per zone."""
        zones = set()
        for c in cnames:
            line = f"{abs_name(c['name'])} 60 IN CNAME {abs_name(c['target'])}"
            self.nsd.add_record(line, reload=False)
            zones.add(self.nsd.zone_of(c["name"]))
        if zones:
            self.nsd.reload(sorted(zones))

    def kill_acmedns(self):
        """kill -9 acmedns (a crash) and reap it; restart_acmedns() next."""
        p = self.acmedns.proc
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)

    def acmedns_dig(self, name, qtype, *opts, timeout=10):
        """dig +short @127.0.0.1 -p <acmedns DNS port> name qtype: the
        answer lines."""
        rc, out, err = run(["dig", "+short", "+time=2", "+tries=2", *opts,
                            "@127.0.0.1", "-p", str(self.dns_port), name,
                            qtype], timeout=timeout)
        if rc != 0:
            raise RuntimeError(f"dig {name} {qtype}: rc {rc}: {out}{err}")
        return [ln.strip() for ln in out.splitlines() if ln.strip()]

    def certs_dir(self):
        return os.path.join(self.dir, "acmedns", "certs")

    def domain_dir(self, did, first_name=None, timeout=10):
        """The files of a domain: [certs] dir/<id>, or dir/<first name>
        ('*' written as '_wildcard'), whichever holds a cert.pem (None if
        neither). Files are written off the event loop just after the
        domain turns valid, so this waits up to timeout seconds for them."""
        cands = [os.path.join(self.certs_dir(), did)]
        if first_name:
            cands.append(os.path.join(self.certs_dir(),
                                      first_name.replace("*", "_wildcard")))
        deadline = time.time() + timeout
        while True:
            for c in cands:
                if os.path.exists(os.path.join(c, "cert.pem")):
                    return c
            if time.time() >= deadline:
                break
            time.sleep(0.05)
        for c in cands:
            if os.path.isdir(c):
                return c
        return None

    def store_rows(self, table):
        """Every row of a table of acmedns's SQLite store (read-only), as
        dicts; [] if the table does not exist."""
        import sqlite3
        db = os.path.join(self.dir, "acmedns", "acmedns.db")
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            c.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in c.execute(f"SELECT * FROM {table}")]
            except sqlite3.OperationalError:
                return []
        finally:
            c.close()

    def stored_account(self):
        """The account JSON stored by acmedns (table acme_account: the
        first column holding a JSON object), or None."""
        for row in self.store_rows("acme_account"):
            for v in row.values():
                if isinstance(v, str) and v.lstrip().startswith("{"):
                    try:
                        return json.loads(v)
                    except ValueError:
                        pass
        return None

    def config_has(self, section, key):
        """Whether this acmedns binary knows [section] key (from the
        check-config dump of the current file)."""
        rc, out, _ = run([self.acmedns_bin, "check-config", "-c",
                          self.acmedns_conf], timeout=15)
        sect = None
        for ln in out.splitlines():
            ln = ln.strip()
            if ln.startswith("[") and ln.endswith("]"):
                sect = ln[1:-1]
            elif sect == section and ln.split("=")[0].strip() == key:
                return True
        return False

    def https_get(self, path, cafile, server_name, timeout=5.0):
        """GET over TLS from the API (for [api] tls = file|acme), verified
        with cafile for server_name: (status, body bytes, peer cert DER)."""
        import socket
        ctx = ssl.create_default_context(cafile=cafile)
        raw = socket.create_connection((LOOPBACK4, self.api_port),
                                       timeout=timeout)
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            der = s.getpeercert(binary_form=True)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {server_name}\r\n"
                      "Connection: close\r\n\r\n".encode())
            data = b""
            while True:
                b = s.recv(65536)
                if not b:
                    break
                data += b
        head, _, body = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        return status, body, der


class _Fatal(Exception):
    """Raised by a wait_for predicate to stop waiting at once."""


def _wait_fatal(pred, timeout, interval):
    """wait_for, except that _Fatal ends the wait (as RuntimeError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
        except _Fatal as e:
            raise RuntimeError(str(e))
        except Exception:  # noqa: BLE001 - retried until the deadline
            v = None
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TimeoutError("timeout")
        time.sleep(interval)


def spki_sha256(cert_path):
    """SHA-256 of a certificate's SubjectPublicKeyInfo (TLSA 3 1 1 data),
    as `openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256`,
    lower-case hex."""
    import hashlib
    rc, pub, err = run(["openssl", "x509", "-in", cert_path, "-noout",
                        "-pubkey"], timeout=10)
    if rc != 0:
        raise RuntimeError(err)
    p = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                       input=pub.encode(), capture_output=True, timeout=10)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.decode())
    return hashlib.sha256(p.stdout).hexdigest()


def cert_field(cert_path, opt):
    """openssl x509 -noout OPT (e.g. -enddate, -issuer): the value after
    '=' of its first line."""
    rc, out, err = run(["openssl", "x509", "-in", cert_path, "-noout", opt],
                       timeout=10)
    if rc != 0:
        raise RuntimeError(err)
    return out.strip().split("=", 1)[-1].strip()


def pem_certs(text):
    """The PEM certificate blocks of text, in order (each with its
    BEGIN/END lines, no trailing newline)."""
    out, cur = [], None
    for ln in text.splitlines():
        if ln.startswith("-----BEGIN CERTIFICATE-----"):
            cur = [ln]
        elif cur is not None:
            cur.append(ln)
            if ln.startswith("-----END CERTIFICATE-----"):
                out.append("\n".join(cur))
                cur = None
    return out


def acmedns_keys(acmedns_bin):
    """{section: set(keys)} this acmedns binary knows, from `check-config`
    of a minimal file (lets a test use a key only where it exists)."""
    d = tempfile.mkdtemp(prefix="acmedns-keys-")
    try:
        conf = write(os.path.join(d, "c.conf"),
                     "[zone]\ndomain = auth.example.test\n"
                     "nsname = ns1.auth.example.test\n"
                     "nsadmin = hostmaster.example.test\n"
                     f"[store]\npath = {d}/db\n[certs]\ndir = {d}/certs\n")
        rc, out, _ = run([acmedns_bin, "check-config", "-c", conf],
                         timeout=15)
    finally:
        import shutil
        shutil.rmtree(d, True)
    keys, sect = {}, None
    for ln in out.splitlines():
        ln = ln.strip()
        if ln.startswith("[") and ln.endswith("]"):
            sect = ln[1:-1]
        elif sect and "=" in ln and not ln.startswith("#"):
            keys.setdefault(sect, set()).add(ln.split("=")[0].strip())
    return keys


def first_key(keys, section, *names):
    """The first of names that keys[section] has, or None."""
    for n in names:
        if n in keys.get(section, ()):
            return n
    return None
