#!/usr/bin/env python3
"""HTTP stand-ins for the images Debian has no package for.

    standin.py PRODUCT [flags...]

PRODUCT is grafana, loki, promtail, cadvisor or qdrant. Each takes the
command-line flags and the configuration files of the real image, fails to
start where the real one would on what the testbed can check (a missing
config file, a data directory it cannot write, provisioning that does not
parse), and answers on the real port: 200 on the health paths the program
checks, and /metrics in the Prometheus text format. It does nothing else:
no queries, no dashboards, no vectors (tools/testbed/images/README.md).
"""

import base64
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml


class StartupError(Exception):
    """What the real image would print before exiting."""


def parse_flags(arguments):
    """Go-style flags: -name=value, --name=value, -name value, and booleans."""
    flags = {}
    index = 0
    while index < len(arguments):
        argument = arguments[index]
        if not argument.startswith("-"):
            raise StartupError(f"unexpected argument {argument!r}")
        name = argument.lstrip("-")
        if "=" in name:
            name, value = name.split("=", 1)
        elif index + 1 < len(arguments) and not arguments[index + 1].startswith("-") and name.endswith(".file"):
            index += 1
            value = arguments[index]
        else:
            value = "true"
        flags[name] = value
        index += 1
    return flags


def read_yaml(path, what):
    try:
        with open(path, encoding="utf-8") as file:
            return yaml.safe_load(file) or {}
    except OSError as error:
        raise StartupError(f"failed parsing config: {what} {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise StartupError(f"failed parsing config: {what} {path}: {error}") from error


def writable_directory(path):
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".testbed-standin")
        with open(probe, "w", encoding="utf-8") as file:
            file.write(str(os.getpid()))
    except OSError as error:
        raise StartupError(f"mkdir {path}: {error.strerror}") from error


def environment(name, default=None):
    """NAME, or the content of the file NAME__FILE names (Grafana's convention)."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}__FILE")
    if path:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    return default


class Service:
    """One product: its port, its answers, and its Prometheus metrics."""

    def __init__(self, product, version, port):
        self.product = product
        self.version = version
        self.port = port
        self.routes = {}
        self.protected = None
        self.lock = threading.Lock()
        self.requests = {}
        self.extra_metrics = lambda: []

    def route(self, method, path, handler):
        self.routes[(method, path)] = handler

    def text(self, body, status=200, content_type="text/plain; charset=utf-8"):
        return lambda request, payload: (status, content_type, body.encode())

    def json(self, value, status=200):
        return lambda request, payload: (status, "application/json", json.dumps(value).encode())

    def count(self, path, status):
        with self.lock:
            key = (path, status)
            self.requests[key] = self.requests.get(key, 0) + 1

    def metrics(self):
        lines = [
            "# HELP testbed_standin_info The image this testbed stand-in answers for.",
            "# TYPE testbed_standin_info gauge",
            f'testbed_standin_info{{product="{self.product}",version="{self.version}"}} 1',
            "# HELP testbed_standin_requests_total HTTP requests answered, by path and status code.",
            "# TYPE testbed_standin_requests_total counter",
        ]
        with self.lock:
            for (path, status), count in sorted(self.requests.items()):
                lines.append(f'testbed_standin_requests_total{{path="{path}",code="{status}"}} {count}')
        lines.extend(self.extra_metrics())
        return "\n".join(lines) + "\n"

    def serve(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            server_version = f"{service.product}-testbed/{service.version}"

            def log_message(self, format, *args):  # noqa: A002 (the base class's name)
                pass

            def answer(self, method):
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                payload = self.rfile.read(length) if length else b""
                handler = service.routes.get((method, path))
                if path == "/metrics" and method == "GET":
                    handler = lambda request, body: (200, "text/plain; version=0.0.4; charset=utf-8", service.metrics().encode())  # noqa: E731
                if service.protected and not service.protected(self, path):
                    status, content_type, body = 401, "text/plain", b"Unauthorized\n"
                elif handler is None:
                    status, content_type, body = 404, "text/plain", b"404 page not found\n"
                else:
                    status, content_type, body = handler(self, payload)
                known = path if (method, path) in service.routes or path == "/metrics" else "other"
                service.count(known, status)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(body)

            def do_GET(self):
                self.answer("GET")

            def do_HEAD(self):
                self.answer("GET")

            def do_POST(self):
                self.answer("POST")

        server = ThreadingHTTPServer(("0.0.0.0", self.port), Handler)
        print(f"{self.product} (testbed stand-in for {self.version}) listening on :{self.port}", file=sys.stderr, flush=True)
        server.serve_forever()


def grafana(arguments):
    parse_flags([argument for argument in arguments if argument.startswith("-")])
    service = Service("grafana", "11.4.0", int(environment("GF_SERVER_HTTP_PORT", "3000")))
    writable_directory(environment("GF_PATHS_DATA", "/var/lib/grafana"))
    provisioning = environment("GF_PATHS_PROVISIONING", "/etc/grafana/provisioning")
    datasources, dashboards = [], 0
    for kind in ("datasources", "dashboards"):
        directory = os.path.join(provisioning, kind)
        for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
            if not name.endswith((".yaml", ".yml")):
                continue
            document = read_yaml(os.path.join(directory, name), f"{kind} provisioning")
            if kind == "datasources":
                datasources.extend(document.get("datasources") or [])
                continue
            for provider in document.get("providers") or []:
                path = (provider.get("options") or {}).get("path", "")
                for dashboard in sorted(os.listdir(path)) if os.path.isdir(path) else []:
                    if dashboard.endswith(".json"):
                        try:
                            with open(os.path.join(path, dashboard), encoding="utf-8") as file:
                                json.load(file)
                        except ValueError as error:
                            raise StartupError(f"failed to load dashboard from {path}/{dashboard}: {error}") from error
                        dashboards += 1
    user = environment("GF_SECURITY_ADMIN_USER", "admin")
    password = environment("GF_SECURITY_ADMIN_PASSWORD", "admin")
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    service.protected = lambda request, path: path.startswith(("/api/health", "/login", "/metrics")) or request.headers.get("Authorization") == expected
    service.route("GET", "/api/health", service.json({"commit": "testbed", "database": "ok", "version": "11.4.0"}))
    service.route("GET", "/login", service.text("<!DOCTYPE html><title>Grafana</title>", content_type="text/html"))
    service.route("GET", "/api/datasources", service.json([{"name": d.get("name"), "type": d.get("type"), "url": d.get("url"), "uid": d.get("uid")} for d in datasources]))
    service.route("GET", "/api/search", service.json([{"type": "dash-db"}] * dashboards))
    return service


def loki(arguments):
    flags = parse_flags(arguments)
    if "config.file" not in flags:
        raise StartupError("failed parsing config: missing -config.file")
    config = read_yaml(flags["config.file"], "config file")
    port = int((config.get("server") or {}).get("http_listen_port", 3100))
    prefix = (config.get("common") or {}).get("path_prefix", "/loki")
    chunks = os.path.join(prefix, "chunks")
    writable_directory(chunks)
    service = Service("loki", "3.3.2", port)
    labels, received = set(), {"lines": 0}

    def push(request, payload):
        if "json" not in (request.headers.get("Content-Type") or ""):
            return 415, "text/plain", b"the testbed's loki stand-in takes JSON pushes only\n"
        try:
            streams = json.loads(payload).get("streams", [])
        except ValueError:
            return 400, "text/plain", b"invalid JSON\n"
        with service.lock:
            for stream in streams:
                labels.update((stream.get("stream") or {}).keys())
                received["lines"] += len(stream.get("values") or [])
        with open(os.path.join(chunks, "pushes.jsonl"), "ab") as file:
            file.write(payload.rstrip(b"\n") + b"\n")
        return 204, "text/plain", b""

    service.route("GET", "/ready", service.text("ready\n"))
    service.route("POST", "/loki/api/v1/push", push)
    service.route("GET", "/loki/api/v1/labels", lambda request, payload: (200, "application/json", json.dumps({"status": "success", "data": sorted(labels)}).encode()))
    service.extra_metrics = lambda: [
        "# HELP loki_distributor_lines_received_total Log lines received through the push API.",
        "# TYPE loki_distributor_lines_received_total counter",
        f"loki_distributor_lines_received_total {received['lines']}",
    ]
    return service


def promtail(arguments):
    flags = parse_flags(arguments)
    if "config.file" not in flags:
        raise StartupError("failed parsing config: missing -config.file")
    config = read_yaml(flags["config.file"], "config file")
    port = int((config.get("server") or {}).get("http_listen_port", 80))
    positions = (config.get("positions") or {}).get("filename", "/var/log/positions.yaml")
    writable_directory(os.path.dirname(positions))
    with open(positions, "w", encoding="utf-8") as file:
        file.write("positions: {}\n")
    service = Service("promtail", "3.3.2", port)
    service.route("GET", "/ready", service.text("Ready\n"))
    for client in config.get("clients") or []:
        threading.Thread(target=push_until_accepted, args=(client["url"],), daemon=True).start()
    return service


def push_until_accepted(url, attempts=150):
    """One line into each client's Loki, so a test sees logs arrive; retried while Loki starts."""
    line = {"streams": [{"stream": {"job": "promtail", "source": "testbed-standin"}, "values": [[str(time.time_ns()), "promtail stand-in started"]]}]}
    request = urllib.request.Request(url, data=json.dumps(line).encode(), headers={"Content-Type": "application/json"}, method="POST")
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                print(f"promtail: pushed to {url}: {response.status}", file=sys.stderr, flush=True)
                return
        except OSError:
            time.sleep(2)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.socket_path)


def docker_containers(path="/var/run/docker.sock"):
    if not os.path.exists(path):
        return []
    try:
        connection = UnixHTTPConnection(path)
        connection.request("GET", "/containers/json")
        return json.loads(connection.getresponse().read())
    except (OSError, ValueError):
        return []


def cadvisor(arguments):
    flags = parse_flags(arguments)
    service = Service("cadvisor", "v0.49.1", int(flags.get("port", "8080")))
    service.route("GET", "/healthz", service.text("ok"))
    service.route("GET", "/containers/", service.text("<!DOCTYPE html><title>cAdvisor</title>", content_type="text/html"))

    def container_metrics():
        now = time.time()
        lines = [
            "# HELP cadvisor_version_info A metric with a constant '1' value labeled by the cAdvisor version.",
            "# TYPE cadvisor_version_info gauge",
            'cadvisor_version_info{cadvisorVersion="v0.49.1"} 1',
            "# HELP container_last_seen Last time a container was seen by the exporter",
            "# TYPE container_last_seen gauge",
        ]
        for container in docker_containers():
            name = (container.get("Names") or ["/"])[0].lstrip("/")
            service_label = (container.get("Labels") or {}).get("infra.service", "")
            lines.append(
                f'container_last_seen{{id="/docker/{container.get("Id", "")}",image="{container.get("Image", "")}",name="{name}",container_label_infra_service="{service_label}"}} {now:.3f}'
            )
        return lines

    service.extra_metrics = container_metrics
    return service


def qdrant(arguments):
    parse_flags(arguments)
    service = Service("qdrant", "1.12.5", int(os.environ.get("QDRANT__SERVICE__HTTP_PORT", "6333")))
    writable_directory(os.environ.get("QDRANT__STORAGE__STORAGE_PATH", "./storage"))
    writable_directory(os.environ.get("QDRANT__STORAGE__SNAPSHOTS_PATH", "./snapshots"))
    key = os.environ.get("QDRANT__SERVICE__API_KEY")
    if key:
        service.protected = lambda request, path: path in ("/healthz", "/livez", "/readyz") or key in (request.headers.get("api-key"), (request.headers.get("Authorization") or "").removeprefix("Bearer "))
    service.route("GET", "/", service.json({"title": "qdrant - vector search engine", "version": "1.12.5"}))
    for path in ("/healthz", "/livez", "/readyz"):
        service.route("GET", path, service.text(f"{path[1:]} check passed"))
    service.route("GET", "/collections", service.json({"result": {"collections": []}, "status": "ok", "time": 0.0}))
    return service


PRODUCTS = {"grafana": grafana, "loki": loki, "promtail": promtail, "cadvisor": cadvisor, "qdrant": qdrant}


def main(argv):
    if len(argv) < 2 or argv[1] not in PRODUCTS:
        print(f"usage: standin.py {{{','.join(PRODUCTS)}}} [flags...]", file=sys.stderr)
        return 2
    # As PID 1 the process gets no default SIGTERM action: stop at once, as the real servers do.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        service = PRODUCTS[argv[1]](argv[2:])
    except StartupError as error:
        print(f"{argv[1]}: {error}", file=sys.stderr)
        return 1
    service.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
