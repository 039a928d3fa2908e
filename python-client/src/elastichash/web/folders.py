"""Which image files the web page may serve: only those inside the folders that were indexed.

A file is named by the number of its folder and its path below it (`/files/0/sneaker/1.png`).
Every request is resolved (symlinks followed, `..` collapsed) and served only when the real
file still lies inside that folder's real path, is a regular file and has an image suffix.
No framework import here, so the rule is tested on its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from ..images import IMAGE_SUFFIXES


class NotServed(Exception):
    """A request for a file outside the indexed folders, or not an image file."""


class ImageFolders:
    """The indexed folders, resolved once when the server starts."""

    def __init__(self, folders: Sequence[str | os.PathLike]) -> None:
        roots = []
        for folder in folders:
            path = Path(folder)
            if not path.is_dir():
                raise FileNotFoundError(f"{path}: not a directory")
            roots.append(path.resolve())
        self.roots: tuple[Path, ...] = tuple(roots)

    def file(self, root: int, relative: str) -> Path:
        """The real file for `/files/<root>/<relative>`; NotServed unless it is allowed."""
        if not 0 <= root < len(self.roots):
            raise NotServed(f"there is no image folder number {root}")
        parts = PurePosixPath(relative)
        if parts.is_absolute() or relative.startswith(("/", "\\")) or ".." in parts.parts:
            raise NotServed("image paths must stay inside the indexed folders")
        base = self.roots[root]
        try:
            real = (base / parts).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, or a symlink loop
            raise NotServed("no such image in the indexed folders") from None
        # resolve() followed every symlink: a link that points out of the folder lands here.
        if not real.is_relative_to(base):
            raise NotServed("image paths must stay inside the indexed folders")
        if not real.is_file() or real.suffix.lower() not in IMAGE_SUFFIXES:
            raise NotServed("only image files are served")
        return real

    def url_of(self, stored_path: str | None) -> str | None:
        """The `/files/...` URL of an indexed document's `path`; None when it is not served.

        A relative stored path is taken from the server's working directory, as `elastichash
        index DIR` stored it from the one it ran in.
        """
        if not stored_path:
            return None
        try:
            real = Path(stored_path).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        for number, base in enumerate(self.roots):
            if real.is_relative_to(base):
                relative = real.relative_to(base).as_posix()
                try:
                    self.file(number, relative)
                except NotServed:
                    return None
                return f"/files/{number}/{relative}"
        return None

    def display_name(self, stored_path: str | None) -> str:
        """The stored path below its folder (`sneaker/00580.png`), else the path as stored."""
        if not stored_path:
            return ""
        real = Path(stored_path).resolve()
        for base in self.roots:
            if real.is_relative_to(base):
                below = real.relative_to(base).as_posix()
                return below if len(self.roots) == 1 else f"{base.name}/{below}"
        return stored_path

    def prefix_clauses(self, prefix: str) -> list[str]:
        """The stored-path prefixes that `prefix` stands for: itself, and when relative, the
        same below each indexed folder, absolute and relative to the working directory (ingest
        stores each path in the form the folder was given to it)."""
        prefix = prefix.strip()
        if not prefix:
            return []
        found = [prefix]
        if not os.path.isabs(prefix):
            for base in self.roots:
                candidates = {f"{base}/{prefix}"}
                with contextlib.suppress(ValueError):  # the folder is not below the cwd
                    candidates.add(f"{base.relative_to(Path.cwd().resolve())}/{prefix}")
                found += sorted(c for c in candidates if c not in found)
        return found
