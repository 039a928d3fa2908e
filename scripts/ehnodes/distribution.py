"""An engine's integ-test zip: fetched through Maven, unpacked once, with our plugin installed when it changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

from .engines import Engine, Jdk
from .errors import NodeError

PLUGIN_NAME = "elastichash"
# Installed next to ours into secured releases only (es-plugin/security-analysis; see security.py).
SUPPORT_PLUGIN_NAME = "security-analysis"


def say(message: str) -> None:
    print(f"ehnodes: {message}", file=sys.stderr, flush=True)


class Maven:
    """Artifacts from Maven's local repository, fetched from Maven Central by `mvn dependency:copy` when missing."""

    def __init__(self, jdk: Jdk, local_repository: Path | None = None) -> None:
        self.jdk = jdk
        self.local_repository = local_repository or Path.home() / ".m2" / "repository"

    def cached(self, coordinates: str) -> Path | None:
        group, artifact, version, kind = coordinates.split(":")
        path = self.local_repository / group.replace(".", "/") / artifact / version / f"{artifact}-{version}.{kind}"
        return path if path.is_file() else None

    def fetch(self, coordinates: str, into: Path) -> Path:
        cached = self.cached(coordinates)
        if cached is not None:
            return cached
        if shutil.which("mvn") is None:
            raise NodeError(f"Maven (mvn) is not installed; it fetches {coordinates} (apt-get install maven)")
        group, artifact, version, kind = coordinates.split(":")
        into.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, JAVA_HOME=str(self.jdk.home))
        if self.jdk.knows_unsafe_memory_access:  # quiets Maven's Guice on JDK 23+; older JDKs refuse the flag
            env["MAVEN_OPTS"] = (env.get("MAVEN_OPTS", "") + " --sun-misc-unsafe-memory-access=allow").strip()
        say(f"fetching {coordinates} through Maven")
        command = ["mvn", "-q", "-B", "-Dstyle.color=never", "dependency:copy", f"-Dartifact={coordinates}"]
        # Run outside any project: in the checkout, Maven would repeat the goal for every module.
        done = subprocess.run(
            [*command, f"-DoutputDirectory={into}"], cwd=into, env=env, stdout=sys.stderr, stderr=sys.stderr
        )
        target = into / f"{artifact}-{version}.{kind}"
        if done.returncode != 0 or not target.is_file():
            raise NodeError(f"Maven could not fetch {coordinates}; is that release on Maven Central?")
        return target


def unpack(archive: Path, into: Path) -> None:
    """Extracts a zip keeping its Unix permissions (zipfile drops them; bin/ needs its executable bits)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            zf.extract(info, into)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(into / info.filename, mode & 0o777)


def engine_env(base: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """The environment for an engine's scripts: without JAVA_HOME, which they would warn about ignoring."""
    return {key: value for key, value in base.items() if key != "JAVA_HOME"} | dict(own)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plugin_marker(zip_path: Path | None, support: Path | None = None) -> str:
    """What a release records about its plugins: our zip's sha256 or "none", "+" the support zip's."""
    marker = sha256(zip_path) if zip_path else "none"
    return f"{marker}+{sha256(support)}" if support else marker


class Distribution:
    """One release of one engine, unpacked under <state>/dist/, and which plugin zips it holds.

    Secured nodes run from their own copy (`<command>-<version>-secure`): it also holds the support
    plugin, and installing that never stops the plain nodes of the same release.
    """

    def __init__(self, engine: Engine, version: str, state_dir: Path, secure: bool = False) -> None:
        self.engine = engine
        self.version = version
        self.state_dir = state_dir
        self.secure = secure
        self.home = state_dir / "dist" / f"{engine.command}-{version}{'-secure' if secure else ''}"
        # What is installed: our zip's sha256 or "none", then "+" and the support zip's sha256 in a
        # secured release. Written only after the installs succeeded.
        self.plugin_marker = self.home.with_name(self.home.name + ".plugin")

    @property
    def executable(self) -> Path:
        return self.home / "bin" / self.engine.command

    def ensure(self, maven: Maven) -> None:
        if self.executable.exists():
            return
        archive = maven.fetch(self.engine.coordinates(self.version), self.state_dir / "downloads")
        say(f"unpacking {archive}")
        partial = self.home.with_name(self.home.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            unpack(archive, partial)
        except (OSError, zipfile.BadZipFile) as error:
            raise NodeError(f"could not unpack {archive} ({error}); delete it and try again") from None
        # The zip's top folder is <command>-<version>, also for the secured copy.
        (partial / f"{self.engine.command}-{self.version}").rename(self.home)
        partial.rmdir()

    def installed_plugin(self) -> str | None:
        """The marker's digest (or "none") if it still describes the plugins folder, else None."""
        try:
            recorded = self.plugin_marker.read_text().strip()
        except OSError:
            return None
        present = (self.home / "plugins" / PLUGIN_NAME).is_dir()
        return recorded if present == (recorded.partition("+")[0] != "none") else None

    def plugin_is(self, wanted: str) -> bool:
        return self.installed_plugin() == wanted

    def set_plugin(self, zip_path: Path | None, jdk: Jdk, support: Path | None = None) -> None:
        """Installs `zip_path` (or removes the plugin when None) and the `support` zip if given.

        Every node of this release must be down.
        """
        self.plugin_marker.unlink(missing_ok=True)
        tool = str(self.home / "bin" / f"{self.engine.command}-plugin")
        env = engine_env(os.environ, {self.engine.java_home_variable(): str(jdk.home)})
        for name, path in ((PLUGIN_NAME, zip_path), (SUPPORT_PLUGIN_NAME, support)):
            if (self.home / "plugins" / name).exists():
                self._run([tool, "remove", name], env, f"could not remove the old {name} plugin from {self.home}")
            if path is None:
                continue
            say(f"installing {path.name} into {self.engine.product} {self.version}")
            self._run(
                [tool, "install", "--batch", path.resolve().as_uri()],
                env,
                f"bin/{self.engine.command}-plugin refused {path} (is it built for {self.engine.product} "
                f"{self.version}?); its output is above",
            )
        self.plugin_marker.write_text(plugin_marker(zip_path, support) + "\n")

    @staticmethod
    def _run(command: list[str], env: dict[str, str], failure: str) -> None:
        if subprocess.run(command, env=env, stdout=sys.stderr, stderr=sys.stderr).returncode != 0:
            raise NodeError(failure)
