"""What the launcher learns from the checkout: releases from the root pom, plugin zips, where nodes live."""

from __future__ import annotations

import hashlib
import re
import stat
from collections.abc import Callable
from pathlib import Path

from .distribution import SUPPORT_PLUGIN_NAME
from .engines import Engine
from .errors import NodeError

ROOT = Path(__file__).resolve().parents[2]
SHARED_STATE = Path("/var/lib/elastichash")


class Checkout:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root

    def pom_property(self, name: str) -> str | None:
        pom = (self.root / "pom.xml").read_text()
        match = re.search(rf"<{re.escape(name)}>\s*([^<\s]+)\s*</{re.escape(name)}>", pom)
        return match.group(1) if match else None

    def version(self, engine: Engine, override: str | None = None) -> str:
        version = override or self.pom_property(engine.pom_property)
        if version is None:
            raise NodeError(f"pom.xml has no <{engine.pom_property}> naming the {engine.product} release")
        return version

    def plugin_zip(self, engine: Engine, version: str) -> Path:
        """The newest built zip for this release: es-plugin/<module>/target/*-<es|os><version>.zip."""
        suffix = engine.zip_suffix(version)
        built = [
            path
            for path in self.root.glob("es-plugin/*/target/*.zip")
            if path.name.endswith(suffix) and not path.name.startswith(SUPPORT_PLUGIN_NAME)
        ]
        if not built:
            raise NodeError(
                f"no plugin zip ending in {suffix} under es-plugin/*/target; build it with "
                f"`{engine.build_target}` (or name one with --plugin-zip)"
            )
        return max(built, key=lambda path: path.stat().st_mtime)

    def support_zip(self, engine: Engine, version: str) -> Path:
        """The secured nodes' support plugin (es-plugin/security-analysis), built by `make plugin`."""
        suffix = engine.zip_suffix(version)
        built = [p for p in self.root.glob(f"es-plugin/*/target/{SUPPORT_PLUGIN_NAME}-*{suffix}")]
        if not built:
            raise NodeError(
                f"no {SUPPORT_PLUGIN_NAME} zip ending in {suffix} under es-plugin/*/target; a secured node "
                "needs it for its security index; build it with `make plugin`"
            )
        return max(built, key=lambda path: path.stat().st_mtime)

    def state_dir(self, as_root: bool) -> Path:
        return choose_state_dir(self.root, as_root, enterable_by_others)


def enterable_by_others(path: Path) -> bool:
    """Whether every folder from `path` up to / lets other users through (o+x)."""
    for folder in (path, *path.parents):
        try:
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def choose_state_dir(root: Path, as_root: bool, enterable: Callable[[Path], bool]) -> Path:
    """Where node files live unless EH_STATE_DIR says otherwise.

    Run as root, nodes run as the user `elastichash`, which must reach their files: inside the
    checkout (`.es/`) when it can, else under /var/lib/elastichash/<12 hex digits of the checkout path's
    sha1> — the same digits `scripts/es-node.sh` used (`echo "$root" | sha1sum`, newline included),
    so its downloads and unpacked distributions stay in use.
    """
    if not as_root or enterable(root):
        return root / ".es"
    digest = hashlib.sha1(f"{root}\n".encode()).hexdigest()[:12]
    return SHARED_STATE / digest
