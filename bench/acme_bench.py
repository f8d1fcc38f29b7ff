#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ACME benchmark (make bench-acme): time to a valid certificate with the
in-process engine of acmedns against uacme, certbot and lego, all against
ONE Pebble in one run (PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0,
PEBBLE_AUTHZREUSE=0), then 100 domains at once in acmedns.

Topology (tests/integration/acmeenv.py, loopback only):

    Pebble -> unbound -+- stub example.test      -> nsd   (customer zone:
                       |                                   the CNAMEs)
                       +- stub auth.example.test -> acmedns
                       '- stub peer.test         -> knotd (the peers' zone,
                                                   RFC 2136 + TSIG)

acmedns goes through the real delegation (the customer's CNAME to its
zone). The peers get their fastest configuration: TXT records written
straight into the authoritative zone with RFC 2136 (knsupdate from a hook
for uacme and certbot's manual plugin, lego's rfc2136 provider with
--dns.disable-cp), no CNAME, no propagation waits. Every tool's account
exists before the timed runs (uacme new, certbot register, one untimed lego
run), as acmedns's does.

Measured:
  1. one name, and three names (apex, wildcard, www): median (and min/max)
     of N runs per tool; for acmedns from the POST /domains request to
     fullchain.pem on disk, with [acme] check_delegation on and off when
     the binary has that key; for the peers the whole command;
  2. 100 domains POSTed at once (100 registrations): time until all 100
     are on disk, acmedns's peak RSS (VmHWM) before and after, DNS p50/p99
     of a UDP query loop against acmedns while idle and during the run.

Prints a Markdown table for docs/PERFORMANCE.md.
"""
import argparse
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import acmeenv  # noqa: E402
from harness import (free_port, write, run, build_query,  # noqa: E402
                     Message)

PEER_ZONE = "peer.test"


def log(msg):
    print(f"[bench-acme] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- knotd

class Knot:
    """knotd (foreground) serving PEER_ZONE on a random loopback port,
    dynamic updates allowed with a TSIG key."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port(ipv6=False)
        self.secret = __import__("base64").b64encode(os.urandom(32)).decode()
        self.log = os.path.join(self.dir, "knot.log")
        write(os.path.join(self.dir, f"{PEER_ZONE}.zone"), f"""\
$ORIGIN {PEER_ZONE}.
$TTL 60
@   SOA ns1 hostmaster 1 3600 600 86400 60
@   NS  ns1
ns1 A   127.0.0.1
@   A   127.0.0.1
""")
        d = self.dir
        self.conf = write(os.path.join(d, "knot.conf"), f"""\
server:
    rundir: "{d}"
    pidfile: "{d}/knot.pid"
    listen: 127.0.0.1@{self.port}
key:
  - id: acme-key
    algorithm: hmac-sha256
    secret: {self.secret}
acl:
  - id: update-acl
    address: 127.0.0.0/8
    key: acme-key
    action: update
database:
    storage: "{d}"
control:
    listen: "{d}/knot.sock"
log:
  - target: "{self.log}"
    any: info
template:
  - id: default
    storage: "{d}"
    file: "%s.zone"
    acl: update-acl
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
zone:
  - domain: {PEER_ZONE}
""")
        self.proc = None

    def start(self):
        self.proc = acmeenv._spawn(["knotd", "-c", self.conf],
                                   os.path.join(self.dir, "knotd.stderr"),
                                   env=acmeenv.child_env())

        def up():
            m = Message(acmeenv.udp_exchange(
                "127.0.0.1", self.port, build_query(PEER_ZONE, "SOA"),
                timeout=0.3))
            return m.rcode == 0 and m.answer
        acmeenv.wait_for(up, 10, 0.05, "knotd answers SOA")
        return self

    def stop(self):
        return acmeenv._stop(self.proc)

    def hook_script(self, path):
        """dnsupdate.sh add|del NAME VALUE: RFC 2136 to this knotd."""
        write(path, f"""#!/bin/sh
# RFC 2136 update of {PEER_ZONE} on knotd (the peers' DNS-01 writer)
case "$1" in
add) OP="update add $2 1 TXT \\"$3\\"";;
*) OP="update delete $2 TXT \\"$3\\"";;
esac
{{
echo "server 127.0.0.1 {self.port}"
echo "key hmac-sha256:acme-key {self.secret}"
echo "zone {PEER_ZONE}."
echo "$OP"
echo send
}} | knsupdate
""")
        os.chmod(path, 0o700)
        return path


# ---------------------------------------------------------------- DNS loop

class DnsLoop:
    """UDP SOA queries against a server, one at a time every ~1 ms:
    latencies (s) and losses (no answer within 1 s). The loop runs in its
    own process: as a thread of this one it would wait for the GIL while
    the main thread sends the POSTs (Python switches threads every 5 ms),
    and that wait, not the server, would be measured."""

    def __init__(self, port, zone):
        self.port, self.q = port, build_query(zone, "SOA")
        self.lat, self.lost = [], 0
        self.ev = multiprocessing.Event()
        self.rx, self.tx = multiprocessing.Pipe(duplex=False)
        self.proc = multiprocessing.Process(target=self._run, daemon=True)

    def _run(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        lat, lost = [], 0
        while not self.ev.is_set():
            t0 = time.perf_counter()
            try:
                s.sendto(self.q, ("127.0.0.1", self.port))
                s.recvfrom(4096)
                lat.append(time.perf_counter() - t0)
            except OSError:
                lost += 1
            time.sleep(0.001)
        s.close()
        self.tx.send((lat, lost))

    def start(self):
        self.proc.start()

    def stop(self):
        self.ev.set()
        if self.rx.poll(10):
            self.lat, self.lost = self.rx.recv()
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()

    def pct(self, p):
        if not self.lat:
            return float("nan")
        v = sorted(self.lat)
        return v[min(len(v) - 1, int(len(v) * p / 100))] * 1e3


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])  # kB
    return 0


# ---------------------------------------------------------------- acmedns

class Ours:
    def __init__(self, env):
        self.env = env
        self.acct = env.register()
        self.fd = self.acct["fulldomain"] + "."

    def prepare(self, tag, nruns):
        """Create the CNAMEs of every run up front (one nsd reload)."""
        cn = []
        for i in range(nruns):
            for base in (f"{tag}{i}.example.test",
                         f"www.{tag}{i}.example.test"):
                cn.append({"name": f"_acme-challenge.{base}.",
                           "target": self.fd})
        self.env.add_cnames(cn)

    def one(self, names, timeout=120):
        env = self.env
        t0 = time.monotonic()
        j = env.add_domain(self.acct, names)
        while time.monotonic() - t0 < timeout:
            d = env.domain_dir(j["id"], names[0])
            if d and os.path.exists(os.path.join(d, "fullchain.pem")):
                return time.monotonic() - t0
            time.sleep(0.005)
        raise RuntimeError(f"acmedns: {names} not on disk after {timeout} s:"
                           f" {env.get_domain(self.acct, j['id'])}")


# ---------------------------------------------------------------- peers

class Peers:
    def __init__(self, env, knot, workdir):
        self.env, self.knot = env, knot
        self.dir = os.path.join(workdir, "peers")
        os.makedirs(self.dir, exist_ok=True)
        self.upd = knot.hook_script(os.path.join(self.dir, "dnsupdate.sh"))
        self.url = env.pebble.dir_url
        self.ca = env.ca.ca_pem
        self.cenv = acmeenv.child_env({"REQUESTS_CA_BUNDLE": self.ca,
                                       "LEGO_CA_CERTIFICATES": self.ca})
        # uacme hook: $1 begin|done|failed $2 type $3 ident $4 token $5 auth
        self.uhook = write(os.path.join(self.dir, "uacme-hook.sh"), f"""\
#!/bin/sh
[ "$2" = dns-01 ] || exit 1
N="_acme-challenge.${{3#\\*.}}."
case "$1" in begin) exec {self.upd} add "$N" "$5";;
*) exec {self.upd} del "$N" "$5";; esac
""")
        os.chmod(self.uhook, 0o700)
        # certbot manual hooks
        self.cauth = write(os.path.join(self.dir, "certbot-auth.sh"), f"""\
#!/bin/sh
exec {self.upd} add "_acme-challenge.$CERTBOT_DOMAIN." "$CERTBOT_VALIDATION"
""")
        self.cclean = write(os.path.join(self.dir, "certbot-clean.sh"),
                            f"""#!/bin/sh
exec {self.upd} del "_acme-challenge.$CERTBOT_DOMAIN." "$CERTBOT_VALIDATION"
""")
        os.chmod(self.cauth, 0o700)
        os.chmod(self.cclean, 0o700)

    def _run(self, what, cmd, env=None, timeout=180):
        t0 = time.monotonic()
        rc, out, err = run(cmd, timeout=timeout, env=env or self.cenv,
                           cwd=self.dir)
        dt = time.monotonic() - t0
        if rc != 0:
            raise RuntimeError(f"{what}: rc {rc}\n{out[-2000:]}\n"
                               f"{err[-3000:]}")
        return dt

    # uacme 1.7.4 has no CA-file option: a private mount namespace shows it
    # a bundle with the test CA in place of the system one (root needed)
    def _uacme(self, args):
        udir = os.path.join(self.dir, "uacme")
        inner = " ".join(f"'{a}'" for a in
                         ["uacme", "-a", self.url, "-c", udir, *args])
        return ["unshare", "-m", "sh", "-c",
                f"mount --bind '{self.env.ca.bundle}' "
                f"/etc/ssl/certs/ca-certificates.crt && exec {inner}"]

    def setup(self):
        self._run("uacme new", self._uacme(["-y", "-t", "EC", "new",
                                            "bench@example.test"]))
        cb = os.path.join(self.dir, "certbot")
        self._run("certbot register", [
            "certbot", "register", "-n", "--agree-tos", "-m",
            "bench@example.test", "--no-eff-email", "--server", self.url,
            "--config-dir", f"{cb}/etc", "--work-dir", f"{cb}/work",
            "--logs-dir", f"{cb}/log"])
        # lego registers on its first run: one untimed warm-up
        self.lego([f"warmup.{PEER_ZONE}"])

    def uacme(self, names):
        return self._run("uacme issue", self._uacme(
            ["-f", "-t", "EC", "-h", self.uhook, "issue", *names]))

    def certbot(self, names):
        cb = os.path.join(self.dir, "certbot")
        cmd = ["certbot", "certonly", "-n", "--agree-tos", "--server",
               self.url, "--config-dir", f"{cb}/etc", "--work-dir",
               f"{cb}/work", "--logs-dir", f"{cb}/log", "--manual",
               "--preferred-challenges", "dns", "--manual-auth-hook",
               self.cauth, "--manual-cleanup-hook", self.cclean,
               "--key-type", "ecdsa", "--cert-name",
               names[0].replace("*.", "wild.")]
        for n in names:
            cmd += ["-d", n]
        return self._run("certbot certonly", cmd)

    def lego(self, names):
        env = dict(self.cenv)
        env.update({
            "RFC2136_NAMESERVER": f"127.0.0.1:{self.knot.port}",
            "RFC2136_TSIG_ALGORITHM": "hmac-sha256.",
            "RFC2136_TSIG_KEY": "acme-key",
            "RFC2136_TSIG_SECRET": self.knot.secret,
            "RFC2136_TTL": "1",
            "RFC2136_PROPAGATION_TIMEOUT": "30",
            "RFC2136_POLLING_INTERVAL": "1",
            "RFC2136_SEQUENCE_INTERVAL": "1"})
        cmd = ["lego", "--server", self.url, "--accept-tos", "--email",
               "bench@example.test", "--path",
               os.path.join(self.dir, "lego"), "--dns", "rfc2136",
               "--dns.resolvers", f"127.0.0.1:{self.env.unbound.port}",
               "--dns.disable-cp", "--key-type", "ec256"]
        for n in names:
            cmd += ["-d", n]
        return self._run("lego run", cmd + ["run"], env=env)


# ---------------------------------------------------------------- main

def fmt(ts):
    if not ts:
        return "-"
    return (f"{statistics.median(ts):.2f} s ({min(ts):.2f}-{max(ts):.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--acmedns", default="build/acmedns")
    ap.add_argument("--runs", type=int, default=int(
        os.environ.get("RUNS", "5")))
    ap.add_argument("--many", type=int, default=int(
        os.environ.get("MANY", "100")))
    ap.add_argument("--peers", default=os.environ.get(
        "PEERS", "uacme certbot lego"))
    ap.add_argument("--no-acmedns", action="store_true",
                    help="peers only (acmedns not started)")
    a = ap.parse_args()
    results = {}  # (tool, case) -> [s]

    env = acmeenv.Env(acmedns_bin=os.path.abspath(a.acmedns),
                      log=lambda m: log(m))
    knot = Knot(env.dir).start()
    keys = acmeenv.acmedns_keys(env.acmedns_bin)
    cd_key = acmeenv.first_key(keys, "acme", "check_delegation")
    try:
        env.start(pebble=True, nsd_zones=["example.test"],
                  acmedns=not a.no_acmedns,
                  extra_stubs={PEER_ZONE: knot.port},
                  acmedns_acme={cd_key: "true"} if cd_key else None)
        log(f"knotd {knot.proc.pid} on 127.0.0.1:{knot.port} ({PEER_ZONE})")
        modes = []
        if not a.no_acmedns:
            ours = Ours(env)
            modes.append(("acmedns", True))
            if cd_key:
                modes.append(("acmedns (no delegation check)", False))
        for tag, (label, check) in zip("ab", modes):
            if cd_key:
                env.restart_acmedns(config=env.acmedns_config(
                    acme={cd_key: "true" if check else "false"},
                    resolver_port=env.unbound.port))
            ours.prepare(tag, a.runs)
            for i in range(a.runs):
                results.setdefault((label, 1), []).append(
                    ours.one([f"{tag}{i}.example.test"]))
                results.setdefault((label, 3), []).append(
                    ours.one([f"{tag}{i}.example.test",
                              f"*.{tag}{i}.example.test",
                              f"www.{tag}{i}.example.test"]))
                log(f"{label} run {i}: {results[(label, 1)][-1]:.2f} s / "
                    f"{results[(label, 3)][-1]:.2f} s")

        if a.peers.split():
            peers = Peers(env, knot, env.dir)
            peers.setup()
        for tool in a.peers.split():
            fn = getattr(peers, tool)
            for i in range(a.runs):
                b = f"{tool[0]}{i}.{PEER_ZONE}"
                results.setdefault((tool, 1), []).append(fn([b]))
                results.setdefault((tool, 3), []).append(
                    fn([b, f"*.{b}", f"www.{b}"]))
                log(f"{tool} run {i}: {results[(tool, 1)][-1]:.2f} s / "
                    f"{results[(tool, 3)][-1]:.2f} s")

        many = {} if a.no_acmedns else burst(env, a.many, knot)
    finally:
        env.stop()
        knot.stop()

    print(f"\nACME time to a valid certificate, median of {a.runs} "
          "(min-max), one Pebble, PEBBLE_VA_NOSLEEP=1:\n")
    print("| client | 1 name | 3 names (apex, wildcard, www) |")
    print("|---|---|---|")
    for tool in [m[0] for m in modes] + a.peers.split():
        print(f"| {tool} | {fmt(results.get((tool, 1)))} | "
              f"{fmt(results.get((tool, 3)))} |")
    if many:
        print(f"\n{a.many} domains at once in acmedns ({a.many} "
              "registrations):\n")
    for k, v in many.items():
        print(f"- {k}: {v}")


def burst(env, n, knot=None):
    """n registrations, n CNAMEs, n POST /domains back to back; until all
    fullchain.pem files exist. Returns figures as text. With knot, the
    same probe also runs against knotd at the same time: a server that
    does nothing but DNS, under the same CPU contention (Pebble, unbound,
    the client), is the reference for "DNS unaffected"."""
    pid = env.acmedns.pid
    accts = [env.register() for _ in range(n)]
    names = [f"m{i:03d}.example.test" for i in range(n)]
    env.add_cnames([{"name": f"_acme-challenge.{nm}.",
                     "target": ac["fulldomain"] + "."}
                    for nm, ac in zip(names, accts)])
    idle = DnsLoop(env.dns_port, env.zone)
    idle.start()
    time.sleep(3)
    idle.stop()
    hwm0, rss0 = vm(pid, "VmHWM"), vm(pid, "VmRSS")
    busy = DnsLoop(env.dns_port, env.zone)
    busy.start()
    ref = DnsLoop(knot.port, PEER_ZONE) if knot else None
    if ref:
        ref.start()
    t0 = time.monotonic()
    ids = [(ac, env.add_domain(ac, [nm])["id"], nm)
           for nm, ac in zip(names, accts)]
    t_post = time.monotonic() - t0
    left = list(ids)
    while left and time.monotonic() - t0 < 600:
        left = [x for x in left
                if not (lambda d: d and os.path.exists(
                    os.path.join(d, "fullchain.pem")))(
                        env.domain_dir(x[1], x[2], timeout=0))]
        time.sleep(0.02)
    took = time.monotonic() - t0
    busy.stop()
    if ref:
        ref.stop()
    hwm1 = vm(pid, "VmHWM")
    bad = [env.get_domain(ac, i) for ac, i, _ in left[:3]]
    return {
        "all on disk": f"{took:.2f} s ({n - len(left)}/{n}; the {n} POSTs "
                       f"took {t_post:.2f} s)" + (f"; stuck: {bad}"
                                                  if left else ""),
        "acmedns VmHWM": f"{hwm0 / 1024:.1f} MiB before (VmRSS "
                         f"{rss0 / 1024:.1f}), {hwm1 / 1024:.1f} MiB after",
        "DNS idle": f"p50 {idle.pct(50):.3f} ms, p99 {idle.pct(99):.3f} ms "
                    f"({len(idle.lat)} queries, {idle.lost} lost)",
        "DNS during the run": f"p50 {busy.pct(50):.3f} ms, p99 "
                              f"{busy.pct(99):.3f} ms ({len(busy.lat)} "
                              f"queries, {busy.lost} lost)",
        **({"knotd at the same time (reference)":
            f"p50 {ref.pct(50):.3f} ms, p99 {ref.pct(99):.3f} ms "
            f"({len(ref.lat)} queries, {ref.lost} lost)"} if ref else {}),
    }


if __name__ == "__main__":
    if not shutil.which("knotd"):
        sys.exit("bench-acme needs knotd (apt-get install knot)")
    main()
