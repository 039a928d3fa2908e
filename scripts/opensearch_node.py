#!/usr/bin/env python3
"""A local OpenSearch node with the ElasticHash plugin: a stopgap until issue 9's launcher.

    scripts/opensearch_node.py start     one node on http://127.0.0.1:9290 (transport 9390; or
                                         $OPENSEARCH_HTTP_PORT and that plus 100); prints the URL last
    scripts/opensearch_node.py stop
    scripts/opensearch_node.py status
    scripts/opensearch_node.py prepare   fetch, unpack and install the plugin, start nothing

Every command is idempotent. The OpenSearch release is the root pom's `opensearch.version`; its
integ-test zip (no security plugin, with lang-painless) comes from Maven Central through Maven's
cache and is unpacked under /var/lib/elastichash/opensearch-dev/ (or $OPENSEARCH_STATE_DIR). The plugin
zip of `make opensearch-plugin` is installed, again whenever it changes. OpenSearch refuses to run
as root, so as root the node runs as the system user `elastichash`; it runs on Temurin 25 (or
$OPENSEARCH_JAVA_HOME) with a 512 MB heap (or $OPENSEARCH_HEAP). Node data, logs and config live in
<state>/node/.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("OPENSEARCH_STATE_DIR", "/var/lib/elastichash/opensearch-dev"))
HTTP_PORT = int(os.environ.get("OPENSEARCH_HTTP_PORT", "9290"))
TRANSPORT_PORT = HTTP_PORT + 100
URL = f"http://127.0.0.1:{HTTP_PORT}"
RUN_USER = "elastichash"
JAVA_HOME = os.environ.get("OPENSEARCH_JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64")
HEAP = os.environ.get("OPENSEARCH_HEAP", "512m")
NODE = STATE / "node"
PID_FILE = NODE / "opensearch.pid"


def say(message: str) -> None:
    print(f"opensearch-node: {message}", file=sys.stderr)


def pom_property(name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", (ROOT / "pom.xml").read_text())
    if match is None:
        sys.exit(f"opensearch-node: error: pom.xml has no <{name}>")
    return match.group(1)


VERSION = os.environ.get("OPENSEARCH_VERSION") or pom_property("opensearch.version")
HOME = STATE / f"opensearch-{VERSION}"
PLUGIN_MARKER = STATE / f"opensearch-{VERSION}.plugin.sha256"


def is_root() -> bool:
    return os.geteuid() == 0


def fetch() -> None:
    """The distribution, unpacked: from Maven's cache, fetched from Maven Central when missing."""
    if (HOME / "bin" / "opensearch").exists():
        return
    downloads = STATE / "downloads"
    archive = downloads / f"opensearch-{VERSION}.zip"
    if not archive.exists():
        say(f"fetching OpenSearch {VERSION} (integ-test zip) through Maven")
        jdk = subprocess.run([ROOT / "scripts" / "find-jdk.sh", "21"], check=True, capture_output=True, text=True)
        env = dict(os.environ, JAVA_HOME=jdk.stdout.strip(), MAVEN_OPTS="--sun-misc-unsafe-memory-access=allow")
        artifact = f"org.opensearch.distribution.integ-test-zip:opensearch:{VERSION}:zip"
        command = ["mvn", "-q", "-B", "-Dstyle.color=never", "dependency:copy", f"-Dartifact={artifact}"]
        subprocess.run([*command, f"-DoutputDirectory={downloads}"], check=True, env=env, stdout=sys.stderr)
    say(f"unpacking {archive}")
    partial = STATE / f"opensearch-{VERSION}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            zf.extract(info, partial)
            mode = info.external_attr >> 16
            if mode:  # zipfile drops the permissions; bin/ needs its executable bits
                os.chmod(partial / info.filename, mode & 0o777)
    (partial / f"opensearch-{VERSION}").rename(HOME)
    partial.rmdir()


def plugin_zip() -> Path:
    built = ROOT / "es-plugin/opensearch/target" / f"elastichash-{pom_property('version')}-os{VERSION}.zip"
    zip_path = Path(os.environ.get("PLUGIN_ZIP") or built)
    if not zip_path.exists():
        sys.exit(f"opensearch-node: error: no plugin zip {zip_path}; build it with 'make opensearch-plugin'")
    return zip_path


def install_plugin() -> None:
    """Installs the plugin zip unless this very zip is installed already (the node must be down)."""
    zip_path = plugin_zip()
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    installed = HOME / "plugins" / "elastichash"
    if installed.exists() and PLUGIN_MARKER.exists() and PLUGIN_MARKER.read_text().strip() == digest:
        return
    stop()
    env = dict(os.environ, OPENSEARCH_JAVA_HOME=JAVA_HOME, JAVA_HOME=JAVA_HOME)
    tool = str(HOME / "bin" / "opensearch-plugin")
    if installed.exists():
        subprocess.run([tool, "remove", "elastichash"], check=True, env=env, stdout=sys.stderr)
    say(f"installing {zip_path.name}")
    subprocess.run([tool, "install", "--batch", zip_path.as_uri()], check=True, env=env, stdout=sys.stderr)
    PLUGIN_MARKER.write_text(digest + "\n")


def configure() -> Path:
    """The node's own config folder: the distribution's, plus our opensearch.yml and heap."""
    config = NODE / "config"
    for folder in ("data", "logs"):
        (NODE / folder).mkdir(parents=True, exist_ok=True)
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(HOME / "config", config)
    (config / "opensearch.yml").write_text(
        "# Written by scripts/opensearch_node.py at every start.\n"
        "cluster.name: elastichash-opensearch-dev\n"
        "node.name: opensearch-dev\n"
        f"path.data: {NODE / 'data'}\n"
        f"path.logs: {NODE / 'logs'}\n"
        "network.host: 127.0.0.1\n"
        f"http.port: {HTTP_PORT}\n"
        f"transport.port: {TRANSPORT_PORT}\n"
        "discovery.type: single-node\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
    )
    # The distribution's JVM options write GC logs, error files and heap dumps relative to its own
    # folder, which the node's user cannot write: point them at the node's folders.
    options = (config / "jvm.options").read_text()
    options = options.replace("logs/", f"{NODE / 'logs'}/").replace(
        "HeapDumpPath=data", f"HeapDumpPath={NODE / 'data'}"
    )
    (config / "jvm.options").write_text(options)
    (config / "jvm.options.d").mkdir(exist_ok=True)
    (config / "jvm.options.d" / "heap.options").write_text(f"-Xms{HEAP}\n-Xmx{HEAP}\n")
    if is_root():
        shutil.chown(NODE, RUN_USER)
        for path in NODE.rglob("*"):
            shutil.chown(path, RUN_USER)
    return config


def running_pid() -> int | None:
    try:
        pid = int(PID_FILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def health(timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{URL}/_cluster/health", timeout=timeout) as response:
            return json.load(response)
    except (OSError, ValueError, urllib.error.URLError):
        return None


def prepare() -> None:
    STATE.mkdir(parents=True, exist_ok=True)
    fetch()
    install_plugin()


def start() -> None:
    prepare()
    if running_pid() is not None and health() is not None:
        print(URL)
        return
    if health() is not None:
        sys.exit(f"opensearch-node: error: {URL} answers, but not from the node this script started")
    config = configure()
    console = NODE / "console.log"
    console.write_text("")
    if is_root():
        shutil.chown(console, RUN_USER)
    node_env = {"OPENSEARCH_JAVA_HOME": JAVA_HOME, "JAVA_HOME": JAVA_HOME, "OPENSEARCH_PATH_CONF": str(config)}
    command = [str(HOME / "bin" / "opensearch"), "-d", "-p", str(PID_FILE)]
    if is_root():  # runuser starts a clean environment: hand the node's variables over with env
        command = ["runuser", "-u", RUN_USER, "--", "env", *[f"{k}={v}" for k, v in node_env.items()], *command]
    say(f"starting OpenSearch {VERSION} on {URL}")
    with console.open("a") as out:
        started = subprocess.run(command, env=dict(os.environ, **node_env), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while started.returncode == 0 and time.monotonic() < deadline:
        state = health()
        if state is not None and state.get("status") in ("green", "yellow"):
            print(URL)
            return
        time.sleep(1)
    say(f"the node did not come up; the end of {console} and its log:")
    print(console.read_text()[-3000:], file=sys.stderr)
    log = NODE / "logs" / "elastichash-opensearch-dev.log"
    if log.exists():
        print(log.read_text()[-4000:], file=sys.stderr)
    stop()
    sys.exit(1)


def stop() -> None:
    pid = running_pid()
    if pid is None:
        return
    say(f"stopping the node (pid {pid})")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while running_pid() == pid and time.monotonic() < deadline:
        time.sleep(0.5)
    if running_pid() == pid:
        os.kill(pid, signal.SIGKILL)
    PID_FILE.unlink(missing_ok=True)


def status() -> None:
    pid = running_pid()
    state = health()
    if pid is None:
        print(f"stopped (OpenSearch {VERSION}, {STATE})")
    else:
        print(f"running: pid {pid}, {URL}, health {state.get('status') if state else 'not answering'}")


def main(argv: list[str]) -> None:
    commands = {"start": start, "stop": stop, "status": status, "prepare": prepare}
    if len(argv) != 1 or argv[0] not in commands:
        sys.exit(__doc__)
    commands[argv[0]]()


if __name__ == "__main__":
    main(sys.argv[1:])
