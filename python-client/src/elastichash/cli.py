"""The `elastichash` command: index a folder of images, search by example, print console queries."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from . import __version__
from .client import ElasticHash, connect
from .errors import ElasticHashError
from .queries import DEFAULT_RADIUS, MODES, SCORERS

EPILOG = """\
environment variables (used when the option is not given):
  ELASTICHASH_ES_URL, ELASTICHASH_INDEX, ELASTICHASH_MODEL, ELASTICHASH_API_KEY,
  ELASTICHASH_USER, ELASTICHASH_PASSWORD, ELASTICHASH_CA_CERTS

examples:
  elastichash index photos/
  elastichash search photos/cat.jpg -k 5
  elastichash search photos/cat.jpg --scorer painless --json
  elastichash console photos/cat.jpg > query.txt     # paste into Kibana Dev Tools
"""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"ELASTICHASH_{name}", default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="elastichash",
        description="Semantic image similarity search in Elasticsearch with deep hashing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    connection = parser.add_argument_group("cluster")
    connection.add_argument(
        "--es-url", default=_env("ES_URL", "http://127.0.0.1:9200"), help="default: %(default)s"
    )
    connection.add_argument(
        "--index", default=_env("INDEX", "images"), help="index name (default: %(default)s)"
    )
    connection.add_argument(
        "--api-key", default=_env("API_KEY"), help="Elasticsearch API key (encoded form)"
    )
    connection.add_argument("--user", default=_env("USER"), help="user for basic authentication")
    connection.add_argument(
        "--password", default=_env("PASSWORD"), help="password for basic authentication"
    )
    connection.add_argument(
        "--ca-certs", default=_env("CA_CERTS"), help="CA certificate file for HTTPS"
    )
    parser.add_argument(
        "--model",
        default=_env("MODEL"),
        help="ONNX hashing model (default: the model bundled with the package)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    index = commands.add_parser("index", help="index every image under a directory")
    index.add_argument("directory")
    index.add_argument(
        "--shards", type=int, default=1, help="primary shards of a new index (default: 1)"
    )
    index.add_argument(
        "--replicas", type=int, default=0, help="replicas of a new index (default: 0)"
    )
    index.add_argument(
        "--batch-size", type=int, default=32, help="images per model batch (default: 32)"
    )
    index.add_argument("--no-progress", action="store_true", help="no progress bar")

    for name, text in (
        ("search", "find the images most like IMAGE"),
        ("console", "print the search for Kibana"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("image", help="query image file, or a 64-character hex code")
        command.add_argument("-k", type=int, default=10, help="number of hits (default: 10)")
        command.add_argument(
            "--mode",
            choices=MODES,
            default="two_stage",
            help="two_stage: filter on the 64-bit code, rank on 256 bits (default); "
            "long: rank every image on 256 bits; short: rank the filtered images on 64 bits",
        )
        command.add_argument(
            "--scorer",
            choices=SCORERS,
            default="plugin",
            help="plugin: the native elastichash script (default); painless: no plugin needed",
        )
        command.add_argument(
            "--radius", type=int, default=DEFAULT_RADIUS, help="sub-code radius (default: 2)"
        )
        command.add_argument(
            "--filter", type=json.loads, help="an Elasticsearch query (JSON) hits must match"
        )
        if name == "search":
            command.add_argument("--json", action="store_true", help="print hits as a JSON array")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    es = connect(args.es_url, args.api_key, args.user, args.password, args.ca_certs)
    engine = ElasticHash(es, index=args.index, model=args.model)
    try:
        if args.command == "index":
            return _index(engine, args)
        options = {
            "k": args.k,
            "mode": args.mode,
            "scorer": args.scorer,
            "filter": args.filter,
            "radius": args.radius,
        }
        if args.command == "console":
            print(engine.console(args.image, **options), end="")
            return 0
        return _search(engine, args, options)
    except (ElasticHashError, FileNotFoundError, ValueError) as error:
        print(f"elastichash: error: {error}", file=sys.stderr)
        return 1
    finally:
        es.close()


def _index(engine: ElasticHash, args: argparse.Namespace) -> int:
    if engine.create_index(args.shards, args.replicas):
        print(f"created index '{engine.index}'", file=sys.stderr)
    report = engine.index_directory(
        args.directory, progress=not args.no_progress, batch_size=args.batch_size
    )
    print(report.summary())
    return 0 if report.ok else 1


def _search(engine: ElasticHash, args: argparse.Namespace, options: dict) -> int:
    hits = engine.search(args.image, **options)
    if len(hits) < args.k and args.mode != "long":
        # Stage 1 only lets through images near the query; say so rather than look broken.
        print(
            f"elastichash: {len(hits)} of {args.k} hits: only these images passed the "
            f"multi-index-hashing filter; --mode long ranks every image",
            file=sys.stderr,
        )
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
