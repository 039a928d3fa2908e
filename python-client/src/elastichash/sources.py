"""Reading an image from where a document or a manifest says it is: a file path or an http(s) URL.

Files are read as a folder's are (`images.read_file`: bounded, never blocking); a relative path
is taken from `base_dir`. URLs are fetched with urllib3 (the Elasticsearch clients' own HTTP
library): a connect and a total time-out, a size limit checked on the announced length and
again while reading, at most five redirects and only to http(s). Every failure is an ImageError
whose reason says what went wrong (404, time-out, a web page instead of an image, too large).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import urllib3

from .errors import ImageError
from .images import MAX_FILE_BYTES, read_file

URL_SCHEMES = ("http://", "https://")


class ImageReader:
    """Reads images by location; one instance is shared by threads (urllib3's pool is)."""

    def __init__(
        self,
        *,
        base_dir: str | os.PathLike | None = None,
        max_bytes: int = MAX_FILE_BYTES,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
        connections: int = 8,
    ) -> None:
        if max_bytes < 1 or timeout <= 0 or connect_timeout <= 0:
            raise ValueError("max_bytes and the time-outs must be positive")
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=timeout)
        # Redirects are followed by urllib3, which speaks only http and https: a redirect to
        # file:// or any other scheme fails rather than reading a local file.
        self._http = urllib3.PoolManager(
            maxsize=connections,
            retries=urllib3.Retry(total=2, connect=2, read=0, redirect=5, status=0),
        )

    def read(self, location: object, name: str | None = None) -> bytes:
        """The bytes at `location` (a path or an http(s) URL), or an ImageError naming `name`
        (default: the location) and the reason."""
        name = name or str(location)
        if not isinstance(location, str) or not location.strip():
            raise ImageError(name, f"not a path or an http(s) URL: {location!r}")
        if location.lower().startswith(URL_SCHEMES):
            return self._fetch(location, name)
        if "://" in location:
            raise ImageError(name, "only file paths and http(s) URLs are read")
        path = Path(location)
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return read_file(path, name=name, max_bytes=self.max_bytes)

    def _fetch(self, url: str, name: str) -> bytes:
        deadline = time.monotonic() + self.timeout
        try:
            response = self._http.request(
                "GET", url, preload_content=False, timeout=self._timeout, redirect=True
            )
        except urllib3.exceptions.MaxRetryError as error:
            raise ImageError(name, f"cannot fetch it ({_cause(error.reason)})") from error
        except urllib3.exceptions.HTTPError as error:
            raise ImageError(name, f"cannot fetch it ({_cause(error)})") from error
        try:
            if response.status != 200:
                raise ImageError(name, f"the server answered HTTP {response.status}")
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if kind.startswith("text/"):
                raise ImageError(name, f"not an image: the server sent {kind}")
            announced = response.headers.get("Content-Length")
            if announced and announced.isdigit() and int(announced) > self.max_bytes:
                raise ImageError(name, _over(f"{int(announced) / 2**20:.1f} MiB", self.max_bytes))
            chunks, held = [], 0
            for chunk in response.stream(1 << 16):
                held += len(chunk)
                if held > self.max_bytes:
                    raise ImageError(
                        name, _over(f"over {self.max_bytes / 2**20:g} MiB", self.max_bytes)
                    )
                if time.monotonic() > deadline:
                    raise ImageError(name, f"the download took over {self.timeout:g} s")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as error:
            raise ImageError(name, f"the download failed ({_cause(error)})") from error
        finally:
            response.release_conn()
        data = b"".join(chunks)
        if not data:
            raise ImageError(name, "the server sent nothing (0 bytes)")
        return data


def _over(size: str, limit: int) -> str:
    return f"the image is {size}, over the {limit / 2**20:g} MiB accepted"


def _cause(error: object) -> str:
    """A urllib3 error in a few words: time-outs and refused connections by name."""
    # NewConnectionError is a kind of ConnectTimeoutError in urllib3: ask for it first.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return "connection refused or no route"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return "timed out"
    text = str(error)
    return text.split(": ", 1)[-1] if ": " in text else text
