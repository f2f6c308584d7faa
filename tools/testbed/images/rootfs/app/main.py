#!/usr/bin/env python3
"""The testbed's application: what ghcr.io/fastapi-app/backend stands for.

    GET /         JSON: the release (env RELEASE; the image sets its tag),
                  the host name, and `select 1` through DATABASE_URL, or the
                  error when the database cannot be reached
    GET /health   200 whenever the server answers; the database is not asked
    GET /metrics  http_requests_total{handler,method,status} as
                  prometheus-fastapi-instrumentator counts (status in classes,
                  2xx, 4xx, 5xx), the counter the program's error-rate alert reads

It listens on PORT (8000) and appends an access log to /app/logs when it can.
"""

import json
import os
import signal
import socket
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

RELEASE = os.environ.get("RELEASE", "unknown")
PORT = int(os.environ.get("PORT", "8000"))
LOG_DIRECTORY = os.environ.get("LOG_DIRECTORY", "/app/logs")
HANDLERS = ("/", "/health", "/metrics")

counts = {}
counts_lock = threading.Lock()


def database():
    url = os.environ.get("DATABASE_URL")
    if not url:
        return {"configured": False}
    try:
        connection = psycopg2.connect(url, connect_timeout=3)
        try:
            with connection.cursor() as cursor:
                cursor.execute("select 1")
                (value,) = cursor.fetchone()
                cursor.execute("select current_user, current_database(), split_part(version(), ' ', 2)")
                user, name, version = cursor.fetchone()
        finally:
            connection.close()
        return {"configured": True, "ok": True, "select_1": value, "user": user, "database": name, "server_version": version}
    except psycopg2.Error as error:
        return {"configured": True, "ok": False, "error": str(error).strip()}


def metrics():
    lines = [
        "# HELP http_requests_total Total number of requests by method, status and handler.",
        "# TYPE http_requests_total counter",
    ]
    with counts_lock:
        for (handler, method, status), count in sorted(counts.items()):
            lines.append(f'http_requests_total{{handler="{handler}",method="{method}",status="{status}"}} {count}.0')
    lines += [
        "# HELP app_build_info The release this process serves.",
        "# TYPE app_build_info gauge",
        f'app_build_info{{release="{RELEASE}"}} 1.0',
    ]
    return "\n".join(lines) + "\n"


def access_log(line):
    print(line, file=sys.stderr, flush=True)
    try:
        with open(os.path.join(LOG_DIRECTORY, "access.log"), "a", encoding="utf-8") as file:
            file.write(line + "\n")
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    server_version = f"backend/{RELEASE}"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/":
            status, content_type = 200, "application/json"
            body = json.dumps({"service": "backend", "release": RELEASE, "hostname": socket.gethostname(), "database": database()})
        elif path == "/health":
            status, content_type, body = 200, "application/json", json.dumps({"status": "ok", "release": RELEASE})
        elif path == "/metrics":
            status, content_type, body = 200, "text/plain; version=0.0.4; charset=utf-8", metrics()
        else:
            status, content_type, body = 404, "application/json", json.dumps({"detail": "Not Found"})
        handler = path if path in HANDLERS else "none"
        with counts_lock:
            key = (handler, "GET", f"{status // 100}xx")
            counts[key] = counts.get(key, 0) + 1
        payload = (body + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        access_log(f'{self.client_address[0]} - - [{datetime.now(timezone.utc).isoformat()}] "GET {self.path}" {status} {len(payload)}')


def main():
    # As PID 1 the process gets no default SIGTERM action: stop at once.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print(f"backend {RELEASE} listening on :{PORT}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
