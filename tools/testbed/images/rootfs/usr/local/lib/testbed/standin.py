#!/usr/bin/env python3
"""Stand-ins for the images Debian has no package for.

    standin.py PRODUCT [flags...]
    PRODUCT [flags...]          (a link named n8n, litellm, diun or alloy)

PRODUCT is grafana, loki, promtail, cadvisor, qdrant, n8n, litellm, diun or
alloy. Each takes the command-line flags, the environment and the
configuration files of the real image, fails to start where the real one
would on what the testbed can check (a missing config file, a data directory
it cannot write, provisioning that does not parse, a database that refuses
its credentials), and answers on the real port: 200 on the health paths the
program checks, and /metrics in the Prometheus text format. It does little
else: no queries, no dashboards, no vectors, no workflows run, no model
calls (tools/testbed/images/README.md says what each one does and does not).
"""

import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
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
    """NAME, or the content of the file NAME__FILE names, as the grafana
    image's run.sh and Grafana take it: run.sh refuses both forms at once and
    exports `$(cat file)`, trailing newlines dropped. Under `set -e` a file it
    cannot read stops nothing (export's status is export's own): cat's error
    is printed and the variable is empty, and Grafana ignores an empty
    variable (applyEnvVariableOverrides), so the setting keeps its default:
    an admin password file Grafana may not read leaves the password "admin"."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}__FILE")
    if path:
        if value:
            raise StartupError(f"ERROR: Both {name} and {name}__FILE are set (but are exclusive)")
        try:
            with open(path, encoding="utf-8") as file:
                value = file.read().rstrip("\n")
        except OSError as error:
            print(f"cat: can't open '{path}': {error.strerror}", file=sys.stderr, flush=True)
            value = ""
    return value if value else default


class Service:
    """One product: its port, its answers, and its Prometheus metrics."""

    def __init__(self, product, version, port, host="0.0.0.0"):
        self.product = product
        self.version = version
        self.port = port
        self.host = host
        self.routes = {}
        self.protected = None
        self.lock = threading.Lock()
        self.requests = {}
        self.extra_metrics = lambda: []
        self.metrics_enabled = True
        self.unauthorized = lambda: (401, "text/plain", b"Unauthorized\n")

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
                if path == "/metrics" and method == "GET" and service.metrics_enabled:
                    handler = lambda request, body: (200, "text/plain; version=0.0.4; charset=utf-8", service.metrics().encode())  # noqa: E731
                if service.protected and not service.protected(self, path):
                    status, content_type, body = service.unauthorized()
                elif handler is None:
                    status, content_type, body = 404, "text/plain", b"404 page not found\n"
                else:
                    status, content_type, body = handler(self, payload)
                known = path if (method, path) in service.routes or (path == "/metrics" and service.metrics_enabled) else "other"
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

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        print(f"{self.product} (testbed stand-in for {self.version}) listening on {self.host}:{self.port}", file=sys.stderr, flush=True)
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
    for scrape in config.get("scrape_configs") or []:
        for sd in scrape.get("docker_sd_configs") or []:
            threading.Thread(target=docker_discovery, args=("promtail", DockerAPI(sd.get("host", "unix:///var/run/docker.sock"))), daemon=True).start()
    return service


def docker_discovery(product, api):
    """docker_sd's calls, once: the containers and the networks; the count or the error is logged."""
    try:
        containers, networks = docker_containers(api), api.json("/networks")
        log(product, f"docker discovery: {len(containers)} container(s) on {len(networks)} network(s)")
    except DockerAPIError as error:
        log(product, f"docker discovery failed: {error}")


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


class DockerAPIError(Exception):
    """A call the Engine API (or the socket proxy in front of it) did not answer with 2xx, or could not be made."""


class DockerAPI:
    """The Engine API at unix:///path or tcp://host:port, called as the Go client calls it: a ping for
    the API version first, then every path prefixed with it (/v1.41/containers/json)."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.version = None

    def connection(self):
        if self.endpoint.startswith("unix://"):
            return UnixHTTPConnection(self.endpoint.removeprefix("unix://"))
        if self.endpoint.startswith("tcp://"):
            host, _, port = self.endpoint.removeprefix("tcp://").rstrip("/").rpartition(":")
            return http.client.HTTPConnection(host, int(port or 2375), timeout=5)
        raise DockerAPIError(f"unable to parse docker host {self.endpoint!r}")

    def call(self, method, path):
        try:
            connection = self.connection()
            try:
                connection.request(method, path)
                response = connection.getresponse()
                return response.status, response.getheader("Api-Version"), response.read()
            finally:
                connection.close()
        except OSError as error:
            raise DockerAPIError(f"Cannot connect to the Docker daemon at {self.endpoint}: {error}") from error

    def get(self, path):
        if self.version is None:
            status, version, _ = self.call("HEAD", "/_ping")
            if status != 200:
                raise DockerAPIError(f"Error response from daemon: HEAD /_ping: {status}")
            self.version = version or "1.41"
        status, _, body = self.call("GET", f"/v{self.version}{path}")
        if status // 100 != 2:
            raise DockerAPIError(f"Error response from daemon: GET /v{self.version}{path}: {status} {body[:120].decode('utf-8', 'replace').strip()}")
        return body

    def json(self, path):
        return json.loads(self.get(path))


def docker_containers(api):
    """The running containers, as `docker ps` lists them."""
    return api.json("/containers/json")


def cgroup_container_ids(root="/sys/fs/cgroup"):
    """Container ids from the cgroup tree, as cAdvisor finds containers (docker-<id>.scope or docker/<id>)."""
    ids = []
    for directory, subdirectories, _ in os.walk(root):
        if directory.count("/") - root.count("/") >= 3:
            subdirectories[:] = []
        for name in subdirectories:
            match = re.fullmatch(r"(?:docker-)?([0-9a-f]{64})(?:\.scope)?", name)
            if match and match.group(1) not in ids:
                ids.append(match.group(1))
    return ids


def cadvisor(arguments):
    flags = parse_flags(arguments)
    service = Service("cadvisor", "v0.49.1", int(flags.get("port", "8080")))
    # As cAdvisor's docker factory registers: the daemon's version and facts; without them it runs without Docker's containers.
    api = DockerAPI(flags.get("docker", "unix:///var/run/docker.sock"))
    try:
        api.get("/version")
        api.get("/info")
    except DockerAPIError as error:
        log("cadvisor", f"Registration of the docker container factory failed: {error}")
        api = None
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
        # Containers come from the cgroup tree; the daemon is asked about each one (its name, image and labels).
        for identifier in cgroup_container_ids() if api else []:
            try:
                container = api.json(f"/containers/{identifier}/json")
            except DockerAPIError as error:
                log("cadvisor", f"failed to inspect container {identifier}: {error}")
                continue
            name = container.get("Name", "/").lstrip("/")
            service_label = ((container.get("Config") or {}).get("Labels") or {}).get("infra.service", "")
            lines.append(
                f'container_last_seen{{id="/docker/{identifier}",image="{(container.get("Config") or {}).get("Image", "")}",name="{name}",container_label_infra_service="{service_label}"}} {now:.3f}'
            )
        return lines

    service.extra_metrics = container_metrics
    return service


QDRANT_DEFAULTS = {
    "service": {"host": "0.0.0.0", "http_port": 6333, "api_key": None},
    "storage": {"storage_path": "./storage", "snapshots_path": "./snapshots"},
}


def merged(base, over):
    """`over` merged into `base`, tables key by key, as the config crate merges its sources."""
    result = dict(base)
    for key, value in over.items():
        result[key] = merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
    return result


def qdrant_settings(config_path=None):
    """Qdrant's settings as its settings.rs builds them: the built-in defaults,
    then config/config, config/<RUN_MODE> (development unless set; the image
    sets production) and config/local under the working directory, then
    --config-path, then every QDRANT__SECTION__KEY variable. Each file is
    added with required(false): the config crate skips one that is missing
    or cannot be opened (a secret file the user may not read) without a
    word, so the server starts without what it held; one that does not parse
    stops the server. Only YAML is read here (the crate also takes TOML,
    JSON, INI, RON and JSON5)."""
    settings = QDRANT_DEFAULTS
    names = ["config/config", f"config/{os.environ.get('RUN_MODE', 'development')}", "config/local"]
    candidates = [[f"{name}.yaml", f"{name}.yml"] for name in names]
    if config_path:
        candidates.append([config_path])
    for paths in candidates:
        for path in paths:
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as file:
                    text = file.read()
            except OSError:
                break
            try:
                document = yaml.safe_load(text) or {}
            except yaml.YAMLError as error:
                raise StartupError(f"Error: {path}: {error}") from error
            if not isinstance(document, dict):
                raise StartupError(f"Error: {path}: invalid type, expected a map")
            settings = merged(settings, document)
            break
    for variable, value in os.environ.items():
        if variable.startswith("QDRANT__") and len(variable) > len("QDRANT__"):
            keys = variable[len("QDRANT__"):].lower().split("__")
            override = value
            for key in reversed(keys):
                override = {key: override}
            settings = merged(settings, override)
    return settings


def qdrant(arguments):
    # clap's `--config-path <PATH>` takes its value as the next argument too.
    arguments = list(arguments)
    if "--config-path" in arguments[:-1]:
        index = arguments.index("--config-path")
        arguments[index : index + 2] = [f"--config-path={arguments[index + 1]}"]
    flags = parse_flags(arguments)
    settings = qdrant_settings(flags.get("config-path"))
    service_settings, storage = settings.get("service") or {}, settings.get("storage") or {}
    service = Service("qdrant", "1.12.5", int(service_settings.get("http_port") or 6333))
    writable_directory(storage.get("storage_path") or "./storage")
    writable_directory(storage.get("snapshots_path") or "./snapshots")
    key = service_settings.get("api_key")
    if key:
        key = str(key)
        service.protected = lambda request, path: path in ("/healthz", "/livez", "/readyz") or key in (request.headers.get("api-key"), (request.headers.get("Authorization") or "").removeprefix("Bearer "))
    service.route("GET", "/", service.json({"title": "qdrant - vector search engine", "version": "1.12.5"}))
    for path in ("/healthz", "/livez", "/readyz"):
        service.route("GET", path, service.text(f"{path[1:]} check passed"))
    service.route("GET", "/collections", service.json({"result": {"collections": []}, "status": "ok", "time": 0.0}))
    return service


def env_or_file(name, default=None):
    """NAME, or the content of the file NAME_FILE names, as @n8n/config's
    readEnv takes each setting: a non-empty NAME wins; otherwise NAME_FILE's
    content, whole (readFileSync, no trimming: a trailing newline is part of
    a password), and a file it cannot read stops n8n."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            with open(path, encoding="utf-8", newline="") as file:
                return file.read()
        except OSError as error:
            raise StartupError(node_error(error, "open")) from error
    return default


def node_error(error, operation):
    """An OSError as Node.js prints it: `EACCES: permission denied, open '/path'`."""
    code = {13: "EACCES", 2: "ENOENT", 30: "EROFS", 21: "EISDIR", 20: "ENOTDIR", 1: "EPERM"}.get(error.errno, f"E{error.errno}")
    return f"{code}: {(error.strerror or '').lower()}, {operation} '{error.filename}'"


def cli_flags(arguments, booleans=(), values=(), short=None):
    """--flag, --flag=value, --flag value and -x value, as oclif, click and kong take them; anything else is refused."""
    short = short or {}
    flags, rest, index = {}, [], 0
    while index < len(arguments):
        argument = arguments[index]
        if argument.startswith("-"):
            name, _, value = argument.lstrip("-").partition("=")
            name = short.get(name, name) if not argument.startswith("--") else name
            if name in booleans and not _:
                flags[name] = "true"
            elif name in values:
                if not _:
                    index += 1
                    if index >= len(arguments):
                        raise UsageError(f"Flag --{name} expects a value")
                    value = arguments[index]
                flags[name] = value
            else:
                raise UsageError(f"Nonexistent flag: {argument}")
        else:
            rest.append(argument)
        index += 1
    return flags, rest


class UsageError(StartupError):
    """A command line the real command refuses (exit status 2)."""


def connect_postgres(dsn=None, **params):
    """A connection to PostgreSQL with libpq (psycopg2), as the application would make it; StartupError with libpq's reason otherwise."""
    import psycopg2  # noqa: PLC0415 (only the database clients load it)

    try:
        connection = psycopg2.connect(dsn, connect_timeout=10, **params) if dsn else psycopg2.connect(connect_timeout=10, **params)
    except psycopg2.Error as error:
        raise StartupError(str(error).strip()) from error
    connection.autocommit = True
    return connection


def log(product, message):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {product}: {message}", file=sys.stderr, flush=True)


N8N_VERSION = "1.72.1"
# What n8n's migrations make, reduced to the tables its workflow commands and
# the testbed read: the migrations log, and workflows as n8n stores them.
N8N_SCHEMA = """
CREATE TABLE IF NOT EXISTS migrations (id serial PRIMARY KEY, "timestamp" bigint NOT NULL, name varchar NOT NULL);
CREATE TABLE IF NOT EXISTS workflow_entity (
  id varchar(36) PRIMARY KEY, name varchar(128) NOT NULL, active boolean NOT NULL DEFAULT false,
  nodes json NOT NULL, connections json NOT NULL, settings json, "staticData" json, "pinData" json, meta json,
  "versionId" char(36), "triggerCount" integer NOT NULL DEFAULT 0,
  "createdAt" timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3), "updatedAt" timestamptz(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3));
INSERT INTO migrations ("timestamp", name) SELECT 1587669153312, 'InitialMigration1587669153312' WHERE NOT EXISTS (SELECT 1 FROM migrations);
"""


def n8n_settings():
    """The instance settings file, ~/.n8n/config, which holds the encryption key: made on first start, and checked against N8N_ENCRYPTION_KEY on every later one."""
    folder = os.path.join(os.environ.get("N8N_USER_FOLDER") or os.path.expanduser("~"), ".n8n")
    path = os.path.join(folder, "config")
    # n8n 1.72's InstanceSettings reads process.env.N8N_ENCRYPTION_KEY alone:
    # the key has no _FILE form in that release.
    key = os.environ.get("N8N_ENCRYPTION_KEY")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as file:
                settings = json.load(file)
            if key and settings.get("encryptionKey") != key:
                raise StartupError(
                    f"Mismatching encryption keys. The encryption key in the settings file {path} does not match the N8N_ENCRYPTION_KEY env var. "
                    "Please make sure both keys match. More information: https://docs.n8n.io/hosting/environment-variables/configuration-methods/#encryption-key"
                )
            return settings
        settings = {"encryptionKey": key or base64.b64encode(secrets.token_bytes(24)).decode()}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(settings, file, indent="\t")
        return settings
    except OSError as error:
        raise StartupError(node_error(error, "open" if error.filename == path else "mkdir")) from error
    except ValueError as error:
        raise StartupError(f"{path}: {error}") from error


def n8n_database():
    """n8n's database connection from its DB_* variables (and their _FILE forms), with its tables made."""
    if os.environ.get("DB_TYPE", "sqlite") != "postgresdb":
        raise StartupError("the testbed's n8n stand-in keeps its data in PostgreSQL only: set DB_TYPE=postgresdb")
    try:
        connection = connect_postgres(
            host=env_or_file("DB_POSTGRESDB_HOST", "localhost"),
            port=int(env_or_file("DB_POSTGRESDB_PORT", "5432")),
            dbname=env_or_file("DB_POSTGRESDB_DATABASE", "n8n"),
            user=env_or_file("DB_POSTGRESDB_USER", "postgres"),
            password=env_or_file("DB_POSTGRESDB_PASSWORD", ""),
        )
        schema = env_or_file("DB_POSTGRESDB_SCHEMA", "public")
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}"',))
            cursor.execute(N8N_SCHEMA)
        return connection
    except StartupError as error:
        raise StartupError(f"There was an error initializing DB\n{error}") from error


def n8n(arguments):
    """`n8n` (start), `n8n export:workflow` and `n8n import:workflow`, on the image's PATH as `n8n`."""
    command, rest = (arguments[0], arguments[1:]) if arguments and not arguments[0].startswith("-") else ("start", arguments)
    try:
        if command in ("--version", "-v") or rest[:1] == ["--version"]:
            print(N8N_VERSION)
            return 0
        if command == "start":
            cli_flags(rest, booleans=("tunnel", "open", "o"))
            return n8n_start()
        if command == "export:workflow":
            return n8n_export(rest)
        if command == "import:workflow":
            return n8n_import(rest)
    except UsageError as error:
        print(f" ›   Error: {error}", file=sys.stderr)
        return 2
    print(f" ›   Error: command {command} not found", file=sys.stderr)
    return 2


def n8n_start():
    n8n_settings()
    n8n_database().close()
    service = Service("n8n", N8N_VERSION, int(os.environ.get("N8N_PORT", "5678")))
    service.metrics_enabled = os.environ.get("N8N_METRICS", "false").lower() == "true"

    def readiness(request, payload):
        try:
            n8n_database().close()
            return 200, "application/json", b'{"status":"ok"}'
        except StartupError:
            return 503, "application/json", b'{"status":"error"}'

    service.route("GET", "/healthz", service.json({"status": "ok"}))
    service.route("GET", "/healthz/readiness", readiness)
    service.route("GET", "/", service.text("<!DOCTYPE html><title>n8n.io - Workflow Automation</title>", content_type="text/html"))
    prefix = os.environ.get("N8N_METRICS_PREFIX", "n8n_")
    major, minor, patch = N8N_VERSION.split(".")
    service.extra_metrics = lambda: [
        f"# HELP {prefix}version_info n8n version info.",
        f"# TYPE {prefix}version_info gauge",
        f'{prefix}version_info{{version="v{N8N_VERSION}",major="{major}",minor="{minor}",patch="{patch}"}} 1',
    ]
    log("n8n", f"Editor is now accessible via: {os.environ.get('N8N_PROTOCOL', 'http')}://{os.environ.get('N8N_HOST', 'localhost')}:{service.port}")
    return service


def n8n_workflow(row):
    columns = ("id", "name", "active", "nodes", "connections", "settings", "staticData", "pinData", "meta", "versionId", "triggerCount", "createdAt", "updatedAt")
    workflow = dict(zip(columns, row))
    for stamp in ("createdAt", "updatedAt"):
        workflow[stamp] = workflow[stamp].isoformat(timespec="milliseconds").replace("+00:00", "Z")
    workflow["tags"] = []
    return workflow


def n8n_export(arguments):
    flags, _ = cli_flags(arguments, booleans=("all", "backup", "pretty", "separate"), values=("id", "output"), short={"o": "output"})
    if flags.get("backup"):
        flags.update(all="true", pretty="true", separate="true")
    if not flags.get("all") and not flags.get("id"):
        print('Either option "--all" or "--id" have to be set!')
        return 0
    if flags.get("all") and flags.get("id"):
        print('You should either use "--all" or "--id" but never both!')
        return 0
    output = flags.get("output")
    if flags.get("separate"):
        if not output:
            print("You must inform an output directory via --output when using --separate")
            return 0
        os.makedirs(output, exist_ok=True)
    elif output and os.path.isdir(output):
        print("The parameter --output must be a writeable file")
        return 0
    try:
        n8n_settings()
        connection = n8n_database()
        with connection.cursor() as cursor:
            query = 'SELECT id, name, active, nodes, connections, settings, "staticData", "pinData", meta, "versionId", "triggerCount", "createdAt", "updatedAt" FROM workflow_entity'
            cursor.execute(query + (" WHERE id = %s" if flags.get("id") else "") + " ORDER BY \"createdAt\", id", (flags["id"],) if flags.get("id") else None)
            workflows = [n8n_workflow(row) for row in cursor.fetchall()]
        if not workflows:
            raise StartupError("No workflows found with specified filter")
        indent = 2 if flags.get("pretty") else None
        if flags.get("separate"):
            for workflow in workflows:
                with open(os.path.join(output, f"{workflow['id']}.json"), "w", encoding="utf-8") as file:
                    json.dump(workflow, file, indent=indent)
            print(f"Successfully exported {len(workflows)} workflows.")
        elif output:
            with open(output, "w", encoding="utf-8") as file:
                json.dump(workflows, file, indent=indent, separators=None if indent else (",", ":"))
            print(f"Successfully exported {len(workflows)} {'workflow.' if len(workflows) == 1 else 'workflows.'}")
        else:
            print(json.dumps(workflows, indent=indent, separators=None if indent else (",", ":")))
        return 0
    except (StartupError, OSError) as error:
        print("Error exporting workflows. See log messages for details.", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return 1


def n8n_import(arguments):
    flags, _ = cli_flags(arguments, booleans=("separate",), values=("input", "userId", "projectId"), short={"i": "input"})
    if not flags.get("input"):
        print("An input file or directory with --input must be provided")
        return 0
    try:
        n8n_settings()
        paths = sorted(os.path.join(flags["input"], name) for name in os.listdir(flags["input"]) if name.endswith(".json")) if flags.get("separate") else [flags["input"]]
        workflows = []
        for path in paths:
            with open(path, encoding="utf-8") as file:
                document = json.load(file)
            if flags.get("separate"):
                workflows.append(document)
            elif isinstance(document, list):
                workflows.extend(document)
            else:
                raise StartupError("File does not seem to contain workflows. Make sure the workflows are contained in an array.")
        for workflow in workflows:
            if not isinstance(workflow, dict) or "nodes" not in workflow or "connections" not in workflow:
                raise StartupError("File does not seem to contain valid workflows.")
        connection = n8n_database()
        with connection.cursor() as cursor:
            for workflow in workflows:
                identifier = workflow.get("id") or "".join(secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
                if workflow.get("active"):
                    print(f"Deactivating workflow \"{workflow.get('name')}\". Remember to activate later.")
                cursor.execute(
                    """INSERT INTO workflow_entity (id, name, active, nodes, connections, settings, "staticData", "pinData", meta, "versionId")
                       VALUES (%s, %s, false, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, active = false, nodes = EXCLUDED.nodes, connections = EXCLUDED.connections,
                         settings = EXCLUDED.settings, "updatedAt" = CURRENT_TIMESTAMP(3)""",
                    (identifier, workflow.get("name") or "My workflow", json.dumps(workflow["nodes"]), json.dumps(workflow["connections"]),
                     json.dumps(workflow.get("settings")), json.dumps(workflow.get("staticData")), json.dumps(workflow.get("pinData")),
                     json.dumps(workflow.get("meta")), workflow.get("versionId")),
                )
        print(f"Successfully imported {len(workflows)} {'workflow.' if len(workflows) == 1 else 'workflows.'}")
        return 0
    except (StartupError, OSError, ValueError) as error:
        print("An error occurred while importing workflows. See log messages for details.", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return 1


LITELLM_VERSION = "1.55.8"
# What LiteLLM's Prisma schema pushes, reduced to the tables the stand-in reads.
LITELLM_SCHEMA = """
CREATE TABLE IF NOT EXISTS "LiteLLM_ProxyModelTable" (
  model_id text PRIMARY KEY, model_name text NOT NULL, litellm_params jsonb NOT NULL, model_info jsonb,
  created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, created_by text NOT NULL DEFAULT '',
  updated_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_by text NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS "LiteLLM_VerificationToken" (token text PRIMARY KEY, key_name text, key_alias text, spend double precision NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS "LiteLLM_Config" (param_name text PRIMARY KEY, param_value jsonb);
"""


def litellm(arguments):
    """The proxy's CLI: --host, --port (or HOST, PORT), --config; LITELLM_MASTER_KEY guards the API; DATABASE_URL is connected to at start."""
    flags, rest = cli_flags(
        arguments,
        booleans=("detailed_debug", "debug", "run_gunicorn", "run_hypercorn", "use_queue", "health", "version", "telemetry", "local", "test"),
        values=("host", "port", "config", "num_workers", "ssl_keyfile_path", "ssl_certfile_path", "keepalive_timeout", "max_budget", "model", "alias", "api_base", "api_version"),
        short={"c": "config", "v": "version", "m": "model"},
    )
    if rest:
        raise UsageError(f"Got unexpected extra argument ({rest[0]})")
    if flags.get("version"):
        print(f"\nLiteLLM: Current Version = {LITELLM_VERSION}\n")
        return 0
    config = read_yaml(flags["config"], "config file") if flags.get("config") else {}
    master_key = (config.get("general_settings") or {}).get("master_key") or os.environ.get("LITELLM_MASTER_KEY")
    if isinstance(master_key, str) and master_key.startswith("os.environ/"):
        master_key = os.environ.get(master_key.removeprefix("os.environ/"))
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        try:
            connection = connect_postgres(database_url)
        except StartupError as error:
            raise StartupError(f"Unable to connect to the database through DATABASE_URL (prisma db push / connect): {error}") from error
        with connection.cursor() as cursor:
            cursor.execute(LITELLM_SCHEMA)
        connection.close()
    service = Service("litellm", LITELLM_VERSION, int(flags.get("port") or os.environ.get("PORT", "4000")), flags.get("host") or os.environ.get("HOST", "0.0.0.0"))
    service.metrics_enabled = False
    open_paths = ("/", "/health/liveliness", "/health/liveness", "/health/readiness")

    def authorized(request, path):
        if master_key is None or path in open_paths:
            return True
        presented = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or request.headers.get("API-Key") or request.headers.get("x-api-key")
        return presented is not None and secrets.compare_digest(presented.encode(), str(master_key).encode())

    service.protected = authorized
    service.unauthorized = lambda: (401, "application/json", json.dumps({"error": {"message": "Authentication Error, Invalid proxy server token passed.", "type": "auth_error", "param": "None", "code": "401"}}).encode())

    def models(request, payload):
        names = []
        if database_url:
            try:
                connection = connect_postgres(database_url)
                with connection.cursor() as cursor:
                    cursor.execute('SELECT model_name FROM "LiteLLM_ProxyModelTable" ORDER BY model_name')
                    names = [row[0] for row in cursor.fetchall()]
                connection.close()
            except StartupError:
                pass
        names += [entry.get("model_name") for entry in config.get("model_list") or []]
        return 200, "application/json", json.dumps({"data": [{"id": name, "object": "model", "created": 1677610602, "owned_by": "openai"} for name in names], "object": "list"}).encode()

    def readiness(request, payload):
        database = "Not connected"
        if database_url:
            try:
                connect_postgres(database_url).close()
                database = "connected"
            except StartupError:
                database = "disconnected"
        return 200, "application/json", json.dumps({"status": "healthy", "db": database, "cache": None, "litellm_version": LITELLM_VERSION, "success_callbacks": []}).encode()

    service.route("GET", "/", service.text("<!DOCTYPE html><title>LiteLLM API - Swagger UI</title>", content_type="text/html"))
    service.route("GET", "/health/liveliness", service.json("I'm alive!"))
    service.route("GET", "/health/liveness", service.json("I'm alive!"))
    service.route("GET", "/health/readiness", readiness)
    service.route("GET", "/v1/models", models)
    service.route("GET", "/models", models)
    log("litellm", f"Proxy running on {service.host}:{service.port}; master key {'set' if master_key else 'not set'}; database {'connected' if database_url else 'none'}")
    return service


DIUN_VERSION = "4.29.0"
CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 6))
CRON_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
              "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def cron_schedule(expression):
    """A five-field cron expression (robfig/cron's standard parser, as DIUN uses it) as one set of values per field."""
    descriptors = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
    fields = descriptors.get(expression.strip(), expression).split()
    if len(fields) != 5:
        raise StartupError(f"Cannot create Diun: failed to parse cron spec {expression!r}: expected exactly 5 fields, found {len(fields)}")
    sets = []
    for text, (what, low, high) in zip(fields, CRON_FIELDS):
        values = set()
        for part in text.lower().split(","):
            span, slash, step_text = part.partition("/")
            if slash and (not step_text.isdigit() or int(step_text) == 0):
                raise StartupError(f"Cannot create Diun: failed to parse cron spec {expression!r}: bad step in the {what} field")
            step = int(step_text) if slash else 1
            first, dash, last = span.partition("-")

            def value(word):
                number = CRON_NAMES.get(word, word)
                if isinstance(number, int) or number.isdigit():
                    return int(number)
                raise StartupError(f"Cannot create Diun: failed to parse cron spec {expression!r}: {word!r} in the {what} field")

            if span in ("*", "?"):
                start, end = low, high
            else:
                start = value(first)
                end = value(last) if dash else (high if slash else start)
            if not low <= start <= end <= high:
                raise StartupError(f"Cannot create Diun: failed to parse cron spec {expression!r}: the {what} field is out of range")
            values.update(range(start, end + 1, step))
        sets.append(values)
    return sets


def cron_matches(schedule, moment):
    minute, hour, day, month, weekday = schedule
    return moment.tm_min in minute and moment.tm_hour in hour and moment.tm_mday in day and moment.tm_mon in month and (moment.tm_wday + 1) % 7 in weekday


def diun(arguments):
    """`diun serve`: configuration from --config (or DIUN_CONFIG) or DIUN_* variables; its database file; one watch at start, then on the schedule."""
    if not arguments or arguments[0] in ("--version", "version"):
        if arguments:
            print(f"v{DIUN_VERSION}")
            return 0
        raise UsageError("expected one of \"serve\", \"image\", \"notif\"")
    if arguments[0] != "serve":
        raise UsageError(f"unexpected argument {arguments[0]}")
    flags, rest = cli_flags(arguments[1:], booleans=("log-json", "log-caller", "log-nocolor", "test-notif"), values=("config", "log-level", "profiler-path", "profiler", "grpc-authority"))
    if rest:
        raise UsageError(f"unexpected argument {rest[0]}")
    path = flags.get("config") or os.environ.get("DIUN_CONFIG")
    config = {}
    if path:
        if not os.access(path, os.R_OK):
            raise StartupError(f"Cannot load configuration: open {path}: no such file or directory" if not os.path.exists(path) else f"Cannot load configuration: open {path}: permission denied")
        config = read_yaml(path, "configuration")
    timezone = os.environ.get("TZ")
    if timezone and not os.path.isfile(os.path.join("/usr/share/zoneinfo", timezone)):
        raise StartupError(f"Cannot load configuration: unknown time zone {timezone}")
    watch = config.get("watch") or {}
    schedule_text = os.environ.get("DIUN_WATCH_SCHEDULE", watch.get("schedule", ""))
    schedule = cron_schedule(schedule_text) if schedule_text else None
    docker = (config.get("providers") or {}).get("docker")
    if docker is None and os.environ.get("DIUN_PROVIDERS_DOCKER", "").lower() == "true":
        docker = {}
    if docker is None and not (config.get("providers") or any(name.startswith("DIUN_PROVIDERS_") for name in os.environ)):
        raise StartupError("Cannot load configuration: at least one provider is required")
    by_default = str((docker or {}).get("watchByDefault", os.environ.get("DIUN_PROVIDERS_DOCKER_WATCHBYDEFAULT", "false"))).lower() == "true"
    endpoint = (docker or {}).get("endpoint") or os.environ.get("DIUN_PROVIDERS_DOCKER_ENDPOINT", "unix:///var/run/docker.sock")
    database = os.environ.get("DIUN_DB_PATH") or (config.get("db") or {}).get("path") or "diun.db"
    try:
        with open(database, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise StartupError(f"Cannot create Diun: open {database}: {(error.strerror or '').lower()}") from error
    log("diun", f"Starting Diun v{DIUN_VERSION} (testbed stand-in)")

    api = DockerAPI(endpoint)

    def run_watch():
        if docker is None:
            return
        # As DIUN's docker client: the server's version when it is created, then the container list and each image.
        try:
            api.get("/version")
            containers = docker_containers(api)
        except DockerAPIError as error:
            log("diun", f"Cannot list Docker containers: {error}")
            return
        watched = [container for container in containers if str((container.get("Labels") or {}).get("diun.enable", str(by_default))).lower() == "true"]
        log("diun", f"Found {len(watched)} image(s) to analyze")
        with open(database, "a", encoding="utf-8") as file:
            for container in watched:
                try:
                    local = not api.json(f"/images/{container.get('Image')}/json").get("RepoDigests")
                except DockerAPIError as error:
                    log("diun", f"Cannot inspect image {container.get('Image')}: {error}")
                    continue
                # The testbed reaches no registry: each image is recorded as the real one logs a failed manifest fetch.
                file.write(json.dumps({"image": container.get("Image"), "container": (container.get("Names") or ["/"])[0].lstrip("/"), "local": local, "checked": int(time.time()), "status": "registry unreachable from the testbed"}) + "\n")
                log("diun", f"Cannot get remote manifest of {container.get('Image')}: the testbed reaches no registry")

    run_watch()
    if schedule:
        log("diun", f"Cron initialized with schedule {schedule_text}")
    last = None
    while True:
        time.sleep(20)
        moment = time.localtime()
        if schedule and (moment.tm_hour, moment.tm_min) != last and cron_matches(schedule, moment):
            last = (moment.tm_hour, moment.tm_min)
            run_watch()


ALLOY_VERSION = "v1.5.1"
RIVER_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<string>"(?:[^"\\\n]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[{}\[\](),=.])",
    re.S,
)


class River:
    """Alloy's configuration syntax: blocks, attributes, literals, lists, objects, references and function calls (no operators)."""

    def __init__(self, text, path):
        self.path = path
        self.tokens, position = [], 0
        while position < len(text):
            match = RIVER_TOKEN.match(text, position)
            if not match:
                raise self.error(text.count("\n", 0, position) + 1, f"illegal character {text[position]!r}")
            kind = match.lastgroup
            if kind not in ("space", "comment"):
                value = json.loads(match.group()) if kind == "string" else match.group()
                self.tokens.append((kind, value, text.count("\n", 0, position) + 1))
            position = match.end()
        self.index = 0

    def error(self, line, message):
        return StartupError(f"Error: {self.path}:{line}: {message}")

    def peek(self, offset=0):
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else ("eof", None, self.tokens[-1][2] if self.tokens else 1)

    def take(self, kind=None, value=None):
        token = self.peek()
        if (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise self.error(token[2], f"expected {value or kind}, got {token[1]!r}")
        self.index += 1
        return token

    def body(self, closing=None):
        items = []
        while not (self.peek()[0] == "eof" if closing is None else self.peek()[1] == closing):
            if self.peek()[0] == "eof":
                raise self.error(self.peek()[2], f"expected {closing}, got end of file")
            line = self.peek()[2]
            names = [self.take("ident")[1]]
            while self.peek()[1] == ".":
                self.take()
                names.append(self.take("ident")[1])
            if self.peek()[1] == "=":
                if len(names) > 1:
                    raise self.error(line, f"attribute names are not dotted: {'.'.join(names)}")
                self.take()
                items.append(("attribute", names[0], self.expression(), line))
                continue
            label = self.take("string")[1] if self.peek()[0] == "string" else None
            self.take("punct", "{")
            items.append(("block", ".".join(names), label, self.body("}"), line))
            self.take("punct", "}")
        return items

    def expression(self):
        kind, value, line = self.peek()
        if kind == "string" or kind == "number":
            self.take()
            return ("literal", float(value) if kind == "number" and "." in value else int(value) if kind == "number" else value)
        if kind == "ident" and value in ("true", "false", "null"):
            self.take()
            return ("literal", {"true": True, "false": False, "null": None}[value])
        if value == "[":
            self.take()
            elements = []
            while self.peek()[1] != "]":
                elements.append(self.expression())
                if self.peek()[1] != "]":
                    self.take("punct", ",")
            self.take()
            return ("list", elements)
        if value == "{":
            self.take()
            fields = []
            while self.peek()[1] != "}":
                key = self.take()[1]
                self.take("punct", "=")
                fields.append((key, self.expression()))
                if self.peek()[1] != "}":
                    self.take("punct", ",")
            self.take()
            return ("object", fields)
        if kind == "ident":
            names = [self.take()[1]]
            while self.peek()[1] == ".":
                self.take()
                names.append(self.take("ident")[1])
            if self.peek()[1] == "(":
                self.take()
                arguments = []
                while self.peek()[1] != ")":
                    arguments.append(self.expression())
                    if self.peek()[1] != ")":
                        self.take("punct", ",")
                self.take()
                return ("call", ".".join(names), arguments, line)
            return ("reference", names, line)
        raise self.error(line, f"expected an expression, got {value!r}")


# The components the stand-in runs, and what each exports.
ALLOY_COMPONENTS = {
    "discovery.docker": ("targets",), "discovery.relabel": ("output", "rules"), "loki.source.docker": (), "loki.write": ("receiver",),
    "prometheus.exporter.unix": ("targets",), "prometheus.exporter.cadvisor": ("targets",), "prometheus.exporter.postgres": ("targets",),
    "prometheus.exporter.redis": ("targets",), "prometheus.exporter.blackbox": ("targets",), "prometheus.scrape": (), "prometheus.remote_write": ("receiver",),
    "local.file": ("content",),
}


class Alloy:
    """The configuration loaded as Alloy loads it: every component known, every reference resolved, then run."""

    def __init__(self, path, storage, hostname):
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except OSError as error:
            raise StartupError(f'Error: reading config path "{path}": open {path}: {(error.strerror or "").lower()}') from error
        self.storage = storage
        self.hostname = hostname
        self.components = {}
        for item in River(text, path).body():
            if item[0] != "block":
                raise StartupError(f"Error: {path}:{item[3]}: unexpected attribute {item[1]} at the top level")
            _, name, label, body, line = item
            if name == "logging":
                continue
            if name not in ALLOY_COMPONENTS:
                raise StartupError(f'Error: {path}:{line}: unrecognized component name "{name}" (or one the testbed\'s alloy stand-in does not run)')
            if label is None:
                raise StartupError(f"Error: {path}:{line}: component {name} must have a label")
            identifier = f"{name}.{label}"
            if identifier in self.components:
                raise StartupError(f'Error: {path}:{line}: component "{identifier}" already declared')
            self.components[identifier] = {"name": name, "body": body, "line": line}
        for identifier, component in self.components.items():
            self.check_references(component["body"], path)
        self.path = path
        self.last_log = {}
        self.samples_sent = 0
        self.lines_sent = 0

    def check_references(self, body, path):
        for item in body:
            if item[0] == "block":
                self.check_references(item[3], path)
            else:
                self.check_expression(item[2], path)

    def check_expression(self, expression, path):
        kind = expression[0]
        if kind == "list":
            for element in expression[1]:
                self.check_expression(element, path)
        elif kind == "object":
            for _, value in expression[1]:
                self.check_expression(value, path)
        elif kind == "call":
            if expression[1] not in ("sys.env", "env", "constants"):
                raise StartupError(f"Error: {path}:{expression[3]}: function {expression[1]} is not known to the testbed's alloy stand-in")
        elif kind == "reference":
            identifier, export = self.resolve(expression[1])
            if identifier is None:
                raise StartupError(f'Error: {path}:{expression[2]}: component "{".".join(expression[1][:-1])}" does not exist or is out of scope')
            if export not in ALLOY_COMPONENTS[self.components[identifier]["name"]]:
                raise StartupError(f'Error: {path}:{expression[2]}: {identifier} has no export named "{export}"')

    def resolve(self, names):
        for cut in range(len(names) - 1, 0, -1):
            identifier = ".".join(names[:cut])
            if identifier in self.components and cut == len(names) - 1:
                return identifier, names[cut]
        return None, None

    def attributes(self, body):
        return {item[1]: item[2] for item in body if item[0] == "attribute"}

    def blocks(self, body, name):
        return [item[3] for item in body if item[0] == "block" and item[1] == name]

    def evaluate(self, expression):
        kind = expression[0]
        if kind == "literal":
            return expression[1]
        if kind == "list":
            return [self.evaluate(element) for element in expression[1]]
        if kind == "object":
            return {key: self.evaluate(value) for key, value in expression[1]}
        if kind == "call":
            arguments = [self.evaluate(argument) for argument in expression[2]]
            return os.environ.get(arguments[0], "") if expression[1] in ("sys.env", "env") else None
        identifier, export = self.resolve(expression[1])
        return self.export(identifier, export)

    def value(self, body, name, default=None):
        attributes = self.attributes(body)
        return self.evaluate(attributes[name]) if name in attributes else default

    def export(self, identifier, export):
        component = self.components[identifier]
        name, body = component["name"], component["body"]
        if export == "receiver":
            return ("receiver", identifier)
        if name == "local.file":
            return self.file_content(identifier)
        if name == "discovery.docker":
            # As Prometheus's docker discovery: the containers and the networks they are on.
            api = DockerAPI(self.value(body, "host", "unix:///var/run/docker.sock"))
            try:
                containers = docker_containers(api)
                api.json("/networks")
            except DockerAPIError as error:
                log("alloy", f"{identifier}: {error}")
                return []
            return [docker_target(container) for container in containers]
        if name == "discovery.relabel":
            rules = self.blocks(body, "rule")
            return [labels for labels in (relabel(dict(target), [{key: self.evaluate(value) for key, value in self.attributes(rule).items()} for rule in rules]) for target in self.value(body, "targets", [])) if labels is not None]
        if name == "prometheus.exporter.blackbox":
            return [
                {"__address__": "alloy-blackbox-exporter", "__testbed_exporter": identifier, "__param_target": self.value(target, "address"), "__param_module": self.value(target, "module", ""),
                 "job": f"integrations/blackbox/{self.value(target, 'name')}", "instance": self.hostname}
                for target in self.blocks(body, "target")
            ]
        kind = name.rsplit(".", 1)[-1]
        job = {"unix": "integrations/unix", "cadvisor": "integrations/cadvisor", "postgres": "integrations/postgres_exporter", "redis": "integrations/redis_exporter"}[kind]
        return [{"__address__": f"alloy-{kind}-exporter", "__testbed_exporter": identifier, "job": job, "instance": self.hostname}]

    def file_content(self, identifier):
        """local.file's `content`: the file as it is now, whole (no trimming);
        when it cannot be read any more, the last content read, as Alloy keeps
        its export and only marks the component unhealthy."""
        component = self.components[identifier]
        try:
            with open(self.value(component["body"], "filename"), encoding="utf-8", newline="") as file:
                component["content"] = file.read()
        except OSError as error:
            log("alloy", f"{identifier}: failed to read file: {error}")
        return component["content"]

    def start(self):
        """Makes what the components keep under the storage path, then runs them."""
        # local.file reads its file as it is built, before any component uses
        # its content; one it cannot read fails the load (local.file's New).
        for identifier, component in self.components.items():
            if component["name"] == "local.file":
                filename = self.value(component["body"], "filename")
                if not filename:
                    raise StartupError(f'Error: {self.path}:{component["line"]}: missing required attribute "filename"')
                try:
                    with open(filename, encoding="utf-8", newline="") as file:
                        component["content"] = file.read()
                except OSError as error:
                    raise StartupError(f"Error: {self.path}:{component['line']}: {identifier}: building component: failed to read file: open {filename}: {(error.strerror or '').lower()}") from error
        for identifier, component in self.components.items():
            body = component["body"]
            if component["name"] == "prometheus.remote_write":
                for endpoint in self.blocks(body, "endpoint"):
                    if not self.value(endpoint, "url"):
                        raise StartupError(f"Error: {self.path}:{component['line']}: {identifier}: endpoint needs url")
                make_directory(os.path.join(self.storage, identifier, "wal"))
            if component["name"] == "loki.write" and not all(self.value(endpoint, "url") for endpoint in self.blocks(body, "endpoint")):
                raise StartupError(f"Error: {self.path}:{component['line']}: {identifier}: endpoint needs url")
            if component["name"] == "loki.source.docker":
                make_directory(os.path.join(self.storage, identifier))
            if component["name"] == "prometheus.exporter.blackbox":
                modules = (read_yaml(self.value(body, "config_file"), "blackbox config_file").get("modules") or {}) if self.value(body, "config_file") else {}
                for target in self.blocks(body, "target"):
                    if self.value(target, "module") and self.value(target, "module") not in modules:
                        raise StartupError(f"Error: {self.path}:{component['line']}: {identifier}: module {self.value(target, 'module')!r} is not in its config_file")
                component["modules"] = modules
            if component["name"] == "prometheus.scrape":
                for required in ("targets", "forward_to"):
                    if required not in self.attributes(body):
                        raise StartupError(f'Error: {self.path}:{component["line"]}: missing required attribute "{required}"')
                threading.Thread(target=self.scrape_loop, args=(identifier,), daemon=True).start()
            if component["name"] == "loki.source.docker":
                threading.Thread(target=self.log_loop, args=(identifier,), daemon=True).start()

    def scrape_loop(self, identifier):
        body = self.components[identifier]["body"]
        interval = go_duration(self.value(body, "scrape_interval", "60s"))
        while True:
            started = time.time()
            try:
                samples = []
                for target in self.value(body, "targets", []):
                    samples.extend(self.scrape(identifier, body, target))
                for receiver in self.value(body, "forward_to", []):
                    self.remote_write(receiver[1], samples)
            except Exception as error:  # noqa: BLE001 (a failed cycle is logged, as Alloy's scrape manager does)
                log("alloy", f"{identifier}: {error}")
            time.sleep(max(1.0, interval - (time.time() - started)))

    def scrape(self, identifier, body, target):
        labels = {key: value for key, value in target.items() if not key.startswith("__")}
        labels.setdefault("job", identifier)
        labels.setdefault("instance", target.get("__address__", ""))
        now = int(time.time() * 1000)
        try:
            if "__testbed_exporter" in target:
                scraped = self.exporter_samples(target)
            else:
                url = f"{target.get('__scheme__', 'http')}://{target['__address__']}{target.get('__metrics_path__', self.value(body, 'metrics_path', '/metrics'))}"
                with urllib.request.urlopen(url, timeout=10) as response:
                    scraped = parse_exposition(response.read().decode("utf-8", "replace"))
            up = 1.0
        except Exception:  # noqa: BLE001 (an unreachable target is up 0, as in Prometheus)
            scraped, up = [], 0.0
        samples = [({**metric, **labels}, value, now) for metric, value in scraped]
        samples.append(({"__name__": "up", **labels}, up, now))
        return samples

    def exporter_samples(self, target):
        component = self.components[target["__testbed_exporter"]]
        body, kind = component["body"], component["name"].rsplit(".", 1)[-1]
        if kind == "unix":
            return node_samples(self.value(body, "procfs_path", "/proc"), self.value(body, "rootfs_path", "/"), [self.value(textfile, "directory") for textfile in self.blocks(body, "textfile")])
        if kind == "cadvisor":
            api = DockerAPI(self.value(body, "docker_host", "unix:///var/run/docker.sock"))
            now = time.time()
            # The daemon's facts, as cAdvisor's docker factory reads them; the containers from its list.
            api.get("/info")
            return [({"__name__": "container_last_seen", "name": (container.get("Names") or ["/"])[0].lstrip("/"), "id": f"/docker/{container.get('Id', '')}", "image": container.get("Image", "")}, now)
                    for container in docker_containers(api)]
        if kind == "postgres":
            results = []
            for dsn in self.value(body, "data_source_names", []):
                try:
                    connect_postgres(dsn).close()
                    results.append(({"__name__": "pg_up"}, 1.0))
                except StartupError:
                    results.append(({"__name__": "pg_up"}, 0.0))
            return results
        if kind == "redis":
            return [({"__name__": "redis_up"}, redis_up(self.value(body, "redis_addr", "localhost:6379"), self.value(body, "redis_password", "")))]
        module = component["modules"].get(target["__param_module"], {})
        success, duration = blackbox_probe(module, target["__param_target"])
        return [({"__name__": "probe_success"}, success), ({"__name__": "probe_duration_seconds"}, duration)]

    def remote_write(self, identifier, samples):
        body = self.components[identifier]["body"]
        payload = snappy_literal(write_request(samples))
        for endpoint in self.blocks(body, "endpoint"):
            request = urllib.request.Request(self.value(endpoint, "url"), data=payload, method="POST", headers={
                "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf", "X-Prometheus-Remote-Write-Version": "0.1.0", "User-Agent": f"Alloy/{ALLOY_VERSION}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        self.samples_sent += len(samples)

    def log_loop(self, identifier):
        body = self.components[identifier]["body"]
        api = DockerAPI(self.value(body, "host", "unix:///var/run/docker.sock"))
        inspected = set()
        while True:
            try:
                streams = []
                for target in self.value(body, "targets", []):
                    container = target.get("__meta_docker_container_id")
                    # As loki.source.docker's target: the container's configuration once (is it a TTY?), then its output.
                    if container not in inspected:
                        api.json(f"/containers/{container}/json")
                        inspected.add(container)
                    since = self.last_log.get(container, int(time.time()) - 60)
                    lines = docker_logs(api, container, since)
                    self.last_log[container] = int(time.time())
                    if lines:
                        streams.append({"stream": {key: value for key, value in target.items() if not key.startswith("__")}, "values": lines})
                if streams:
                    for receiver in self.value(body, "forward_to", []):
                        for endpoint in self.blocks(self.components[receiver[1]]["body"], "endpoint"):
                            request = urllib.request.Request(self.value(endpoint, "url"), data=json.dumps({"streams": streams}).encode(), method="POST", headers={"Content-Type": "application/json"})
                            with urllib.request.urlopen(request, timeout=10) as response:
                                response.read()
                    self.lines_sent += sum(len(stream["values"]) for stream in streams)
                with open(os.path.join(self.storage, identifier, "positions.yml"), "w", encoding="utf-8") as file:
                    yaml.safe_dump({"positions": self.last_log}, file)
            except Exception as error:  # noqa: BLE001 (logged, and retried on the next round, as Alloy does)
                log("alloy", f"{identifier}: {error}")
            time.sleep(5)


def make_directory(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as error:
        raise StartupError(f"Error: mkdir {error.filename}: {(error.strerror or '').lower()}") from error


def go_duration(text):
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text)):
        total += float(number) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total or 60.0


def docker_target(container):
    labels = {
        "__address__": (container.get("Names") or ["/"])[0].lstrip("/"),
        "__meta_docker_container_id": container.get("Id", ""),
        "__meta_docker_container_name": (container.get("Names") or ["/"])[0],
    }
    for key, value in (container.get("Labels") or {}).items():
        labels["__meta_docker_container_label_" + re.sub(r"[^A-Za-z0-9_]", "_", key)] = value
    return labels


def relabel(labels, rules):
    """Prometheus's relabelling: replace (the default), keep and drop."""
    for rule in rules:
        source = (rule.get("separator") or ";").join(labels.get(name, "") for name in rule.get("source_labels") or [])
        pattern = re.compile(f"^(?:{rule.get('regex', '(.*)')})$")
        match = pattern.match(source)
        action = rule.get("action", "replace")
        if action == "keep" and not match:
            return None
        if action == "drop" and match:
            return None
        if action == "replace" and match and rule.get("target_label"):
            replacement = re.sub(r"\$\{?(\d+)\}?", r"\\g<\1>", rule.get("replacement", "$1"))
            value = match.expand(replacement)
            if value:
                labels[rule["target_label"]] = value
            else:
                labels.pop(rule["target_label"], None)
    return labels


EXPOSITION_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?\s*$')
EXPOSITION_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    samples = []
    for line in text.splitlines():
        match = EXPOSITION_LINE.match(line)
        if not match or line.startswith("#"):
            continue
        name, labels, value = match.groups()
        metric = {key: re.sub(r"\\(.)", lambda escape: {"n": "\n"}.get(escape.group(1), escape.group(1)), raw) for key, raw in EXPOSITION_LABEL.findall(labels or "")}
        metric["__name__"] = name
        try:
            samples.append((metric, float(value)))
        except ValueError:
            continue
    return samples


def node_samples(procfs, rootfs, textfile_directories):
    samples = []
    try:
        with open(os.path.join(procfs, "meminfo"), encoding="utf-8") as file:
            meminfo = dict(line.split(":", 1) for line in file if ":" in line)
        for key, name in (("MemTotal", "node_memory_MemTotal_bytes"), ("MemAvailable", "node_memory_MemAvailable_bytes")):
            samples.append(({"__name__": name}, float(meminfo[key].split()[0]) * 1024))
        with open(os.path.join(procfs, "loadavg"), encoding="utf-8") as file:
            samples.append(({"__name__": "node_load1"}, float(file.read().split()[0])))
    except (OSError, KeyError, ValueError):
        pass
    try:
        stats = os.statvfs(rootfs)
        filesystem = {"device": "rootfs", "fstype": "ext4", "mountpoint": "/"}
        samples.append(({"__name__": "node_filesystem_avail_bytes", **filesystem}, float(stats.f_bavail * stats.f_frsize)))
        samples.append(({"__name__": "node_filesystem_size_bytes", **filesystem}, float(stats.f_blocks * stats.f_frsize)))
    except OSError:
        pass
    for directory in textfile_directories:
        for name in sorted(os.listdir(directory)) if directory and os.path.isdir(directory) else []:
            if name.endswith(".prom"):
                try:
                    with open(os.path.join(directory, name), encoding="utf-8") as file:
                        samples.extend(parse_exposition(file.read()))
                except OSError:
                    pass
    return samples


def redis_up(address, password):
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "localhost", int(port or 6379)), timeout=5) as connection:
            if password:
                connection.sendall(f"*2\r\n$4\r\nAUTH\r\n${len(password.encode())}\r\n{password}\r\n".encode())
                if not connection.recv(256).startswith(b"+OK"):
                    return 0.0
            connection.sendall(b"*1\r\n$4\r\nPING\r\n")
            return 1.0 if connection.recv(256).startswith(b"+PONG") else 0.0
    except OSError:
        return 0.0


def blackbox_probe(module, target):
    """probe_success of one blackbox module: tcp connects; http GETs, with the module's Host header and TLS name, verifying the certificate."""
    import ssl  # noqa: PLC0415

    started = time.time()
    timeout = go_duration(module.get("timeout", "10s"))
    try:
        if module.get("prober") == "tcp":
            host, _, port = target.rpartition(":")
            socket.create_connection((host, int(port)), timeout=timeout).close()
            return 1.0, time.time() - started
        http = module.get("http") or {}
        url = urllib.parse.urlsplit(target if "://" in target else f"http://{target}")
        headers = http.get("headers") or {}
        if url.scheme == "https":
            context = ssl.create_default_context()
            server_name = (http.get("tls_config") or {}).get("server_name") or url.hostname
            connection = http_client_tls(url.hostname, url.port or 443, server_name, context, timeout)
        else:
            if http.get("fail_if_not_ssl"):
                return 0.0, time.time() - started
            connection = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
        connection.request(http.get("method", "GET"), url.path or "/", headers=headers)
        status = connection.getresponse().status
        valid = http.get("valid_status_codes") or list(range(200, 300))
        return (1.0 if status in valid else 0.0), time.time() - started
    except (OSError, ValueError):
        return 0.0, time.time() - started


def http_client_tls(host, port, server_name, context, timeout):
    class Connection(http.client.HTTPSConnection):
        def connect(self):
            raw = socket.create_connection((host, port), timeout=timeout)
            self.sock = context.wrap_socket(raw, server_hostname=server_name)

    return Connection(host, port, timeout=timeout, context=context)


def docker_logs(api, container, since):
    """(timestamp ns, line) pairs a container wrote since `since`, from the Engine API."""
    raw = api.get(f"/containers/{container}/logs?stdout=1&stderr=1&timestamps=1&since={since}")
    lines, offset = [], 0
    while offset + 8 <= len(raw):
        length = struct.unpack(">I", raw[offset + 4:offset + 8])[0]
        for line in raw[offset + 8:offset + 8 + length].decode("utf-8", "replace").splitlines():
            stamp, _, text = line.partition(" ")
            lines.append([str(time.time_ns()), text or stamp])
        offset += 8 + length
    return lines


def varint(number):
    encoded = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        if number:
            encoded.append(byte | 0x80)
        else:
            encoded.append(byte)
            return bytes(encoded)


def write_request(samples):
    """A Prometheus remote-write WriteRequest (protobuf), one series per sample."""
    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    request = bytearray()
    for labels, value, stamp in samples:
        series = b"".join(field(1, field(1, name.encode()) + field(2, str(labels[name]).encode())) for name in sorted(labels))
        series += field(2, b"\x09" + struct.pack("<d", value) + b"\x10" + varint(stamp))
        request += field(1, series)
    return bytes(request)


def snappy_literal(data):
    """Snappy's block format with literals only: what any snappy decoder reads, uncompressed."""
    encoded = bytearray(varint(len(data)))
    for start in range(0, len(data), 65536):
        chunk = data[start:start + 65536]
        length = len(chunk) - 1
        encoded += bytes([length << 2]) if length < 60 else bytes([61 << 2]) + struct.pack("<H", length) if length < 65536 else b""
        encoded += chunk
    return bytes(encoded)


def alloy(arguments):
    """`alloy run [flags] CONFIG`: the storage path, the configuration loaded and checked, then the HTTP server and the components."""
    if not arguments or arguments[0] != "run":
        if arguments[:1] in (["--version"], ["-v"]):
            print(f"alloy, version {ALLOY_VERSION} (testbed stand-in)")
            return 0
        raise UsageError(f'unknown command "{arguments[0] if arguments else ""}" for "alloy"')
    flags, rest = cli_flags(
        arguments[1:],
        booleans=("disable-reporting", "disable-support-bundle", "cluster.enabled", "config.bypass-conversion-errors", "feature.community-components.enabled"),
        values=("server.http.listen-addr", "server.http.memory-addr", "server.http.ui-path-prefix", "storage.path", "stability.level", "config.format", "config.extra-args", "cluster.node-name", "cluster.join-addresses"),
    )
    if len(rest) != 1:
        raise StartupError("Error: path argument not provided" if not rest else f"Error: accepts 1 arg(s), received {len(rest)}")
    storage = flags.get("storage.path", "data-alloy/")
    # Alloy's remotecfg service makes its directory under the storage path as it starts.
    try:
        os.makedirs(os.path.join(storage, "remotecfg"), exist_ok=True)
    except OSError as error:
        raise StartupError(f"Error: failed to create the remotecfg service: mkdir {error.filename}: {(error.strerror or '').lower()}") from error
    configuration = Alloy(rest[0], storage, socket.gethostname())
    try:
        configuration.start()
    except StartupError as error:
        raise StartupError(f"{error}\nError: could not perform the initial load successfully") from error
    host, _, port = flags.get("server.http.listen-addr", "127.0.0.1:12345").rpartition(":")
    service = Service("alloy", ALLOY_VERSION, int(port), host or "0.0.0.0")
    service.route("GET", "/-/ready", service.text("Alloy is ready.\n"))
    service.route("GET", "/-/healthy", service.text("All Alloy components are healthy.\n"))
    service.extra_metrics = lambda: [
        "# HELP alloy_build_info A metric with a constant '1' value labeled by version.",
        "# TYPE alloy_build_info gauge",
        f'alloy_build_info{{version="{ALLOY_VERSION}"}} 1',
        "# HELP testbed_alloy_samples_sent_total Samples the stand-in sent to its remote_write endpoints.",
        "# TYPE testbed_alloy_samples_sent_total counter",
        f"testbed_alloy_samples_sent_total {configuration.samples_sent}",
        "# HELP testbed_alloy_log_lines_sent_total Log lines the stand-in sent to its loki.write endpoints.",
        "# TYPE testbed_alloy_log_lines_sent_total counter",
        f"testbed_alloy_log_lines_sent_total {configuration.lines_sent}",
    ]
    return service


PRODUCTS = {
    "grafana": grafana, "loki": loki, "promtail": promtail, "cadvisor": cadvisor, "qdrant": qdrant,
    "n8n": n8n, "litellm": litellm, "diun": diun, "alloy": alloy,
}


def main(argv):
    # Called through a link named as the real command (n8n, litellm, diun,
    # alloy), the product is that name; otherwise the first argument.
    invoked = os.path.basename(argv[0])
    product, arguments = (invoked, argv[1:]) if invoked in PRODUCTS else (argv[1] if len(argv) > 1 else "", argv[2:])
    if product not in PRODUCTS:
        print(f"usage: standin.py {{{','.join(PRODUCTS)}}} [flags...]", file=sys.stderr)
        return 2
    if invoked == product:
        # The process is named as the real command, not python3, for pgrep and ps.
        import ctypes  # noqa: PLC0415

        ctypes.CDLL(None).prctl(15, product.encode(), 0, 0, 0)  # PR_SET_NAME
    # As PID 1 the process gets no default SIGTERM action: stop at once, as the real servers do.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        result = PRODUCTS[product](arguments)
    except UsageError as error:
        print(f"{product}: {error}", file=sys.stderr, flush=True)
        return 2
    except StartupError as error:
        print(f"{product}: {error}", file=sys.stderr, flush=True)
        return 1
    if isinstance(result, int):
        return result
    result.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
