#!/usr/bin/env python3
"""A tiny web app in one version, for the traffic canary example and tests.

  canary_app.py --version V --listen ADDR [--broken] [--metrics-port N]
                [--targets-file F] [--ready-file F]

ADDR is host:port or unix:/path. GET / answers 200 "version V" with an
X-Version: V header (500 with --broken). /metrics (on ADDR, and on
127.0.0.1:N when --metrics-port is given; 0 picks a free port) exports
http_requests_total{version,code} and the histogram
http_request_duration_seconds{version}. With --targets-file the metrics
address is written there as a Prometheus file_sd target list.
"""
import argparse
import json
import os
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer

BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0]


class Metrics:
    def __init__(self, version):
        self.version = version
        self.lock = threading.Lock()
        self.requests = {}
        self.buckets = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, code, seconds):
        with self.lock:
            self.requests[code] = self.requests.get(code, 0) + 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.buckets[i] += 1
            self.count += 1
            self.total += seconds

    def text(self):
        v = self.version
        with self.lock:
            lines = ["# TYPE http_requests_total counter"]
            for code in ("200", "500"):
                n = self.requests.get(code, 0)
                lines.append(f'http_requests_total{{version="{v}",code="{code}"}} {n}')
            lines.append("# TYPE http_request_duration_seconds histogram")
            for bound, n in zip(BUCKETS, self.buckets):
                lines.append(f'http_request_duration_seconds_bucket{{version="{v}",le="{bound}"}} {n}')
            lines.append(f'http_request_duration_seconds_bucket{{version="{v}",le="+Inf"}} {self.count}')
            lines.append(f'http_request_duration_seconds_sum{{version="{v}"}} {self.total}')
            lines.append(f'http_request_duration_seconds_count{{version="{v}"}} {self.count}')
        return "\n".join(lines) + "\n"


def handler(metrics, broken):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def address_string(self):
            return "local"

        def do_GET(self):
            started = time.monotonic()
            if self.path.startswith("/metrics"):
                self.answer(200, metrics.text(), "text/plain; version=0.0.4")
                return
            code = 500 if broken and self.path != "/health" else 200
            self.answer(code, f"version {metrics.version}\n", "text/plain")
            if self.path != "/health":
                metrics.observe(str(code), time.monotonic() - started)

        def answer(self, code, body, kind):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("X-Version", metrics.version)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


# Python's default listen backlog is 5: under load (the test's users, the example's own load,
# Prometheus scraping, the router's read-back) nginx's connect() to the unix socket then fails
# with EAGAIN and a healthy version answers 502. A real server listens with a deeper queue.
BACKLOG = 512


class UnixHTTPServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    def get_request(self):
        request, _ = super().get_request()
        return request, ("local", 0)


class TcpHTTPServer(ThreadingHTTPServer):
    request_queue_size = BACKLOG


def serve(address, make_handler):
    if address.startswith("unix:"):
        path = address[len("unix:"):]
        if os.path.exists(path):
            os.unlink(path)
        server = UnixHTTPServer(path, make_handler)
    else:
        host, port = address.rsplit(":", 1)
        server = TcpHTTPServer((host, int(port)), make_handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--broken", action="store_true")
    parser.add_argument("--metrics-port", type=int)
    parser.add_argument("--targets-file")
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    metrics = Metrics(args.version)
    make_handler = handler(metrics, args.broken)
    serve(args.listen, make_handler)
    if args.metrics_port is not None:
        server = serve(f"127.0.0.1:{args.metrics_port}", make_handler)
        port = server.server_address[1]
        if args.targets_file:
            target = [{"targets": [f"127.0.0.1:{port}"], "labels": {"app_version": args.version}}]
            write_atomically(args.targets_file, json.dumps(target))
    if args.ready_file:
        write_atomically(args.ready_file, str(os.getpid()))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
