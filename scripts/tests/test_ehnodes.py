"""Unit tests of the node launcher: no network, no engine; real files, processes and sockets where cheap."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ehnodes import __main__ as cli  # noqa: E402
from ehnodes.checkout import Checkout, choose_state_dir, enterable_by_others  # noqa: E402
from ehnodes.distribution import Distribution, Maven, plugin_marker  # noqa: E402
from ehnodes.engines import ENGINES, Jdk, installed_jdks, read_jdk, select_jdk  # noqa: E402
from ehnodes.errors import NodeError  # noqa: E402
from ehnodes.launcher import Launcher, Options, plan  # noqa: E402
from ehnodes.node import Node, NodeSpec, RunAs, live_pid, render_jvm_options  # noqa: E402
from ehnodes.security import ADMIN_USER, Access, SecurityFiles  # noqa: E402

POM = """<project>
  <version>0.1.0</version>
  <properties>
    <es.version>9.5.4</es.version>
    <opensearch.version>3.8.0</opensearch.version>
    {extra}
  </properties>
</project>
"""


def fake_jdk(folder: Path, version: str) -> Path:
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "java").write_text("#!/bin/sh\n")
    (folder / "bin" / "java").chmod(0o755)
    (folder / "release").write_text(f'IMPLEMENTOR="test"\nJAVA_VERSION="{version}"\n')
    return folder


def checkout(tmp_path: Path, extra: str = "") -> Checkout:
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "pom.xml").write_text(POM.format(extra=extra))
    return Checkout(root)


# --- JDK per engine ------------------------------------------------------------------------------


def test_read_jdk_takes_the_feature_version(tmp_path: Path) -> None:
    assert read_jdk(fake_jdk(tmp_path / "a", "25.0.1")) == Jdk(tmp_path / "a", 25)
    assert read_jdk(fake_jdk(tmp_path / "b", "17.0.13")).major == 17
    assert read_jdk(fake_jdk(tmp_path / "c", "1.8.0_392")).major == 8
    assert read_jdk(tmp_path / "nothing") is None


def test_only_jdk_23_and_newer_know_the_unsafe_memory_flag() -> None:
    assert [Jdk(Path("/j"), major).knows_unsafe_memory_access for major in (17, 21, 22, 23, 25)] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_each_engine_gets_the_newest_jdk_it_accepts(tmp_path: Path) -> None:
    jdk17, jdk21, jdk25 = (Jdk(tmp_path / str(m), m) for m in (17, 21, 25))
    assert select_jdk(ENGINES["es9"], "9.5.4", {}, [jdk17, jdk25, jdk21]) == jdk25
    assert select_jdk(ENGINES["opensearch"], "3.8.0", {}, [jdk21, jdk17]) == jdk21
    assert select_jdk(ENGINES["es8"], "8.19.4", {}, [jdk17]) == jdk17
    assert select_jdk(ENGINES["es8"], "8.19.4", {}, [jdk17, jdk25]) == jdk25


def test_no_fitting_jdk_is_one_sentence_naming_the_need(tmp_path: Path) -> None:
    with pytest.raises(NodeError) as raised:
        select_jdk(ENGINES["es9"], "9.5.4", {}, [Jdk(tmp_path, 17)])
    message = str(raised.value)
    assert "Elasticsearch 9.5.4 needs a JDK 21 or newer" in message
    assert "ES_JAVA_HOME" in message and "\n" not in message


def test_the_engine_s_java_home_variable_wins_but_must_fit(tmp_path: Path) -> None:
    jdk17 = fake_jdk(tmp_path / "17", "17.0.2")
    jdk25 = Jdk(tmp_path / "25", 25)
    assert select_jdk(ENGINES["es8"], "8.19.4", {"ES_JAVA_HOME": str(jdk17)}, [jdk25]).major == 17
    with pytest.raises(NodeError, match="ES_JAVA_HOME points at JDK 17, but Elasticsearch 9.5.4 needs a JDK 21"):
        select_jdk(ENGINES["es9"], "9.5.4", {"ES_JAVA_HOME": str(jdk17)}, [jdk25])
    # OpenSearch reads its own variable, not Elasticsearch's.
    assert select_jdk(ENGINES["opensearch"], "3.8.0", {"ES_JAVA_HOME": str(jdk17)}, [jdk25]) == jdk25
    with pytest.raises(NodeError, match="OPENSEARCH_JAVA_HOME=/nowhere is not a JDK"):
        select_jdk(ENGINES["opensearch"], "3.8.0", {"OPENSEARCH_JAVA_HOME": "/nowhere"}, [jdk25])


def test_installed_jdks_sees_java_home_and_the_jvm_folder_once_each(tmp_path: Path) -> None:
    jvm = tmp_path / "jvm"
    fake_jdk(jvm / "temurin-25", "25")
    fake_jdk(jvm / "openjdk-17", "17.0.1")
    (jvm / "java-1.17").symlink_to(jvm / "openjdk-17")
    (jvm / "not-a-jdk").mkdir()
    found = installed_jdks({"JAVA_HOME": str(jvm / "temurin-25")}, jvm)
    assert sorted(jdk.major for jdk in found) == [17, 25]


def test_maven_gets_the_unsafe_flag_only_on_jdks_that_have_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in `mvn` on PATH records MAVEN_OPTS and 'downloads' the artifact."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text('#!/bin/sh\necho "$MAVEN_OPTS" > opts.txt\necho zip > elasticsearch-9.5.4.zip\n')
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("MAVEN_OPTS", raising=False)
    coordinates = ENGINES["es9"].coordinates("9.5.4")
    for major, expected in ((21, ""), (25, "--sun-misc-unsafe-memory-access=allow")):
        into = tmp_path / f"downloads-{major}"
        fetched = Maven(Jdk(tmp_path, major), tmp_path / "empty-repo").fetch(coordinates, into)
        assert fetched == into / "elasticsearch-9.5.4.zip"
        assert (into / "opts.txt").read_text().strip() == expected


def test_maven_s_cache_is_used_without_running_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    cached = repo / "org/opensearch/distribution/integ-test-zip/opensearch/3.8.0/opensearch-3.8.0.zip"
    cached.parent.mkdir(parents=True)
    cached.write_text("zip")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))  # no mvn at all
    maven = Maven(Jdk(tmp_path, 25), repo)
    assert maven.fetch(ENGINES["opensearch"].coordinates("3.8.0"), tmp_path / "d") == cached
    with pytest.raises(NodeError, match=r"Maven \(mvn\) is not installed"):
        maven.fetch(ENGINES["es9"].coordinates("9.5.4"), tmp_path / "d")


# --- releases and plugin zips --------------------------------------------------------------------


def test_releases_come_from_the_pom_or_the_pom_is_named(tmp_path: Path) -> None:
    plain = checkout(tmp_path)
    assert plain.version(ENGINES["es9"]) == "9.5.4"
    assert plain.version(ENGINES["opensearch"]) == "3.8.0"
    with pytest.raises(NodeError, match=r"pom.xml has no <es8.version>"):
        plain.version(ENGINES["es8"])
    assert plain.version(ENGINES["es9"], "9.5.3") == "9.5.3"
    (tmp_path / "repo" / "pom.xml").write_text(POM.format(extra="<es8.version>8.19.2</es8.version>"))
    assert plain.version(ENGINES["es8"]) == "8.19.2"
    (tmp_path / "repo" / "pom.xml").write_text("<project></project>")
    with pytest.raises(NodeError, match=r"pom.xml has no <es.version>"):
        plain.version(ENGINES["es9"])


def test_plugin_zip_is_found_by_its_engine_and_release_suffix(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    zips = {
        "elasticsearch/target/elastichash-0.1.0-es9.5.4.zip": 100,
        "elasticsearch/target/elastichash-0.1.0-es9.5.3.zip": 300,
        "elasticsearch8/target/elastichash-0.1.0-es8.19.4.zip": 100,
        "opensearch/target/elastichash-0.1.0-os3.8.0.zip": 100,
        "opensearch/target/elastichash-0.2.0-os3.8.0.zip": 200,
    }
    for name, mtime in zips.items():
        path = repo.root / "es-plugin" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
        os.utime(path, (mtime, mtime))
    target = repo.root / "es-plugin"
    assert repo.plugin_zip(ENGINES["es9"], "9.5.4") == target / "elasticsearch/target/elastichash-0.1.0-es9.5.4.zip"
    assert repo.plugin_zip(ENGINES["es8"], "8.19.4") == target / "elasticsearch8/target/elastichash-0.1.0-es8.19.4.zip"
    # The newest of two builds for the same release.
    assert repo.plugin_zip(ENGINES["opensearch"], "3.8.0") == target / "opensearch/target/elastichash-0.2.0-os3.8.0.zip"
    with pytest.raises(NodeError, match=r"no plugin zip ending in -es8\.19\.2\.zip .*`make es8-plugin`"):
        repo.plugin_zip(ENGINES["es8"], "8.19.2")


# --- where node files live -----------------------------------------------------------------------


def test_state_dir_is_the_checkout_unless_root_cannot_share_it(tmp_path: Path) -> None:
    root = Path("/root/work/elastichash")
    assert choose_state_dir(root, as_root=False, enterable=lambda _: False) == root / ".es"
    assert choose_state_dir(root, as_root=True, enterable=lambda _: True) == root / ".es"
    shared = choose_state_dir(root, as_root=True, enterable=lambda _: False)
    # The digits scripts/es-node.sh used: `echo "$root" | sha1sum | cut -c1-12`.
    bash = subprocess.run(
        ["bash", "-c", f'echo "{root}" | sha1sum | cut -c1-12'], capture_output=True, text=True, check=True
    )
    assert shared == Path("/var/lib/elastichash") / bash.stdout.strip()
    assert shared.name == hashlib.sha1(b"/root/work/elastichash\n").hexdigest()[:12]


def test_enterable_by_others_needs_o_x_on_every_folder_above(tmp_path: Path) -> None:
    assert enterable_by_others(Path("/usr/lib"))
    closed = tmp_path / "closed"
    inner = closed / "inner"
    inner.mkdir(parents=True)
    closed.chmod(0o750)
    assert not enterable_by_others(inner)
    assert not enterable_by_others(tmp_path / "missing")


# --- node configuration --------------------------------------------------------------------------


def launcher(tmp_path: Path, **options: object) -> Launcher:
    given = {"state_dir": str(tmp_path / "state"), **options}
    return Launcher(Options(**given), checkout(tmp_path), RunAs(as_root=False))  # type: ignore[arg-type]


def settings_of(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split(": ", 1) for line in lines)


def test_single_node_config(tmp_path: Path) -> None:
    (spec,) = launcher(tmp_path, engine="es9").specs("abc")
    assert (spec.http_port, spec.transport_port, spec.heap, spec.url) == (9200, 9300, "1g", "http://127.0.0.1:9200")
    settings = settings_of(spec.render_yml(ENGINES["es9"], Path("/n/es9/single")))
    assert settings["discovery.type"] == "single-node"
    assert settings["xpack.security.enabled"] == "false"
    assert settings["path.data"] == "/n/es9/single/data" and settings["path.logs"] == "/n/es9/single/logs"
    assert settings["network.host"] == "127.0.0.1"
    assert settings["node.name"] == "es9-single" and settings["cluster.name"] == "elastichash-es9"
    assert "discovery.seed_hosts" not in settings


@pytest.mark.parametrize("engine", ["es9", "es8"])
def test_elasticsearch_merges_even_on_a_nearly_full_disk(tmp_path: Path, engine: str) -> None:
    # Left on, a disk 95 % full (a shared CI disk) holds back every merge and a force merge never returns.
    (spec,) = launcher(tmp_path, engine="es9").specs("abc")
    settings = settings_of(spec.render_yml(ENGINES[engine], Path("/n")))
    assert settings["indices.merge.disk.check_interval"] == "0s"
    assert settings["cluster.routing.allocation.disk.threshold_enabled"] == "false"


def test_opensearch_has_no_x_pack_and_its_own_port(tmp_path: Path) -> None:
    (spec,) = launcher(tmp_path, engine="opensearch", heap="2g").specs("none")
    settings = settings_of(spec.render_yml(ENGINES["opensearch"], Path("/n")))
    assert not any(key.startswith("xpack") or key.startswith("indices.merge") for key in settings)
    assert (settings["http.port"], settings["transport.port"], spec.heap) == ("9290", "9390", "2g")


@pytest.mark.parametrize(
    ("engine", "masters_key"),
    [("es9", "cluster.initial_master_nodes"), ("opensearch", "cluster.initial_cluster_manager_nodes")],
)
def test_cluster_config(tmp_path: Path, engine: str, masters_key: str) -> None:
    specs = launcher(tmp_path, engine=engine, cluster=True).specs("abc")
    assert [(s.http_port, s.transport_port) for s in specs] == [(9201, 9301), (9202, 9302), (9203, 9303)]
    assert {s.heap for s in specs} == {"512m"}
    settings = settings_of(specs[1].render_yml(ENGINES[engine], Path("/n")))
    assert settings["discovery.seed_hosts"] == "[127.0.0.1:9301, 127.0.0.1:9302, 127.0.0.1:9303]"
    assert settings[masters_key] == f"[{engine}-cluster-1, {engine}-cluster-2, {engine}-cluster-3]"
    assert settings["node.name"] == f"{engine}-cluster-2"
    assert "discovery.type" not in settings


def test_a_heap_without_a_unit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="the heap must be a size like 512m or 2g, got '3'"):
        launcher(tmp_path, heap="3").specs("x")


def test_port_option_moves_every_node(tmp_path: Path) -> None:
    specs = launcher(tmp_path, cluster=True, http_port=9401).specs("x")
    assert [(s.http_port, s.transport_port) for s in specs] == [(9401, 9501), (9402, 9502), (9403, 9503)]
    assert launcher(tmp_path, http_port=9280).url == "http://127.0.0.1:9280"


def test_jvm_options_point_into_the_node_folder() -> None:
    options = (
        "-XX:HeapDumpPath=data\n"
        "-XX:ErrorFile=logs/hs_err_pid%p.log\n"
        "8:-Xloggc:logs/gc.log\n"
        "9-:-Xlog:gc*,gc+age=trace,safepoint:file=logs/gc.log:utctime,pid,tags:filecount=32,filesize=64m\n"
        "-XX:ErrorFile=hs_err_pid%p.log\n"
    )
    rendered = render_jvm_options(options, Path("/n/os/single")).splitlines()
    assert rendered == [
        "-XX:HeapDumpPath=/n/os/single/data",
        "-XX:ErrorFile=/n/os/single/logs/hs_err_pid%p.log",
        "8:-Xloggc:/n/os/single/logs/gc.log",
        "9-:-Xlog:gc*,gc+age=trace,safepoint:file=/n/os/single/logs/gc.log:utctime,pid,tags:filecount=32,filesize=64m",
        "-XX:ErrorFile=hs_err_pid%p.log",  # Elasticsearch's: relative to its logs folder already
    ]


def test_configure_writes_the_node_folder(tmp_path: Path) -> None:
    starter = launcher(tmp_path, engine="opensearch", http_port=9285)
    home = starter.distribution.home
    (home / "config" / "jvm.options.d").mkdir(parents=True)
    (home / "config" / "opensearch.yml").write_text("# the distribution's\n")
    (home / "config" / "jvm.options").write_text("-XX:HeapDumpPath=data\n")
    (node,) = starter.nodes(starter.specs("abc"))
    node.configure(RunAs(as_root=False))
    assert settings_of((node.config / "opensearch.yml").read_text())["http.port"] == "9285"
    assert (node.config / "jvm.options.d" / "heap.options").read_text() == "-Xms1g\n-Xmx1g\n"
    assert (node.config / "jvm.options").read_text() == f"-XX:HeapDumpPath={node.directory / 'data'}\n"
    assert node.recorded_spec() == node.spec
    assert (node.directory / "data").is_dir() and (node.directory / "logs").is_dir()


# --- idempotence -----------------------------------------------------------------------------------


def spec(heap: str = "1g", plugin: str = "abc", name: str = "single") -> NodeSpec:
    return NodeSpec("es9", "9.5.4", name, "elastichash-es9", 9200, 9300, heap, plugin)


def test_plan_reuses_only_running_nodes_with_the_same_spec() -> None:
    wanted = [spec()]
    assert plan([(spec(), True)], wanted) == "reuse"
    assert plan([(spec(heap="2g"), True)], wanted) == "restart"
    assert plan([(spec(plugin="old"), True)], wanted) == "restart"
    assert plan([(None, True)], wanted) == "restart"
    assert plan([(spec(), False)], wanted) == "start"
    assert plan([(None, False)], wanted) == "start"
    cluster = [spec(name=f"cluster-{i}") for i in (1, 2, 3)]
    assert plan([(s, True) for s in cluster], cluster) == "reuse"
    assert plan([(cluster[0], True), (cluster[1], False), (cluster[2], True)], cluster) == "restart"


def test_plugin_marker_must_agree_with_the_plugins_folder(tmp_path: Path) -> None:
    dist = Distribution(ENGINES["es9"], "9.5.4", tmp_path)
    assert dist.installed_plugin() is None
    (dist.home / "plugins").mkdir(parents=True)
    dist.plugin_marker.write_text("none\n")
    assert dist.plugin_is("none")
    dist.plugin_marker.write_text("abc\n")
    assert dist.installed_plugin() is None  # says installed, but the folder is gone: install again
    (dist.home / "plugins" / "elastichash").mkdir()
    assert dist.plugin_is("abc") and not dist.plugin_is("def")


def test_options_from_the_environment_yield_to_explicit_ones() -> None:
    env = {"EH_ENGINE": "opensearch", "EH_HTTP_PORT": "9285", "EH_HEAP": "2g", "EH_STATE_DIR": "/s"}
    options = Options.from_env(env)
    assert (options.engine, options.http_port, options.heap, options.state_dir) == ("opensearch", 9285, "2g", "/s")
    assert Options.from_env(env, engine="es9", http_port=9280, cluster=True).engine == "es9"
    assert Options.from_env({}).engine == "es9" and Options.from_env({}).http_port is None


# --- processes and ports ---------------------------------------------------------------------------


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        starter = launcher(tmp_path, http_port=port)
        with pytest.raises(NodeError, match=f"port {port} is taken by another program"):
            starter.check_ports(starter.specs("x"))


def test_stop_ends_the_process_named_by_the_pid_file(tmp_path: Path) -> None:
    home = tmp_path / "dist" / "elasticsearch-9.5.4"
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", str(home)])
    try:
        dist = Distribution(ENGINES["es9"], "9.5.4", tmp_path)
        node = Node(spec(), tmp_path / "nodes" / "es9" / "single", dist)
        node.directory.mkdir(parents=True)
        node.pid_file.write_text(f"{process.pid}\n")
        deadline = time.monotonic() + 10  # until the child has exec'd, /proc shows pytest's command line
        while node.running_pid() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert node.running_pid() == process.pid
        # A pid file naming a process that does not run from this release (a reused pid) is not ours.
        assert live_pid(node.pid_file, tmp_path / "other-home") is None
        assert node.stop(timeout=10)
        assert process.wait(timeout=10) is not None
        assert not node.pid_file.exists() and node.running_pid() is None
        assert not node.stop()
    finally:
        process.kill()


def test_failure_tail_prefers_the_node_log(tmp_path: Path) -> None:
    node = Node(spec(), tmp_path, Distribution(ENGINES["es9"], "9.5.4", tmp_path))
    (tmp_path / "logs").mkdir()
    node.console.write_text("console line\n")
    assert node.tail() == (node.console, "console line")
    node.log().write_text("".join(f"line {i}\n" for i in range(50)))
    path, text = node.tail(lines=3)
    assert path == tmp_path / "logs" / "elastichash-es9.log" and text == "line 47\nline 48\nline 49"
    # A log older than this launch is an earlier run's: the console says why this one failed.
    os.utime(node.log(), (1000, 1000))
    assert node.tail(since=2000) == (node.console, "console line")


# --- the command line ------------------------------------------------------------------------------


def test_cli_errors_are_one_line_without_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.zip"
    code = cli.main(["--state-dir", str(tmp_path / "s"), "start", "--engine", "es9", "--plugin-zip", str(missing)])
    assert code == 1
    err = capsys.readouterr().err
    assert err == f"ehnodes: error: --plugin-zip {missing} is not a file\n"


def test_cli_url_status_and_stop_without_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = ["--state-dir", str(tmp_path / "s")]
    assert cli.main([*state, "url", "--engine", "opensearch"]) == 0
    assert capsys.readouterr().out == "http://127.0.0.1:9290\n"
    assert cli.main([*state, "url", "--cluster"]) == 0
    assert capsys.readouterr().out == "http://127.0.0.1:9201\n"
    assert cli.main([*state, "status"]) == 0
    assert capsys.readouterr().out == f"node files: {tmp_path / 's'}\n"
    assert cli.main([*state, "stop", "--all"]) == 0
    assert "nothing was running" in capsys.readouterr().err


def test_cli_refuses_an_unknown_engine(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["start", "--engine", "solr"])
    assert exited.value.code == 2
    assert "invalid choice: 'solr'" in capsys.readouterr().err


def test_module_runs_as_a_program() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "ehnodes", "--help"],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "start" in done.stdout and "EH_STATE_DIR" in done.stdout
    assert time.monotonic() - started < 30


# --- kill and revive one cluster node ------------------------------------------------------------


def sleeper(home: Path) -> subprocess.Popen[bytes]:
    """A process that runs "from" `home` (its command line names it) and ignores SIGTERM, as a busy node may."""
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    return subprocess.Popen([sys.executable, "-c", code, str(home)])


def recorded_cluster_node(starter: Launcher, number: int, pid: int) -> Node:
    node = starter.nodes(starter.specs("abc"))[number - 1]
    node.directory.mkdir(parents=True)
    node.record.write_text(json.dumps(asdict(node.spec)))
    node.pid_file.write_text(f"{pid}\n")
    deadline = time.monotonic() + 10  # until the child has exec'd
    while node.running_pid() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return node


def test_kill_sigkills_one_cluster_node_and_keeps_its_files(tmp_path: Path) -> None:
    starter = launcher(tmp_path, engine="es9", cluster=True)
    process = sleeper(starter.distribution.home)
    try:
        node = recorded_cluster_node(starter, 2, process.pid)
        assert node.running_pid() == process.pid
        assert not starter.revive(2)  # it runs: nothing to start
        assert starter.kill(2)
        assert process.wait(timeout=10) == -signal.SIGKILL  # SIGTERM would have been ignored
        assert not node.pid_file.exists() and node.record.exists()  # revive starts it from its files
        assert not starter.kill(2)
    finally:
        process.kill()


def test_kill_and_revive_say_which_node_they_cannot_act_on(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="pass --cluster"):
        launcher(tmp_path, engine="es9").kill(1)
    starter = launcher(tmp_path, engine="es9", cluster=True)
    with pytest.raises(NodeError, match="between 1 and 3, got 4"):
        starter.kill(4)
    with pytest.raises(NodeError, match="es9-cluster-3 was never started; start the cluster first"):
        starter.revive(3)


def test_cli_kill_needs_a_node_and_names_the_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = ["--state-dir", str(tmp_path / "s")]
    assert cli.main([*state, "kill", "--node", "2"]) == 1
    assert (
        capsys.readouterr().err
        == "ehnodes: error: kill and revive act on one node of the 3-node cluster: pass --cluster\n"
    )
    assert cli.main([*state, "revive", "--cluster", "--node", "1"]) == 1
    assert "es9-cluster-1 was never started" in capsys.readouterr().err


# --- a secured node ----------------------------------------------------------------------------------


def test_secure_node_config(tmp_path: Path) -> None:
    (spec,) = launcher(tmp_path, engine="es9", secure=True).specs("abc+def")
    assert (spec.url, spec.node_name, spec.cluster_name) == (
        "https://127.0.0.1:9243",
        "es9-secure",
        "elastichash-es9-secure",
    )
    settings = settings_of(spec.render_yml(ENGINES["es9"], Path("/n/es9/secure")))
    assert settings["xpack.security.enabled"] == "true"
    assert settings["xpack.license.self_generated.type"] == "trial"  # field-level security needs it
    for layer in ("http", "transport"):
        assert settings[f"xpack.security.{layer}.ssl.enabled"] == "true"
        assert settings[f"xpack.security.{layer}.ssl.certificate"] == "certs/node.crt"
        assert settings[f"xpack.security.{layer}.ssl.key"] == "certs/node.key"
        assert settings[f"xpack.security.{layer}.ssl.certificate_authorities"] == "certs/ca.crt"
    assert settings["discovery.type"] == "single-node" and settings["http.port"] == "9243"
    # Its own node folder and release copy: the plain node of the same engine is left alone.
    secure = launcher(tmp_path, engine="es9", secure=True)
    assert secure.node_names() == ["secure"] and launcher(tmp_path).node_names() == ["single"]
    assert secure.distribution.home.name == "elasticsearch-9.5.4-secure"
    assert launcher(tmp_path, secure=True, http_port=9230).url == "https://127.0.0.1:9230"


def test_secure_is_refused_where_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(NodeError, match="--secure needs x-pack security, which OpenSearch's test release lacks"):
        launcher(tmp_path, engine="opensearch", secure=True)
    with pytest.raises(NodeError, match="--secure starts a single node; leave out --cluster"):
        launcher(tmp_path, secure=True, cluster=True)


def test_configure_installs_certificates_and_users_into_a_secure_node(tmp_path: Path) -> None:
    starter = launcher(tmp_path, engine="es9", secure=True)
    home = starter.distribution.home
    (home / "config").mkdir(parents=True)
    (home / "config" / "jvm.options").write_text("")
    files = SecurityFiles(starter.state_dir)
    files.folder.mkdir(parents=True)
    for name in ("ca.crt", "ca.key", "node.crt", "node.key", "users", "users_roles", "admin.password"):
        (files.folder / name).write_text(f"{name}\n")
    assert files.complete() and files.access() == Access(files.ca, ADMIN_USER, "admin.password")
    (node,) = starter.nodes(starter.specs("abc"))
    node.configure(RunAs(as_root=False))
    assert sorted(p.name for p in (node.config / "certs").iterdir()) == ["ca.crt", "node.crt", "node.key"]
    assert (node.config / "users").read_text() == "users\n" and (node.config / "users_roles").exists()
    assert not (node.config / "certs" / "ca.key").exists()  # the CA key stays in the state folder
    assert (node.config / "certs" / "node.key").stat().st_mode & 0o777 == 0o600
    assert node.recorded_spec() == node.spec and node.spec.secure


def test_access_sends_basic_auth_and_trusts_only_our_ca(tmp_path: Path) -> None:
    assert Access().headers() == {} and Access().context() is None
    assert Access(None, "u", "p").headers() == {"Authorization": "Basic dTpw"}
    with pytest.raises(NodeError, match=r"no admin password in .*admin.password; start a node with --secure first"):
        SecurityFiles(tmp_path).access()


def test_the_support_plugin_is_never_taken_for_ours(tmp_path: Path) -> None:
    repo = checkout(tmp_path)
    target = repo.root / "es-plugin"
    ours = target / "elasticsearch/target/elastichash-0.1.0-es9.5.4.zip"
    support = target / "security-analysis/target/security-analysis-0.1.0-es9.5.4.zip"
    with pytest.raises(NodeError, match=r"no security-analysis zip ending in -es9\.5\.4\.zip .*`make plugin`"):
        repo.support_zip(ENGINES["es9"], "9.5.4")
    for path, mtime in ((ours, 100), (support, 200)):  # the support zip is the newer one
        path.parent.mkdir(parents=True)
        path.write_text(path.name)
        os.utime(path, (mtime, mtime))
    assert repo.plugin_zip(ENGINES["es9"], "9.5.4") == ours
    assert repo.support_zip(ENGINES["es9"], "9.5.4") == support


def test_a_secure_release_records_both_plugins(tmp_path: Path) -> None:
    ours, support = tmp_path / "ours.zip", tmp_path / "support.zip"
    ours.write_text("ours")
    support.write_text("support")
    digest = hashlib.sha256(b"ours").hexdigest()
    assert plugin_marker(ours) == digest
    assert plugin_marker(ours, support) == f"{digest}+{hashlib.sha256(b'support').hexdigest()}"
    assert plugin_marker(None, support).startswith("none+")
    dist = Distribution(ENGINES["es9"], "9.5.4", tmp_path, secure=True)
    (dist.home / "plugins").mkdir(parents=True)
    dist.plugin_marker.write_text("none+abc\n")
    assert dist.plugin_is("none+abc")  # no elastichash folder: right for a marker without our zip
    (dist.home / "plugins" / "elastichash").mkdir()
    assert dist.installed_plugin() is None
