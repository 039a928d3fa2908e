"""One node: its settings, its folder, its process (run as an unprivileged user when we are root)."""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from .distribution import Distribution, engine_env
from .engines import Engine, Jdk
from .errors import NodeError
from .security import SecurityFiles, security_settings

RUN_USER = "elastichash"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class NodeSpec:
    """Everything that decides a node's configuration; two starts with equal specs can share a node."""

    engine: str
    version: str
    name: str  # single, cluster-1, ...
    cluster_name: str
    http_port: int
    transport_port: int
    heap: str
    plugin: str  # sha256 of the installed plugin zip, or "none"
    peers: tuple[int, ...] = ()  # the cluster's transport ports; empty for a single node
    masters: tuple[str, ...] = ()
    secure: bool = False  # TLS, users and a trial license (security.py)

    @property
    def node_name(self) -> str:
        return f"{self.engine}-{self.name}"

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{HOST}:{self.http_port}"

    def settings(self, engine: Engine, directory: Path) -> dict[str, str]:
        settings = {
            "cluster.name": self.cluster_name,
            "node.name": self.node_name,
            "path.data": str(directory / "data"),
            "path.logs": str(directory / "logs"),
            "network.host": HOST,
            "http.port": str(self.http_port),
            "transport.port": str(self.transport_port),
            # A development node on a shared disk: never stop allocating shards because the disk is full-ish.
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            # Search timeouts are checked against a clock the node refreshes this often (default
            # 200 ms, so a search shorter than that never times out); 0: read it each time, so that
            # a development node honours a `timeout` of a few milliseconds as a user would expect.
            "thread_pool.estimated_time_interval": "0",
        }
        if engine.merge_disk_check_setting:
            settings[engine.merge_disk_check_setting] = "0s"  # 0: never check
        if engine.has_security:
            settings |= security_settings(self.secure)
        if self.peers:
            settings["discovery.seed_hosts"] = "[" + ", ".join(f"{HOST}:{port}" for port in self.peers) + "]"
            settings[engine.master_setting] = "[" + ", ".join(self.masters) + "]"
        else:
            settings["discovery.type"] = "single-node"
        return settings

    def render_yml(self, engine: Engine, directory: Path) -> str:
        lines = ["# Written by scripts/ehnodes at every start; edits are lost."]
        lines += [f"{key}: {value}" for key, value in self.settings(engine, directory).items()]
        return "\n".join(lines) + "\n"


def render_jvm_options(options: str, directory: Path) -> str:
    """The distribution's jvm.options with its relative GC-log, error-file and heap-dump paths made absolute.

    OpenSearch resolves them against its own folder, which the node's user may not write.
    """
    options = re.sub(r"(?<=[=:])logs/", f"{directory / 'logs'}/", options)
    return re.sub(r"HeapDumpPath=data\b", f"HeapDumpPath={directory / 'data'}", options)


class RunAs:
    """The user nodes run as: ourselves, or `elastichash` when we are root (the engines refuse root)."""

    def __init__(self, as_root: bool | None = None, user: str = RUN_USER) -> None:
        self.as_root = os.geteuid() == 0 if as_root is None else as_root
        self.user = user

    def ensure(self, reachable: Path) -> None:
        if not self.as_root:
            return
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            created = subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", self.user],
                capture_output=True,
                text=True,
            )
            if created.returncode != 0:
                raise NodeError(f"could not create the user {self.user}: {created.stderr.strip()}") from None
        probe = subprocess.run(["runuser", "-u", self.user, "--", "test", "-r", str(reachable)])
        if probe.returncode != 0:
            raise NodeError(
                f"user {self.user} cannot read {reachable}: every folder above it must be enterable by "
                "others (chmod o+x), or set EH_STATE_DIR to a folder that is"
            )

    def command(self, command: list[str], env: dict[str, str]) -> list[str]:
        if not self.as_root:
            return command
        # runuser starts from a clean environment: hand the node's variables over through env.
        return ["runuser", "-u", self.user, "--", "env", *(f"{k}={v}" for k, v in env.items()), *command]

    def own(self, paths: Iterable[Path]) -> None:
        if not self.as_root:
            return
        user = pwd.getpwnam(self.user)
        for path in paths:
            os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


class Node:
    """A node's folder under <state>/nodes/<engine>/<name>/ and the process started from it."""

    def __init__(self, spec: NodeSpec, directory: Path, distribution: Distribution) -> None:
        self.spec = spec
        self.directory = directory
        self.distribution = distribution

    @property
    def pid_file(self) -> Path:
        return self.directory / "node.pid"

    @property
    def console(self) -> Path:
        return self.directory / "console.log"

    @property
    def record(self) -> Path:
        """The spec the node's config was last written for."""
        return self.directory / "launch.json"

    @property
    def config(self) -> Path:
        return self.directory / "config"

    def log(self) -> Path:
        return self.directory / "logs" / f"{self.spec.cluster_name}.log"

    def recorded_spec(self) -> NodeSpec | None:
        return read_record(self.record)

    def running_pid(self) -> int | None:
        return live_pid(self.pid_file, self.distribution.home)

    def configure(self, run_as: RunAs) -> None:
        engine = self.distribution.engine
        for folder in ("data", "logs"):
            (self.directory / folder).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.config, ignore_errors=True)
        shutil.copytree(self.distribution.home / "config", self.config)
        (self.config / f"{engine.command}.yml").write_text(self.spec.render_yml(engine, self.directory))
        options = self.config / "jvm.options"
        options.write_text(render_jvm_options(options.read_text(), self.directory))
        (self.config / "jvm.options.d").mkdir(exist_ok=True)
        (self.config / "jvm.options.d" / "heap.options").write_text(f"-Xms{self.spec.heap}\n-Xmx{self.spec.heap}\n")
        if self.spec.secure:
            SecurityFiles(self.distribution.state_dir).install(self.config)
        self.console.write_text("")
        # The record is the config's: a node is reused only if it also runs and answers as expected.
        self.record.write_text(json.dumps(asdict(self.spec), indent=1) + "\n")
        # What the node writes into must be its user's; what it writes there is its own already.
        folders = [self.directory, self.directory / "data", self.directory / "logs"]
        run_as.own([*folders, self.console, self.record, self.config, *self.config.rglob("*")])

    def launch(self, jdk: Jdk, run_as: RunAs) -> subprocess.Popen[bytes]:
        """Starts the engine's own launcher with -d; it returns once the node runs (or failed)."""
        prefix = self.distribution.engine.env_prefix
        env = {f"{prefix}_JAVA_HOME": str(jdk.home), f"{prefix}_PATH_CONF": str(self.config)}
        command = run_as.command([str(self.distribution.executable), "-d", "-p", str(self.pid_file)], env)
        with self.console.open("ab") as out:
            return subprocess.Popen(
                command, env=engine_env(os.environ, env), stdout=out, stderr=subprocess.STDOUT, cwd=self.directory
            )

    def stop(self, timeout: float = 60.0) -> bool:
        """Stops the process named by the pid file; True if one was running."""
        pid = self.running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.running_pid() == pid and time.monotonic() < deadline:
            time.sleep(0.3)
        if self.running_pid() == pid:
            os.kill(pid, signal.SIGKILL)
            while self.running_pid() == pid:
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self, timeout: float = 30.0) -> bool:
        """SIGKILLs the process named by the pid file, as a crash would end it (no shutdown, no
        goodbye to the cluster); True if one was running. The node's files stay, so that
        `Launcher.revive` starts it again as the same node."""
        pid = self.running_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while self.running_pid() == pid:
            if time.monotonic() > deadline:
                raise NodeError(f"{self.spec.node_name} (pid {pid}) outlived SIGKILL for {timeout:.0f} s")
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def tail(self, lines: int = 20, since: float = 0.0) -> tuple[Path, str]:
        """The end of the node's main log, or of its console output when the log says nothing new.

        A JVM that never started leaves the log of an earlier run: `since` (a time) skips it.
        """
        for path in (self.log(), self.console):
            try:
                if path.stat().st_mtime < since:
                    continue
                text = path.read_text(errors="replace").rstrip()
            except OSError:
                continue
            if text:
                return path, "\n".join(text.splitlines()[-lines:])
        return self.console, "(no output)"


def read_record(path: Path) -> NodeSpec | None:
    try:
        data = json.loads(path.read_text())
        return NodeSpec(**{**data, "peers": tuple(data["peers"]), "masters": tuple(data["masters"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def live_pid(pid_file: Path, home: Path) -> int | None:
    """The pid in `pid_file` if that process runs from `home` (a reused pid belongs to another program)."""
    try:
        pid = int(pid_file.read_text().strip())
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(home).encode() in command_line else None
