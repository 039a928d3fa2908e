"""A secured node: TLS on HTTP and transport, a superuser in the file realm, a trial license.

The certificates come from the release's own `bin/elasticsearch-certutil` and the user from
`bin/elasticsearch-users`, so the launcher stays standard-library only. Both are made once per state
folder (under `security/`) and copied into every secured node's config at each start. The trial
license is self-generated offline (`xpack.license.self_generated.type: trial`): field- and
document-level security need more than the basic license.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .distribution import Distribution, engine_env, say
from .engines import Jdk
from .errors import NodeError

ADMIN_USER = "elastichash-admin"
# Inside a node's config folder: Elasticsearch reads TLS files only from below it.
CERTS = "certs"
# The files elasticsearch-users writes into a config folder (the file realm).
REALM_FILES = ("users", "users_roles")


def security_settings(enabled: bool) -> dict[str, str]:
    """The x-pack settings of a node: off for a plain development node; TLS, users and a trial license if on."""
    if not enabled:
        return {"xpack.security.enabled": "false"}
    settings = {"xpack.security.enabled": "true", "xpack.license.self_generated.type": "trial"}
    for layer in ("http", "transport"):
        settings |= {
            f"xpack.security.{layer}.ssl.enabled": "true",
            f"xpack.security.{layer}.ssl.certificate": f"{CERTS}/node.crt",
            f"xpack.security.{layer}.ssl.key": f"{CERTS}/node.key",
            f"xpack.security.{layer}.ssl.certificate_authorities": f"{CERTS}/ca.crt",
        }
    # The node certificate names 127.0.0.1 and localhost: peers and clients check it fully.
    settings["xpack.security.transport.ssl.verification_mode"] = "full"
    return settings


@dataclass(frozen=True)
class Access:
    """How the launcher's own health checks reach a node: plain HTTP, or HTTPS trusting our CA as the admin."""

    ca: Path | None = None
    user: str | None = None
    password: str | None = None

    def context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=str(self.ca)) if self.ca else None

    def headers(self) -> dict[str, str]:
        if self.user is None:
            return {}
        pair = f"{self.user}:{self.password or ''}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


class SecurityFiles:
    """<state>/security/: the CA, the node certificate and key, the admin's password and file-realm files."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / "security"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    @property
    def password_file(self) -> Path:
        return self.folder / "admin.password"

    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except OSError:
            raise NodeError(f"no admin password in {self.password_file}; start a node with --secure first") from None

    def access(self) -> Access:
        return Access(self.ca, ADMIN_USER, self.password())

    def complete(self) -> bool:
        names = ("ca.crt", "ca.key", "node.crt", "node.key", "admin.password", *REALM_FILES)
        return all((self.folder / name).is_file() for name in names)

    def ensure(self, distribution: Distribution, jdk: Jdk) -> None:
        """Makes what is missing: a new CA and certificate, and a new admin password, all together."""
        if self.complete():
            return
        say(f"making a CA, a node certificate and the user {ADMIN_USER} under {self.folder}")
        partial = self.folder.with_name(self.folder.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        partial.chmod(0o700)  # the CA key and the password: ours only; nodes get copies
        tools = Tools(distribution, jdk, partial)
        tools.certutil(["ca", "--pem", "--days", "3650", "--out", str(partial / "ca.zip")], partial / "ca.zip")
        tools.certutil(
            [
                "cert", "--pem", "--days", "3650", "--name", "node", "--ip", "127.0.0.1", "--dns", "localhost",
                "--ca-cert", str(partial / "ca.crt"), "--ca-key", str(partial / "ca.key"),
                "--out", str(partial / "node.zip"),
            ],
            partial / "node.zip",
        )  # fmt: skip
        password = secrets.token_urlsafe(18)
        (partial / "admin.password").write_text(password + "\n")
        tools.add_superuser(ADMIN_USER, password)
        shutil.rmtree(self.folder, ignore_errors=True)
        partial.rename(self.folder)

    def install(self, config: Path) -> None:
        """Copies the certificates and the file realm into a node's config folder."""
        (config / CERTS).mkdir(exist_ok=True)
        for name in ("ca.crt", "node.crt", "node.key"):
            shutil.copyfile(self.folder / name, config / CERTS / name)
        for name in REALM_FILES:
            shutil.copyfile(self.folder / name, config / name)
        for secret in (config / CERTS / "node.key", config / "users"):
            secret.chmod(0o600)  # the node's user gets them (Node.configure), nobody else


class Tools:
    """The release's certutil and users commands, run in a scratch copy of its config folder."""

    def __init__(self, distribution: Distribution, jdk: Jdk, into: Path) -> None:
        self.home = distribution.home
        self.into = into
        self.config = into / "config"
        shutil.copytree(self.home / "config", self.config)
        prefix = distribution.engine.env_prefix
        self.env = engine_env(
            os.environ, {f"{prefix}_JAVA_HOME": str(jdk.home), f"{prefix}_PATH_CONF": str(self.config)}
        )

    def run(self, tool: str, arguments: list[str]) -> None:
        command = [str(self.home / "bin" / tool), *arguments]
        done = subprocess.run(command, env=self.env, cwd=self.into, stdout=sys.stderr, stderr=sys.stderr)
        if done.returncode != 0:
            raise NodeError(f"bin/{tool} {arguments[0]} failed; its output is above")

    def certutil(self, arguments: list[str], archive: Path) -> None:
        self.run("elasticsearch-certutil", [*arguments, "--silent"])
        # The zip holds <name>/<name>.crt and .key: flattened into the security folder.
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    (self.into / Path(info.filename).name).write_bytes(zf.read(info))
        archive.unlink()

    def add_superuser(self, user: str, password: str) -> None:
        self.run("elasticsearch-users", ["useradd", user, "-p", password, "-r", "superuser"])
        for name in REALM_FILES:
            shutil.copyfile(self.config / name, self.into / name)
        shutil.rmtree(self.config)
