#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Scripted HTTPS (and plain HTTP) server for tests/unit/acmesrv/
test_acme_http.c: python3 standard library only, loopback only.

Usage: httpd.py CERT KEY
Binds 127.0.0.1 port 0 twice (TLS with CERT/KEY, and plain HTTP), prints
"TLSPORT PLAINPORT" on one line to stdout, then serves until killed (the
test kills it by PID). A parent that goes away closes our stdin: we exit
then too, so nothing outlives a crashed test.

Paths (GET unless noted):
  /json         200 JSON with Replay-Nonce, Location, two Link headers,
                Retry-After (and a duplicate Replay-Nonce: the first wins)
  /echo (POST)  200, body and Content-Type of the request echoed back
  /hdrs (POST)  200, "ua=<User-Agent> expect=<Expect or -> len=<body>"
  /nonce (HEAD) 200 with Replay-Nonce, no body
  /big          200 with Content-Length 2 MiB and the body
  /bigstream    200, 2 MiB without Content-Length (close-delimited)
  /redirect     301 Location: /json
  /slow         answers after 10 s
  /id/N         200 with body N (concurrency)
  /longhdr      200 with a 3000-byte Replay-Nonce and a normal Location
  /interim      a 103 Early Hints response first, then 200
"""

import http.server
import socketserver
import ssl
import sys
import threading
import time

BIG = 2 * 1024 * 1024


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test reads stdout
        pass

    def _send(self, code, body=b"", ctype="application/json", extra=()):
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        if self.path == "/nonce":
            self._send(200, ctype=None,
                       extra=[("Replay-Nonce", "head-nonce-1"),
                              ("Cache-Control", "no-store")])
        else:
            self._send(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n) if n > 0 else b""
        if self.path == "/echo":
            ct = self.headers.get("Content-Type") or "none/none"
            self._send(200, body, ctype=ct,
                       extra=[("Replay-Nonce", "post-nonce")])
        elif self.path == "/hdrs":
            info = "ua=%s expect=%s len=%d" % (
                self.headers.get("User-Agent"),
                self.headers.get("Expect") or "-", len(body))
            self._send(200, info.encode(), ctype="text/plain")
        else:
            self._send(404)

    def do_GET(self):
        p = self.path
        if p == "/json":
            self._send(200, b'{"status":"valid"}',
                       extra=[("Replay-Nonce", "nonce-1"),
                              ("Replay-Nonce", "nonce-2"),
                              ("Location", "https://127.0.0.1/acme/acct/1"),
                              ("Link", '<https://127.0.0.1/dir>;rel="index"'),
                              ("Link", '<https://127.0.0.1/alt/1>;'
                                       'rel="alternate"'),
                              ("Retry-After", "3")])
        elif p == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(BIG))
            self.end_headers()
            self._stream(BIG)
        elif p == "/bigstream":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            self._stream(BIG)
        elif p == "/redirect":
            self._send(301, b"moved", ctype="text/plain",
                       extra=[("Location", "/json")])
        elif p == "/slow":
            time.sleep(10)
            self._send(200, b"late")
        elif p.startswith("/id/"):
            self._send(200, p[4:].encode(), ctype="text/plain")
        elif p == "/longhdr":
            self._send(200, b"{}", extra=[("Replay-Nonce", "n" * 3000),
                                          ("Location", "/short")])
        elif p == "/interim":
            self.wfile.write(b"HTTP/1.1 103 Early Hints\r\n"
                             b"Link: </early>; rel=preload\r\n"
                             b"Location: /early\r\n\r\n")
            self._send(200, b"{}", extra=[("Location", "/final")])
        else:
            self._send(404, b'{"error":"not found"}')

    def _stream(self, n):
        chunk = b"x" * 65536
        try:
            while n > 0:
                k = min(n, len(chunk))
                self.wfile.write(chunk[:k])
                n -= k
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError,
                OSError):
            self.close_connection = True


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class TLSServer(Server):
    ctx = None

    def get_request(self):
        sock, addr = self.socket.accept()
        # the handshake runs in the handler thread (on first read), so a
        # client that stalls it cannot block accept()
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass  # clients that reject our certificate are expected


def main():
    cert, key = sys.argv[1], sys.argv[2]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls = TLSServer(("127.0.0.1", 0), Handler)
    tls.ctx = ctx
    plain = Server(("127.0.0.1", 0), Handler)
    for s in (tls, plain):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    sys.stdout.write(f"{tls.server_address[1]} {plain.server_address[1]}\n")
    sys.stdout.flush()
    # exit when the test closes our stdin (or dies)
    try:
        sys.stdin.read()
    except Exception:
        pass


if __name__ == "__main__":
    main()
