"""The engines of the matrix, and the JDK each one runs on."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import NodeError

JVM_DIR = Path("/usr/lib/jvm")


@dataclass(frozen=True)
class Engine:
    """What differs between Elasticsearch 9, Elasticsearch 8 and OpenSearch for a local node."""

    name: str  # the matrix's word: es9, es8, opensearch
    product: str
    pom_property: str  # the root pom property holding the release
    maven_group: str  # the integ-test zip on Maven Central
    command: str  # bin/<command>, bin/<command>-plugin, config/<command>.yml
    env_prefix: str  # <prefix>_JAVA_HOME, <prefix>_PATH_CONF
    zip_marker: str  # plugin zips end in -<marker><version>.zip
    min_jdk: int
    max_jdk: int | None
    http_port: int  # the single node's default; transport is http + 100
    build_target: str  # the make target that builds this engine's plugin zip
    master_setting: str
    # Whether the release carries x-pack security (Elasticsearch's integ-test zip does, OpenSearch's not).
    has_security: bool = False
    # Elasticsearch 8.19 and 9 stop starting merges (a force merge then waits for ever) once the
    # disk is 95 % full, counting the merges' own temporary space: a development node on a shared
    # disk turns that check off, as it turns off the allocation watermarks. OpenSearch has no such check.
    merge_disk_check_setting: str | None = None

    def coordinates(self, version: str) -> str:
        return f"{self.maven_group}:{self.command}:{version}:zip"

    def zip_suffix(self, version: str) -> str:
        return f"-{self.zip_marker}{version}.zip"

    def java_home_variable(self) -> str:
        return f"{self.env_prefix}_JAVA_HOME"

    def jdk_range(self) -> str:
        if self.max_jdk is None:
            return f"{self.min_jdk} or newer"
        return f"{self.min_jdk} to {self.max_jdk}"


ENGINES: dict[str, Engine] = {
    engine.name: engine
    for engine in (
        Engine(
            name="es9",
            product="Elasticsearch",
            pom_property="es.version",
            maven_group="org.elasticsearch.distribution.integ-test-zip",
            command="elasticsearch",
            env_prefix="ES",
            zip_marker="es",
            min_jdk=21,
            max_jdk=None,
            http_port=9200,
            build_target="make plugin",
            master_setting="cluster.initial_master_nodes",
            # The integ-test zip has x-pack-security: off for a development node, on with --secure.
            has_security=True,
            merge_disk_check_setting="indices.merge.disk.check_interval",
        ),
        Engine(
            name="es8",
            product="Elasticsearch",
            pom_property="es8.version",
            maven_group="org.elasticsearch.distribution.integ-test-zip",
            command="elasticsearch",
            env_prefix="ES",
            zip_marker="es",
            min_jdk=17,
            max_jdk=None,
            http_port=9210,
            build_target="make es8-plugin",
            master_setting="cluster.initial_master_nodes",
            has_security=True,
            merge_disk_check_setting="indices.merge.disk.check_interval",
        ),
        Engine(
            name="opensearch",
            product="OpenSearch",
            pom_property="opensearch.version",
            maven_group="org.opensearch.distribution.integ-test-zip",
            command="opensearch",
            env_prefix="OPENSEARCH",
            zip_marker="os",
            min_jdk=21,
            max_jdk=None,
            http_port=9290,
            build_target="make opensearch-plugin",
            master_setting="cluster.initial_cluster_manager_nodes",
        ),
    )
}


def engine_named(name: str) -> Engine:
    try:
        return ENGINES[name]
    except KeyError:
        raise NodeError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}") from None


@dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"

    @property
    def knows_unsafe_memory_access(self) -> bool:
        """`--sun-misc-unsafe-memory-access` exists from JDK 23 on; older JVMs refuse to start with it."""
        return self.major >= 23


def read_jdk(home: Path) -> Jdk | None:
    """The JDK at `home` (its feature version from the `release` file), or None if it is not one."""
    try:
        release = (home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', release, re.MULTILINE)
    if match is None or not os.access(home / "bin" / "java", os.X_OK):
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):  # 1.8 style
        major = int(match.group(2))
    return Jdk(home, major)


def installed_jdks(env: Mapping[str, str], jvm_dir: Path = JVM_DIR) -> list[Jdk]:
    """JAVA_HOME and every JDK under /usr/lib/jvm, each home once (symlinked aliases resolved)."""
    homes: list[Path] = []
    if env.get("JAVA_HOME"):
        homes.append(Path(env["JAVA_HOME"]))
    if jvm_dir.is_dir():
        homes += sorted(jvm_dir.iterdir())
    seen: set[Path] = set()
    found = []
    for home in homes:
        real = home.resolve()
        if real in seen:
            continue
        seen.add(real)
        jdk = read_jdk(home)
        if jdk is not None:
            found.append(jdk)
    return found


def select_jdk(engine: Engine, version: str, env: Mapping[str, str], candidates: Iterable[Jdk]) -> Jdk:
    """The JDK a node of `engine` runs on: <PREFIX>_JAVA_HOME if set (it must fit), else the newest that fits."""
    wanted = f"{engine.product} {version} needs a JDK {engine.jdk_range()}"

    def fits(jdk: Jdk) -> bool:
        return jdk.major >= engine.min_jdk and (engine.max_jdk is None or jdk.major <= engine.max_jdk)

    variable = engine.java_home_variable()
    if env.get(variable):
        jdk = read_jdk(Path(env[variable]))
        if jdk is None:
            raise NodeError(f"{variable}={env[variable]} is not a JDK (no release file or bin/java)")
        if not fits(jdk):
            raise NodeError(f"{variable} points at JDK {jdk.major}, but {wanted}")
        return jdk
    fitting = [jdk for jdk in candidates if fits(jdk)]
    if not fitting:
        raise NodeError(f"no fitting JDK: {wanted} (looked at JAVA_HOME and {JVM_DIR}); install one or set {variable}")
    return max(fitting, key=lambda jdk: jdk.major)
