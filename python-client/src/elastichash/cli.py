"""The `elastichash` command: index a folder of images, search by example, print console queries."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

from . import __version__, codes, manifest, queries
from .catalogue import AddCodesReport
from .client import ElasticHash
from .engines import ENGINES, connect
from .errors import ElasticHashError, LayoutError, ModelMismatchError
from .ingest import IngestReport
from .model import DEVICES, HashModel
from .queries import DEFAULT_RADIUS, MODES, RADIUS_MODES, SCORERS
from .sources import ImageReader

if TYPE_CHECKING:
    from .distributed import ClusterAccess

MODES_TEXT = """\
modes (search and console):
  exact      the true k nearest on 256 bits: the plugin's hamming query (default)
  paper      the paper's two stages in the plugin: sub-codes 0-3 within --radius, then 256 bits
  two_stage  the same two stages: a terms filter, then the hamming script (or --scorer painless)
  long       every image ranked on 256 bits by the hamming script (brute force)
  short      the terms filter's images ranked on the 64-bit short code
"""

EPILOG = f"""\
{MODES_TEXT}
environment variables (used when the option is not given):
  ELASTICHASH_ES_URL, ELASTICHASH_ENGINE, ELASTICHASH_INDEX, ELASTICHASH_MODEL, ELASTICHASH_DEVICE,
  ELASTICHASH_API_KEY, ELASTICHASH_USER, ELASTICHASH_PASSWORD, ELASTICHASH_CA_CERTS

the cluster options may stand before or after the command.

examples:
  elastichash index photos/ --index photos
  elastichash index products.csv --index products   # path or url, id, category, price, ...
  elastichash search shoe.jpg --index products --filter '{{"term": {{"category": "shoe"}}}}'
  elastichash search photos/cat.jpg -k 5
  elastichash search photos/cat.jpg --max-distance 20 --json
  elastichash search photos/cat.jpg --mode two_stage
  elastichash search photos/cat.jpg --mode two_stage --scorer painless --index old-images
  elastichash console photos/cat.jpg > query.txt     # paste into Kibana Dev Tools
  elastichash reindex --from old-images --index images
  elastichash add-codes --index products --image-field photo
  elastichash serve photos/ --index photos          # a web page: search by example
  elastichash fit photos/ --out photos.onnx         # a model fitted to your images
  elastichash --model int8 index photos/ --index photos-int8   # twice as fast to encode
  elastichash index photos/ --index photos --dask tcp://scheduler:8786   # many machines
"""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"ELASTICHASH_{name}", default)


def _cluster_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """The cluster options. On the main parser they carry the defaults; on each command they
    default to nothing (argparse.SUPPRESS), so that a value given before the command stays."""

    def default(value: str | None) -> str | None:
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("cluster")
    group.add_argument(
        "--es-url",
        default=default(_env("ES_URL", "http://127.0.0.1:9200")),
        help="Elasticsearch or OpenSearch URL; several nodes of one cluster as a comma-separated "
        "list, so that requests fail over when one is down (default: $ELASTICHASH_ES_URL or "
        "http://127.0.0.1:9200)",
    )
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default=default(_env("ENGINE", "auto")),
        help="the server's product: auto asks it (default: $ELASTICHASH_ENGINE or auto)",
    )
    group.add_argument(
        "--index",
        default=default(_env("INDEX", "images")),
        help="index name (default: $ELASTICHASH_INDEX or images)",
    )
    group.add_argument(
        "--api-key", default=default(_env("API_KEY")), help="Elasticsearch API key (encoded form)"
    )
    group.add_argument(
        "--user", default=default(_env("USER")), help="user for basic authentication"
    )
    group.add_argument(
        "--password", default=default(_env("PASSWORD")), help="password for basic authentication"
    )
    group.add_argument(
        "--ca-certs", default=default(_env("CA_CERTS")), help="CA certificate file for HTTPS"
    )
    group.add_argument(
        "--model",
        default=default(_env("MODEL")),
        help="ONNX hashing model: a file, or a bundled model by name: default, or int8 (about "
        "twice as fast to encode on CPUs with AVX-512 VNNI; its codes differ, so an index "
        "takes one or the other) "
        "(default: $ELASTICHASH_MODEL or default)",
    )
    group.add_argument(
        "--device",
        choices=DEVICES,
        default=default(_env("DEVICE", "cpu")),
        help="where the model runs: cpu, or cuda (an NVIDIA GPU, with onnxruntime-gpu) "
        "(default: $ELASTICHASH_DEVICE or cpu)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elastichash",
        description="Semantic image similarity search in Elasticsearch and OpenSearch with deep "
        "hashing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _cluster_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, text: str, description: str | None = None, epilog: str | None = None
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=text,
            description=description or text,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _cluster_options(sub, defaults=False)
        return sub

    index = command(
        "index",
        "index every image under a directory, or the images a manifest lists",
        "Index every image under DIR, or the images that MANIFEST (a .csv or .jsonl file) lists:\n"
        "one row per image, its file path (relative to the manifest's folder) or http(s) URL\n"
        "in a `path` or `url` column, an optional `id`, and any other columns, which are\n"
        "stored beside the code for --filter. Document ids are hashes of the images' bytes\n"
        "(or the manifest's ids), and each batch first asks the index which are there:\n"
        "running it again encodes only what is missing; identical files are indexed once and\n"
        "named together. Ctrl-C stops after the batch in hand (exit 130; Ctrl-C again: at\n"
        "once); run the same command again to index the rest. Files that cannot be indexed\n"
        "are named, each with its reason.",
    )
    index.add_argument("source", metavar="DIR|MANIFEST")
    _new_index_options(index, "1", "0")
    _dask_option(index, "the folder's files or the manifest's rows, in shares of 256")
    index.add_argument(
        "--batch-size", type=int, default=32, help="images per model batch (default: 32)"
    )
    index.add_argument("--no-progress", action="store_true", help="no progress bar")

    add = command(
        "add-codes",
        "add a code to each document of an existing index, from its image's path or URL",
        "Add a code to every document of --index that has none, from the image whose file path\n"
        "or http(s) URL the document's --image-field holds (a dotted name reaches into objects).\n"
        "Only the code is written: every other field stays as it is. The index gets the\n"
        "hamming_code field in its mapping first, if it has none. Documents whose image\n"
        "cannot be read are named with their id and the reason (no such field, HTTP 404, a\n"
        "time-out, a web page, too large); running it again visits only the documents still\n"
        "without a code. Ctrl-C stops after the batch in hand (exit 130).",
    )
    add.add_argument(
        "--image-field",
        required=True,
        metavar="FIELD",
        help="the field holding each document's image path or http(s) URL",
    )
    add.add_argument(
        "--base-dir",
        metavar="DIR",
        help="where relative paths start (default: the current folder)",
    )
    add.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds a URL may take to download (default: 30)",
    )
    add.add_argument(
        "--max-image-mb",
        type=float,
        default=256,
        help="largest image file or download accepted, in MiB (default: 256)",
    )
    add.add_argument(
        "--batch-size", type=int, default=32, help="images per model batch (default: 32)"
    )
    add.add_argument("--no-progress", action="store_true", help="no progress bar")
    _dask_option(add, "the index's documents, one slice per task")
    add.add_argument(
        "--slices",
        type=int,
        metavar="N",
        help="with --dask: slices of the index, one per task (default: twice the workers)",
    )

    reindex = command(
        "reindex",
        "copy an index of an earlier layout into --index, with the hamming_code field",
        "Copy every image of the index --from into the new index --index with the current\n"
        "layout, where each code is one field of the plugin's type hamming_code (`hash`). Both\n"
        "earlier layouts move: hash_f0..hash_f3 (the first release) and hash_mih with\n"
        "hash_r0..hash_r3. Each code comes from the document's `hash` (else its hash_r0..3);\n"
        "ids and other fields (path, ...) are kept, the old code fields left behind. The old\n"
        "index is left as it is; running again copies only what is missing.",
    )
    reindex.add_argument(
        "--from", dest="source", required=True, metavar="OLD_INDEX", help="the index to copy"
    )
    _new_index_options(reindex, "the old index's", "the old index's")
    reindex.add_argument("--no-progress", action="store_true", help="no progress bar")

    for name, text in (
        ("search", "find the images most like IMAGE"),
        ("console", "print the search for Kibana Dev Tools"),
    ):
        sub = command(name, text, epilog=MODES_TEXT)
        sub.add_argument("image", help="query image file, or a 64-character hex code")
        sub.add_argument("-k", type=int, default=10, help="number of hits (default: 10)")
        sub.add_argument(
            "--mode", choices=MODES, default="exact", help="how to search (default: exact; below)"
        )
        sub.add_argument(
            "--scorer",
            choices=SCORERS,
            default="plugin",
            help="the script of two_stage, long and short: plugin (the native elastichash "
            "script; default) or painless (no plugin needed, but only an index of the earlier "
            "layout with hash_mih and hash_r0..3: Painless cannot read a hamming_code field)",
        )
        sub.add_argument(
            "--radius",
            type=int,
            help=f"sub-code radius of {', '.join(RADIUS_MODES)} (default: {DEFAULT_RADIUS})",
        )
        sub.add_argument(
            "--max-distance",
            type=int,
            metavar="N",
            help="only images within Hamming distance N (in the mode's bits)",
        )
        sub.add_argument("--filter", type=json.loads, help="a query (JSON) hits must match")
        if name == "search":
            sub.add_argument("--json", action="store_true", help="print hits as a JSON array")
    fit = command(
        "fit",
        "fit a model to your own images: a new 256-bit head on the default model's backbone",
        "Fit a model to the images under DIR (any layout, no labels): the default model's\n"
        "backbone with a new 256-bit head learnt from these images (PCA + ITQ, bits\n"
        "decorrelated), written to --out as an ONNX model for --model. On a collection unlike\n"
        "the default model's training images it ranks nearer to the backbone's own float\n"
        "features. A share of the images is held out to measure it: OUT.md says how many of\n"
        "each held-out image's nearest images (by the float features) the fitted model's codes\n"
        "find, beside the default model's and 256-bit LSH. About a minute for 1,000 images on\n"
        "two cores; the features are cached, so a rerun takes seconds. Needs the `fit` extra\n"
        "(pip install 'elastichash-client[fit]'); --model picks another base model.",
        epilog="then index with it:\n  elastichash --model OUT index DIR --index NEW_INDEX",
    )
    fit.add_argument("folder", metavar="DIR", help="the images to fit on (every image below DIR)")
    fit.add_argument("--out", required=True, metavar="OUT", help="where to write the model (.onnx)")
    fit.add_argument(
        "--holdout",
        type=float,
        default=0.1,
        help="share of the images held out to measure the model (default: 0.1)",
    )
    fit.add_argument(
        "--cache-dir", metavar="DIR", help="the features' cache (default: OUT without .onnx + .fit)"
    )
    fit.add_argument("--model-version", help="the model's name shown to users (default: OUT's)")
    fit.add_argument("--seed", type=int, default=0, help="seed of the held-out share (default: 0)")
    fit.add_argument("--no-progress", action="store_true", help="no progress bar")

    serve = command(
        "serve",
        "a local web page to search the index by example",
        "Serve a web page over the index: upload or drop an image, or click an indexed one, to\n"
        "see its nearest images. Thumbnails are served only from the folders given (the ones\n"
        "that were indexed); uploads are searched, never stored or indexed.",
    )
    serve.add_argument(
        "folders", nargs="+", metavar="DIR", help="the indexed folders whose images may be shown"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine)",
    )
    serve.add_argument("--port", type=int, default=8700, help="port (default: 8700; 0: any free)")
    serve.add_argument("--page-size", type=int, default=20, help="results per page (default: 20)")
    serve.add_argument(
        "--max-upload-mb", type=float, default=10, help="largest upload accepted (default: 10)"
    )
    return parser


def _dask_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help=f"spread the work over a Dask cluster ({what}): tcp://SCHEDULER:8786, or local:N "
        "for N worker processes on this machine; workers need the same paths (or URLs) and "
        "the `distributed` extra. A worker that dies loses nothing: its task runs again",
    )


def _new_index_options(parser: argparse.ArgumentParser, shards: str, replicas: str) -> None:
    parser.add_argument(
        "--shards", type=int, help=f"primary shards of a new index (default: {shards})"
    )
    parser.add_argument(
        "--replicas", type=int, help=f"replicas of a new index (default: {replicas})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _show_library_notes()
    if args.command not in ("index", "add-codes"):
        return _run(args, None)
    # Installed until the very end, so that a second Ctrl-C on the way out (while the client
    # closes) cannot turn a clean stop into a traceback.
    with _StopOnInterrupt() as stop:
        status = _run(args, stop)
    if stop.requested:
        # The process is on its way out: a second Ctrl-C landing now (a fast node answers the
        # last batch within a double tap) must not turn exit status 130 into death by SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


def _run(args: argparse.Namespace, stop: _StopOnInterrupt | None) -> int:
    es = None
    try:
        options: dict = {}
        if args.command in ("search", "console"):
            options = {
                "k": args.k,
                "mode": args.mode,
                "scorer": args.scorer,
                "filter": args.filter,
                "radius": args.radius,
                "max_distance": args.max_distance,
            }
            # Bad options are named before any server is asked (with a stand-in code).
            queries.search_body("0" * codes.HEX_CHARS, **options)
        if args.command == "serve":
            _check_folders(args.folders)
        if args.command == "fit":
            return _fit(args)  # needs no cluster
        if getattr(args, "dask", None):
            from .distributed import local_workers

            local_workers(args.dask)  # a bad --dask is named before any server is asked
        # On the cpu the model loads on first use (a search by hex code needs none); another
        # device is tried at once, so that a machine without it is told before any work.
        model = args.model if args.device == "cpu" else HashModel(args.model, device=args.device)
        # The console text needs no cluster: print it even where no node answers.
        if args.command != "console":
            es = connect(
                args.es_url,
                api_key=args.api_key,
                username=args.user,
                password=args.password,
                ca_certs=args.ca_certs,
                engine=args.engine,
            )
        engine = ElasticHash(es, index=args.index, model=model)
        if args.command == "index" and stop is not None:
            return _index(engine, args, stop)
        if args.command == "add-codes" and stop is not None:
            return _add_codes(engine, args, stop)
        if args.command == "reindex":
            return _reindex(engine, args)
        if args.command == "serve":
            return _serve(engine, args)
        if args.command == "console":
            print(engine.console(args.image, **options), end="")
            return 0
        return _search(engine, args, options)
    except (ElasticHashError, OSError, ValueError) as error:
        print(f"elastichash: error: {error}{_hint(error, args.index)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("elastichash: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        if es is not None:
            es.close()


def _fit(args: argparse.Namespace) -> int:
    from .fitting import fit_folder

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result = fit_folder(
        args.folder,
        args.out,
        model=HashModel(args.model, device=args.device),
        holdout=args.holdout,
        seed=args.seed,
        cache_dir=args.cache_dir,
        model_version=args.model_version,
        progress=not args.no_progress,
        log=log,
    )
    for name, reason in sorted(result.skipped.items()):
        log(f"elastichash: left out {name}: {reason}")
    print(result.report)
    size = result.path.stat().st_size / 1e6
    print(f"wrote {result.path} ({size:.1f} MB) and {result.report_path}")
    print(f"index with it: elastichash --model {result.path} index {args.folder} --index NEW_INDEX")
    return 0


#: What to type next, by the library error's `kind` (the library's messages name no flag).
_HINTS = {
    "unreachable": "give its address with --es-url, or start a local node with `make es-start`",
    "untrusted_certificate": "--ca-certs PATH",
    "index_missing": "`elastichash --index {index} index DIR`",
    "plugin_missing": "on an index of layout v2: --mode two_stage --scorer painless",
    "painless_missing": "--scorer plugin",
    "no_default_model": "--model PATH",
    "cache_not_writable": "--cache-dir DIR",
    "model_without_features": "leave out --model",
}


def _hint(error: Exception, index: str = "INDEX") -> str:
    """What to type next, for the library's errors that have a flag for it."""
    if isinstance(error, LayoutError):
        if error.layout == queries.FIELD_TYPE:
            return " (--scorer plugin, the default)"
        if error.layout == "earlier":
            return f" (`elastichash reindex --from {error.index} --index NEW`)"
    if isinstance(error, ModelMismatchError):
        return " (--index NEW_INDEX, or --model PATH of the model that wrote the index)"
    hint = _HINTS.get(getattr(error, "kind", None) or "")
    return f" ({hint.format(index=index)})" if hint else ""


def _show_library_notes() -> None:
    """The library's logged warnings (an index adopting a model, ...) as `elastichash: ...`
    lines on stderr, once each."""
    logger = logging.getLogger("elastichash")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("elastichash: note: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = False


#: The exit status of a run stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 128 + signal.SIGINT


class _StopOnInterrupt:
    """Ctrl-C during `index`. While armed (the ingest runs), the first Ctrl-C asks to stop
    after the batch in hand (everything sent stays whole and counted) and a second one stops
    at once (KeyboardInterrupt). Unarmed, Ctrl-C interrupts as usual, except once a stop was
    asked for: then the run is on its way out and there is nothing left to cut short."""

    def __init__(self) -> None:
        self.requested = False
        self.armed = False
        self._previous: object = None

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():  # signals need the main thread
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.armed and not self.requested:
            self.requested = True
            # os.write, not print: the handler may run in the middle of the progress bar's write.
            os.write(2, b"\nelastichash: stopping after this batch (Ctrl-C again: stop now)\n")
        elif self.armed or not self.requested:
            raise KeyboardInterrupt


def _index(engine: ElasticHash, args: argparse.Namespace, stop: _StopOnInterrupt) -> int:
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    shards = 1 if args.shards is None else args.shards
    if engine.create_index(shards, 0 if args.replicas is None else args.replicas):
        print(f"created index '{engine.index}'", file=sys.stderr)
    if os.path.isfile(args.source) and not manifest.is_manifest(args.source):
        raise ValueError(
            f"{args.source}: a file, but not a manifest; index takes a folder of images or a "
            f"manifest ({', '.join(manifest.SUFFIXES)})"
        )
    report = IngestReport()
    if args.dask:
        from . import distributed

        spread = (
            distributed.index_manifest
            if manifest.is_manifest(args.source)
            else distributed.index_directory
        )
        with distributed.dask_client(args.dask) as client:
            spread(
                engine,
                args.source,
                client,
                _access(args),
                model=_worker_model(args),
                batch_size=args.batch_size,
                progress=not args.no_progress,
                report=report,
            )
        print(report.summary())
        return 0 if report.ok else 1
    index_source = (
        engine.index_manifest if manifest.is_manifest(args.source) else engine.index_directory
    )
    stop.armed = True
    try:
        index_source(
            args.source,
            progress=not args.no_progress,
            batch_size=args.batch_size,
            report=report,
            should_stop=stop,
        )
    except KeyboardInterrupt:
        stop.requested, stop.armed = True, False  # on the way out: further Ctrl-C are ignored
        print(report.summary())
        print(f"elastichash: interrupted: {report.interruption(True)}", file=sys.stderr)
        return INTERRUPTED
    finally:
        stop.armed = False
    print(report.summary())
    if report.interrupted:
        print(f"elastichash: interrupted: {report.interruption()}", file=sys.stderr)
        return INTERRUPTED
    return 0 if report.ok else 1


def _add_codes(engine: ElasticHash, args: argparse.Namespace, stop: _StopOnInterrupt) -> int:
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.timeout <= 0 or args.max_image_mb <= 0:
        raise ValueError("--timeout and --max-image-mb must be positive")
    reader = ImageReader(
        base_dir=args.base_dir,
        max_bytes=int(args.max_image_mb * 1024 * 1024),
        timeout=args.timeout,
    )
    if args.dask:
        from . import distributed

        if args.slices is not None and args.slices < 1:
            raise ValueError(f"--slices must be at least 1, got {args.slices}")
        with distributed.dask_client(args.dask) as client:
            report = distributed.add_codes(
                engine,
                args.image_field,
                client,
                _access(args),
                model=_worker_model(args),
                slices=args.slices,
                reader_options={
                    "base_dir": os.path.abspath(args.base_dir or "."),
                    "max_bytes": reader.max_bytes,
                    "timeout": args.timeout,
                },
                batch_size=args.batch_size,
                progress=not args.no_progress,
            )
        print(report.summary())
        return 0 if report.ok else 1
    report = AddCodesReport()
    stop.armed = True
    try:
        engine.add_codes(
            args.image_field,
            reader=reader,
            batch_size=args.batch_size,
            progress=not args.no_progress,
            should_stop=stop,
            report=report,
        )
    except KeyboardInterrupt:
        stop.requested, stop.armed = True, False
        report.interrupted = True
    finally:
        stop.armed = False
    print(report.summary())
    if report.interrupted:
        print(
            f"elastichash: interrupted: coded {report.coded} documents; run the same command "
            "again to code the rest",
            file=sys.stderr,
        )
        return INTERRUPTED
    return 0 if report.ok else 1


def _access(args: argparse.Namespace) -> ClusterAccess:
    """What a Dask worker needs to reach the cluster: the options given here."""
    from .distributed import ClusterAccess

    return ClusterAccess(
        tuple(url.strip() for url in args.es_url.split(",") if url.strip()),
        args.api_key,
        args.user,
        args.password,
        args.ca_certs,
        args.engine,
    )


def _worker_model(args: argparse.Namespace) -> str | None:
    """The model for Dask workers: a file by its absolute path (workers start elsewhere), or a
    bundled model's name."""
    model = args.model
    return os.path.abspath(model) if model and os.path.isfile(model) else model


def _reindex(engine: ElasticHash, args: argparse.Namespace) -> int:
    report = engine.reindex_from(
        args.source, args.shards, args.replicas, progress=not args.no_progress
    )
    print(f"reindexed '{args.source}' into '{engine.index}': {report.summary()}")
    return 0 if report.ok else 1


def _check_folders(folders: Sequence[str]) -> None:
    """A missing folder is named before any server is asked."""
    try:
        from .web.folders import ImageFolders
    except ImportError:
        return  # `_serve` names the missing web extra
    ImageFolders(folders)


def _serve(engine: ElasticHash, args: argparse.Namespace) -> int:
    try:
        from .web import serve
    except ImportError as error:
        print(
            f"elastichash: error: the web page needs the web extra ({error}); install it with "
            "pip install 'elastichash-client[web]'",
            file=sys.stderr,
        )
        return 1
    if args.page_size < 1 or args.max_upload_mb <= 0:
        raise ValueError("--page-size and --max-upload-mb must be positive")
    serve(
        engine,
        args.folders,
        args.host,
        args.port,
        args.page_size,
        int(args.max_upload_mb * 1024 * 1024),
    )
    return 0


def _short_answer_note(args: argparse.Namespace, found: int) -> str | None:
    """Why a search found fewer than k images, in the modes where that can happen; else None."""
    if found >= args.k:
        return None
    if args.max_distance is not None:
        why = f"only these images lie within distance {args.max_distance}"
    elif args.mode in RADIUS_MODES:
        why = "only these images passed the multi-index-hashing filter; --mode exact finds all k"
    else:
        return None
    return f"elastichash: {found} of {args.k} hits: {why}"


def _search(engine: ElasticHash, args: argparse.Namespace, options: dict) -> int:
    hits = engine.search(args.image, **options)
    note = _short_answer_note(args, len(hits))
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(json.dumps([hit.as_dict() for hit in hits], indent=2))
        return 0
    if not hits:
        print("no hits")
        return 0
    print(f"{'rank':>4}  {'distance':>8}  {'score':>6}  id / path")
    for rank, hit in enumerate(hits, 1):
        label = hit.source.get("path", hit.id)
        print(f"{rank:>4}  {hit.distance:>8}  {hit.score:>6g}  {label}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
