"""`elastichash serve`: a local web page to search an index by example.

Needs the `web` extra (`pip install 'elastichash-client[web]'`: Starlette and uvicorn). The
page is plain HTML, CSS and JavaScript shipped in `static/`: nothing to build.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from ..client import ElasticHash
from .app import DEFAULT_MAX_UPLOAD, DEFAULT_PAGE_SIZE, create_app
from .folders import ImageFolders, NotServed

__all__ = ["ImageFolders", "NotServed", "create_app", "listen", "serve"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, or OSError with a sentence (the port is taken, the host unknown)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(
            f"cannot listen on {host}:{port} ({error.strerror or error}); choose another --port"
        ) from None
    sock.listen(128)
    return sock


def serve(
    engine: ElasticHash,
    folders: Sequence[str | Path],
    host: str = "127.0.0.1",
    port: int = 8700,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
) -> None:
    """Serves the page until interrupted. Checks the index and loads the model first, so that
    a wrong index or model is a sentence at start, not an error on the first search."""
    import uvicorn

    image_folders = ImageFolders(folders)
    count = engine.count()
    # Loads the model now rather than on the first upload, and refuses an index of another model.
    engine.check_model()
    sock = listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{sock.getsockname()[1]}/"
    allowed = None if host in LOOPBACK else ["*"]
    app = create_app(engine, image_folders, page_size, max_upload_bytes, allowed)
    if host not in LOOPBACK:
        print(
            f"elastichash: warning: listening on {host}: anyone who reaches this machine can "
            "search the index and see the images",
            file=sys.stderr,
        )
    print(f"serving index '{engine.index}' ({count} images); stop with Ctrl+C", flush=True)
    print(url, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
