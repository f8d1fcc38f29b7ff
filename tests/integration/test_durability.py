#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: durability of acknowledged writes. Several threads run
registers and updates over keep-alive connections; the daemon is killed
with SIGKILL mid-burst and restarted on the same store. Every registration
that got its 201 must work (its credentials update) and every subdomain
must serve its last acknowledged TXT value (nothing but acknowledged or
in-flight values, at most txt_slots of them); registrations never
acknowledged either fully work or do not exist (acmedns_registrations
stays within acknowledged .. acknowledged + in flight). Three rounds on
one store, each checking every earlier round too."""

import json
import random
import threading
import time

from apiclient import (ApiDaemon, HttpError, build_request, metric_sum,
                       rand_txt)
from harness import Results, std_args

THREADS = 6
ROUNDS = 3


class Book:
    """What the clients know: acknowledged registrations and values."""

    def __init__(self):
        self.lock = threading.Lock()
        self.regs = {}        # subdomain -> reg dict
        self.acked = {}       # subdomain -> [values acked, in order]
        self.inflight = {}    # subdomain -> value sent, no answer yet
        self.reg_inflight = 0
        self.reg_inflight_at_kill = 0
        self.unknown_regs = 0  # registrations in flight at any kill
        self.errors = []


def worker(a, book, stop, rng_seed):
    rng = random.Random(rng_seed)
    hp = a.hostport()
    mine = []
    try:
        c = a.conn(timeout=10)
    except OSError:
        return
    try:
        while not stop.is_set():
            if not mine or rng.random() < 0.3:
                with book.lock:
                    book.reg_inflight += 1
                c.send(build_request("POST", "/register", hp, body=b""))
                r = c.read_response()
                with book.lock:
                    book.reg_inflight -= 1
                if r.status != 201:
                    book.errors.append(f"register -> {r.status} {r.body!r}")
                    continue
                reg = r.json()
                with book.lock:
                    book.regs[reg["subdomain"]] = reg
                    book.acked[reg["subdomain"]] = []
                mine.append(reg)
            else:
                reg = rng.choice(mine)
                v = rand_txt()
                sub = reg["subdomain"]
                with book.lock:
                    book.inflight[sub] = v
                c.send(build_request(
                    "POST", "/update", hp,
                    [("X-Api-User", reg["username"]),
                     ("X-Api-Key", reg["password"])],
                    json.dumps({"subdomain": sub, "txt": v})))
                r = c.read_response()
                with book.lock:
                    if r.status == 200:
                        book.acked[sub].append(v)
                        del book.inflight[sub]
                    else:
                        book.errors.append(f"update -> {r.status} {r.body!r}")
                        del book.inflight[sub]
    except (OSError, HttpError):
        pass  # the kill
    finally:
        c.close()


def verify(res, a, book, tag, slots=2):
    """After a restart: DNS and credentials match what was acknowledged."""
    bad_dns, bad_creds = [], []
    for sub, reg in book.regs.items():
        rc, vals = a.txt(sub)
        acked = book.acked.get(sub, [])
        infl = book.inflight.get(sub)
        allowed = set(acked) | ({infl} if infl else set())
        if rc != 0:
            bad_dns.append(f"{sub}: rcode {rc} (registration lost)")
            continue
        if infl and infl in vals:
            acked.append(infl)  # committed, answer lost in the kill
        if acked and acked[-1] not in vals:
            bad_dns.append(f"{sub}: last acked {acked[-1]} not served; "
                           f"served {vals}; acked {acked[-3:]}, in flight "
                           f"{infl}")
        if not set(vals) <= allowed:
            bad_dns.append(f"{sub}: serves unknown values "
                           f"{sorted(set(vals) - allowed)}")
        if len(vals) > slots:
            bad_dns.append(f"{sub}: {len(vals)} values > {slots} slots")
        if acked and len(acked) >= 2 and infl is None and \
                sorted(acked[-2:]) != vals and len(set(acked[-2:])) == 2:
            bad_dns.append(f"{sub}: served {vals}, want the last two acked "
                           f"{sorted(acked[-2:])}")
    res.check(not bad_dns, f"{tag}: all {len(book.regs)} acknowledged "
              "registrations exist, each serves its last acknowledged value "
              "and nothing unacknowledged", "\n".join(bad_dns[:10]))
    _, s, _ = a.metrics()
    n = metric_sum(s, "acmedns_registrations")
    lo, hi = len(book.regs), len(book.regs) + book.unknown_regs
    res.check(n is not None and lo <= n <= hi,
              f"{tag}: acmedns_registrations {n} within acknowledged {lo} .. "
              f"{hi} (+ in flight at the kill)")
    for sub, reg in book.regs.items():
        v = rand_txt()
        try:
            r = a.update_reg(reg, v)
        except OSError as e:
            bad_creds.append(f"{sub}: {e!r}")
            continue
        if r.status != 200:
            bad_creds.append(f"{sub}: update -> {r.status} {r.body!r}")
            continue
        rc, vals = a.txt(sub)
        if v not in vals:
            bad_creds.append(f"{sub}: new value not served: {vals}")
        book.acked[sub].append(v)
    book.inflight.clear()
    res.check(not bad_creds, f"{tag}: every acknowledged registration's "
              "credentials still update", "\n".join(bad_creds[:10]))


def main():
    args = std_args(__doc__)
    res = Results("durability")
    a = ApiDaemon(args.acmedns, "durable")
    try:
        a.start()
    except RuntimeError as e:
        res.check(False, "daemon starts with the API", str(e))
        res.finish()
    book = Book()
    rng = random.Random()
    for rnd in range(1, ROUNDS + 1):
        res.section(f"round {rnd}: burst from {THREADS} keep-alive clients, "
                    "kill -9 mid-burst")
        stop = threading.Event()
        ts = [threading.Thread(target=worker,
                               args=(a, book, stop, rng.getrandbits(32)),
                               daemon=True) for _ in range(THREADS)]
        n_regs0 = len(book.regs)
        n_upd0 = sum(len(v) for v in book.acked.values())
        for t in ts:
            t.start()
        delay = rng.uniform(1.5, 3.0)
        time.sleep(delay)
        with book.lock:
            book.reg_inflight_at_kill = book.reg_inflight
            err = a.kill9()
        stop.set()
        for t in ts:
            t.join(15)
        book.unknown_regs += book.reg_inflight_at_kill
        book.reg_inflight = 0
        n_regs = len(book.regs) - n_regs0
        n_upd = sum(len(v) for v in book.acked.values()) - n_upd0
        res.note(f"killed after {delay:.1f} s: {n_regs} registrations and "
                 f"{n_upd} updates acknowledged this round, "
                 f"{book.reg_inflight_at_kill} registrations and "
                 f"{len(book.inflight)} updates in flight")
        res.check(n_regs > 0 and n_upd > 0, f"round {rnd}: the burst made "
                  "progress before the kill")
        res.check(not book.errors, f"round {rnd}: no request failed before "
                  "the kill", book.errors[:5])
        book.errors.clear()
        from harness import sanitizer_hits
        res.check(not sanitizer_hits(err), f"round {rnd}: no sanitizer "
                  "report before the kill", err[-2000:])
        try:
            a.start()
        except RuntimeError as e:
            res.check(False, f"round {rnd}: restart on the same store", str(e))
            break
        res.check(True, f"round {rnd}: restarted on the same store")
        verify(res, a, book, f"round {rnd}")
    if a.alive():
        a.check_alive(res, "end")
        a.stop(res)
    res.finish()


if __name__ == "__main__":
    main()
