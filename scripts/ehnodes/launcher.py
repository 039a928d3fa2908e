"""Start, reuse, stop and list local nodes of one engine: a single node or a 3-node cluster."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checkout import Checkout
from .distribution import Distribution, Maven, plugin_marker, say
from .engines import Engine, Jdk, engine_named, installed_jdks, select_jdk
from .errors import NodeError
from .node import HOST, Node, NodeSpec, RunAs, read_record
from .security import Access, SecurityFiles

CLUSTER_SIZE = 3
CLUSTER_HTTP_PORT = 9201
NO_PLUGIN = "none"
# A secured node's default port: the plain node's + 43 (9243 for es9), so that both can run side by side.
SECURE_PORT_OFFSET = 43


@dataclass(frozen=True)
class Options:
    """A start request as the CLI, the Makefile or the pytest fixture makes it (EH_* variables as defaults)."""

    engine: str = "es9"
    cluster: bool = False
    http_port: int | None = None  # first node's; transport ports are http + 100
    heap: str | None = None
    version: str | None = None
    plugin_zip: str | None = None  # a path, "none" for no plugin, or None for the built zip
    state_dir: str | None = None
    secure: bool = False  # TLS on HTTP and transport, users, API keys (a single Elasticsearch node)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **given: Any) -> Options:
        defaults: dict[str, Any] = {
            "engine": env.get("EH_ENGINE") or "es9",
            "http_port": int(env["EH_HTTP_PORT"]) if env.get("EH_HTTP_PORT") else None,
            "heap": env.get("EH_HEAP") or None,
            "plugin_zip": env.get("EH_PLUGIN_ZIP") or None,
            "state_dir": env.get("EH_STATE_DIR") or None,
        }
        return cls(**{**defaults, **{key: value for key, value in given.items() if value is not None}})


def port_answers(port: int, host: str = HOST) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


PLAIN = Access()


def get_json(url: str, timeout: float = 5.0, access: Access = PLAIN) -> dict[str, Any] | None:
    request = urllib.request.Request(url, headers=access.headers())
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=access.context()) as response:
            return json.load(response)
    except (OSError, ValueError):  # refused, timed out, TLS, HTTP errors (URLError is an OSError), not JSON
        return None


def access_to(spec: NodeSpec, state_dir: Path) -> Access:
    """How the launcher reaches a node it started: as the admin over HTTPS when the node is secured."""
    if not spec.secure:
        return PLAIN
    try:
        return SecurityFiles(state_dir).access()
    except NodeError:
        return Access(SecurityFiles(state_dir).ca)


def plan(nodes: list[tuple[NodeSpec | None, bool]], wanted: list[NodeSpec]) -> str:
    """What to do about this request's nodes, given each one's recorded spec and whether it runs.

    "reuse" when every node runs with exactly the wanted spec (same plugin, heap, ports, release),
    "restart" when some run otherwise, "start" when none runs.
    """
    recorded = [spec for spec, _ in nodes]
    if all(alive for _, alive in nodes) and recorded == wanted:
        return "reuse"
    return "restart" if any(alive for _, alive in nodes) else "start"


class Launcher:
    def __init__(self, options: Options, checkout: Checkout | None = None, run_as: RunAs | None = None) -> None:
        self.options = options
        self.engine: Engine = engine_named(options.engine)
        self.checkout = checkout or Checkout()
        self.run_as = run_as or RunAs()
        self.state_dir = Path(options.state_dir) if options.state_dir else self.checkout.state_dir(self.run_as.as_root)
        self.version = self.checkout.version(self.engine, options.version)
        self.distribution = Distribution(self.engine, self.version, self.state_dir, options.secure)
        self.security = SecurityFiles(self.state_dir)
        self._jdk: Jdk | None = None
        if options.secure and not self.engine.has_security:
            raise NodeError(f"--secure needs x-pack security, which {self.engine.product}'s test release lacks")
        if options.secure and options.cluster:
            raise NodeError("--secure starts a single node; leave out --cluster")

    # --- what this request means ------------------------------------------------------------------

    @property
    def first_port(self) -> int:
        if self.options.http_port is not None:
            return self.options.http_port
        if self.options.secure:
            return self.engine.http_port + SECURE_PORT_OFFSET
        return CLUSTER_HTTP_PORT if self.options.cluster else self.engine.http_port

    @property
    def url(self) -> str:
        return f"{'https' if self.options.secure else 'http'}://{HOST}:{self.first_port}"

    def access(self) -> Access:
        """How this launcher's checks reach its nodes (as the admin over HTTPS when secured)."""
        return self.security.access() if self.options.secure else PLAIN

    @property
    def heap(self) -> str:
        heap = self.options.heap or ("512m" if self.options.cluster else "1g")
        if not re.fullmatch(r"[1-9][0-9]*[mg]", heap):
            raise NodeError(f"the heap must be a size like 512m or 2g, got {heap!r}")
        return heap

    def jdk(self) -> Jdk:
        if self._jdk is None:
            self._jdk = select_jdk(self.engine, self.version, os.environ, installed_jdks(os.environ))
        return self._jdk

    def plugin_zip(self) -> Path | None:
        choice = self.options.plugin_zip
        if choice == NO_PLUGIN:
            return None
        if choice:
            path = Path(choice)
            if not path.is_file():
                raise NodeError(f"--plugin-zip {choice} is not a file")
            return path
        return self.checkout.plugin_zip(self.engine, self.version)

    def specs(self, plugin: str) -> list[NodeSpec]:
        name = self.engine.name
        if not self.options.cluster:
            port = self.first_port
            secure = self.options.secure
            node = "secure" if secure else "single"
            cluster = f"elastichash-{name}-secure" if secure else f"elastichash-{name}"
            return [NodeSpec(name, self.version, node, cluster, port, port + 100, self.heap, plugin, secure=secure)]
        ports = [self.first_port + i for i in range(CLUSTER_SIZE)]
        names = [f"cluster-{i + 1}" for i in range(CLUSTER_SIZE)]
        masters = tuple(f"{name}-{node}" for node in names)
        peers = tuple(port + 100 for port in ports)
        return [
            NodeSpec(
                name,
                self.version,
                node,
                f"elastichash-{name}-cluster",
                port,
                port + 100,
                self.heap,
                plugin,
                peers,
                masters,
            )
            for node, port in zip(names, ports, strict=True)
        ]

    def node_names(self) -> list[str]:
        if self.options.cluster:
            return [f"cluster-{i + 1}" for i in range(CLUSTER_SIZE)]
        return ["secure" if self.options.secure else "single"]

    def nodes(self, specs: list[NodeSpec]) -> list[Node]:
        folder = self.state_dir / "nodes" / self.engine.name
        return [Node(spec, folder / spec.name, self.distribution) for spec in specs]

    def existing_nodes(self) -> list[Node]:
        """This request's nodes as they were last started (their recorded spec), for stopping and status."""
        nodes = []
        for name in self.node_names():
            directory = self.state_dir / "nodes" / self.engine.name / name
            spec = read_record(directory / "launch.json")
            if spec is not None:
                distribution = Distribution(self.engine, spec.version, self.state_dir, spec.secure)
                nodes.append(Node(spec, directory, distribution))
        return nodes

    # --- commands ----------------------------------------------------------------------------------

    def prepare(self) -> str:
        """Fetches and unpacks the release and installs the plugin if it changed; returns the plugin's digest."""
        zip_path = self.plugin_zip()  # first: a missing zip is the likeliest problem, and the cheapest to report
        support = self.checkout.support_zip(self.engine, self.version) if self.options.secure else None
        wanted = plugin_marker(zip_path, support)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.distribution.ensure(Maven(self.jdk()))
        if not self.distribution.plugin_is(wanted):
            for node in all_nodes(self.state_dir):
                if node.distribution.home == self.distribution.home and node.stop():
                    say(f"stopped {node.spec.node_name}: its plugin changes")
            self.distribution.set_plugin(zip_path, self.jdk(), support)
        return wanted

    def start(self, timeout: float = 240.0) -> tuple[str, bool]:
        """(URL, whether nodes were started): reuses running nodes with the same spec and current plugin."""
        plugin = self.prepare()
        wanted = self.specs(plugin)
        nodes = self.nodes(wanted)
        decision = plan([(node.recorded_spec(), node.running_pid() is not None) for node in nodes], wanted)
        if decision == "reuse" and self.healthy(len(nodes), timeout=10):
            say(f"already running: {self.engine.product} {self.version} at {self.url}")
            return self.url, False
        for node in self.existing_nodes():
            if node.stop():
                say(f"stopped {node.spec.node_name} to start it again with new settings")
        for node in nodes:
            node.stop()
        self.check_ports(wanted)
        self.run_as.ensure(self.distribution.executable)
        if self.options.secure:
            self.security.ensure(self.distribution, self.jdk())
        for node in nodes:
            node.configure(self.run_as)
        what = f"{len(nodes)} node(s) of {self.engine.product} {self.version}"
        say(f"starting {what} on {self.url} (JDK {self.jdk().major}, heap {self.heap})")
        # All at once: a cluster node waits for its peers before it says it started.
        launched_at = time.time()
        launches = [(node, node.launch(self.jdk(), self.run_as)) for node in nodes]
        deadline = time.monotonic() + timeout
        failed = None
        for node, process in launches:
            try:
                code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                code = -1
            if code != 0 and failed is None:
                failed = node
        if failed is None and self.healthy(len(nodes), timeout=max(1.0, deadline - time.monotonic())):
            return self.url, True
        culprit = failed or next((node for node in nodes if node.running_pid() is None), nodes[0])
        log, tail = culprit.tail(since=launched_at - 1)
        for node in nodes:
            node.stop()
        raise NodeError(
            f"{self.engine.product} {self.version} node {culprit.spec.node_name} did not start; "
            f"the end of {log}:\n{tail}"
        )

    def healthy(self, count: int, timeout: float) -> bool:
        """Whether our cluster answers with all nodes: green, or yellow for a single node (unassignable replicas)."""
        status = "green" if count > 1 else "yellow"
        deadline = time.monotonic() + timeout
        query = f"wait_for_nodes={count}&wait_for_status={status}&timeout=5s"
        while True:
            health = get_json(f"{self.url}/_cluster/health?{query}", timeout=10, access=self.access())
            if health and not health.get("timed_out") and self.ours():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)

    def ours(self) -> bool:
        """Whether the node at our URL is the one we configured (name, cluster, release).

        Asked through _nodes: Elasticsearch's integ-test zip lacks the module behind `GET /`.
        """
        first = self.specs(NO_PLUGIN)[0]
        path = "/_nodes/_local?filter_path=cluster_name,nodes.*.name,nodes.*.version"
        local = get_json(f"{self.url}{path}", access=self.access())
        if not local or local.get("cluster_name") != first.cluster_name:
            return False
        return [(n.get("name"), n.get("version")) for n in local.get("nodes", {}).values()] == [
            (first.node_name, self.version)
        ]

    def check_ports(self, specs: list[NodeSpec]) -> None:
        users = {}
        for node in all_nodes(self.state_dir):
            if node.running_pid() is not None:
                users[node.spec.http_port] = users[node.spec.transport_port] = node.spec.node_name
        for spec in specs:
            for port in (spec.http_port, spec.transport_port):
                if port in users:
                    raise NodeError(
                        f"port {port} is used by our node {users[port]}; stop it or choose another with --port"
                    )
                if port_answers(port):
                    raise NodeError(f"port {port} is taken by another program; stop it or choose another with --port")

    def stop(self) -> list[str]:
        return [node.spec.node_name for node in self.existing_nodes() if node.stop()]

    def cluster_node(self, number: int) -> Node:
        """Node `number` (1-3) of this engine's cluster as it was last started."""
        if not self.options.cluster:
            raise NodeError("kill and revive act on one node of the 3-node cluster: pass --cluster")
        if not 1 <= number <= CLUSTER_SIZE:
            raise NodeError(f"--node must be between 1 and {CLUSTER_SIZE}, got {number}")
        name = f"cluster-{number}"
        node = next((node for node in self.existing_nodes() if node.spec.name == name), None)
        if node is None:
            raise NodeError(f"{self.engine.name}-{name} was never started; start the cluster first")
        return node

    def kill(self, number: int) -> bool:
        """SIGKILLs cluster node `number`, as a crash would; True if it was running."""
        return self.cluster_node(number).kill()

    def revive(self, number: int, timeout: float = 240.0) -> bool:
        """Starts cluster node `number` again with its files as they are (after `kill`) and waits
        until the cluster has all its nodes again; False if it was running already."""
        node = self.cluster_node(number)
        if node.running_pid() is not None:
            return False
        self.run_as.ensure(node.distribution.executable)
        launched_at = time.time()
        process = node.launch(self.jdk(), self.run_as)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = -1
        url = node.spec.url
        query = f"wait_for_nodes={CLUSTER_SIZE}&timeout=5s"
        deadline = time.monotonic() + timeout
        while code == 0 and time.monotonic() < deadline:
            health = get_json(f"{url}/_cluster/health?{query}", timeout=10)
            if health and not health.get("timed_out"):
                return True
            time.sleep(1)
        log, tail = node.tail(since=launched_at - 1)
        raise NodeError(f"{node.spec.node_name} did not rejoin its cluster; the end of {log}:\n{tail}")


def all_nodes(state_dir: Path) -> list[Node]:
    """Every node with a launch record under this state folder, of every engine."""
    nodes = []
    for record in sorted(state_dir.glob("nodes/*/*/launch.json")):
        spec = read_record(record)
        if spec is not None:
            distribution = Distribution(engine_named(spec.engine), spec.version, state_dir, spec.secure)
            nodes.append(Node(spec, record.parent, distribution))
    return nodes


def stop_all(state_dir: Path) -> list[str]:
    return [node.spec.node_name for node in all_nodes(state_dir) if node.stop()]


def status_lines(state_dir: Path) -> list[str]:
    lines = [f"node files: {state_dir}"]
    for node in all_nodes(state_dir):
        spec = node.spec
        pid = node.running_pid()
        where = f"{node.distribution.engine.product} {spec.version}, {spec.url}, heap {spec.heap}"
        if pid is None:
            lines.append(f"{spec.node_name}: stopped ({where})")
        else:
            health = get_json(f"{spec.url}/_cluster/health", access=access_to(spec, state_dir))
            color = health.get("status", "?") if health else "not answering"
            lines.append(f"{spec.node_name}: running, pid {pid} ({where}), health {color}")
    return lines


def clean(state_dir: Path) -> list[Path]:
    """Stops every node and deletes node data and logs; downloads and unpacked releases stay."""
    stop_all(state_dir)
    removed = []
    nodes = state_dir / "nodes"
    if nodes.exists():
        shutil.rmtree(nodes)
        removed.append(nodes)
    return removed
