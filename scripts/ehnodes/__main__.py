"""python -m ehnodes start|stop|status|url|prepare|clean — run from scripts/ (the Makefile sets PYTHONPATH).

    start    [--engine es9|es8|opensearch] [--cluster | --secure] [--port N] [--heap 1g] [--version V]
             [--plugin-zip PATH | --no-plugin]   start (or keep) nodes; the URL is the last line
    stop     [--engine E] [--cluster] [--all]     stop nodes by their pid files
    status                                        every node under the state folder
    url      [--engine E] [--cluster] [--port N]  where start puts the node
    prepare  [--engine E] [...]                   fetch, unpack, install the plugin; start nothing
    clean                                         stop every node, delete node data (keeps downloads)
    kill     --cluster --node N [--engine E]      SIGKILL cluster node N (1-3), as a crash would
    revive   --cluster --node N [--engine E]      start node N again with its data; waits until it rejoined

--secure: one Elasticsearch node with TLS (our own CA), users, API keys and a trial license, on the
plain node's port + 43 (9243 for es9); the CA, user and password file are named when it starts.

Defaults come from EH_ENGINE (es9), EH_HTTP_PORT, EH_HEAP, EH_PLUGIN_ZIP and EH_STATE_DIR.
"""

from __future__ import annotations

import argparse
import sys

from .engines import ENGINES
from .errors import NodeError
from .launcher import NO_PLUGIN, Launcher, Options, clean, status_lines, stop_all


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ehnodes", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state-dir", help="where downloads, releases and nodes live (default: $EH_STATE_DIR, ...)")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "stop", "url", "prepare"):
        command = commands.add_parser(name)
        command.add_argument("--engine", choices=list(ENGINES), help="default: $EH_ENGINE or es9")
        command.add_argument("--cluster", action="store_true", help="three nodes on ports 9201-9203")
        command.add_argument("--secure", action="store_true", help="a single node with TLS, users and API keys")
        if name == "stop":
            command.add_argument("--all", action="store_true", help="every node of every engine")
            continue
        command.add_argument("--port", type=int, help="HTTP port of the (first) node; transport is +100")
        if name == "url":
            continue
        command.add_argument("--heap", help="per node, e.g. 2g (default: $EH_HEAP, 1g; 512m in a cluster)")
        command.add_argument("--version", help="the release (default: the root pom's)")
        plugin = command.add_mutually_exclusive_group()
        plugin.add_argument("--plugin-zip", help="install this zip instead of the built one")
        plugin.add_argument("--no-plugin", action="store_true", help="a node without the plugin")
    for name in ("kill", "revive"):
        command = commands.add_parser(name)
        command.add_argument("--engine", choices=list(ENGINES), help="default: $EH_ENGINE or es9")
        command.add_argument("--cluster", action="store_true", help="required: the node is one of the cluster's")
        command.add_argument("--node", type=int, required=True, help="which cluster node: 1, 2 or 3")
    commands.add_parser("status")
    commands.add_parser("clean")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    options = Options.from_env(
        engine=getattr(args, "engine", None),
        cluster=getattr(args, "cluster", False),
        secure=getattr(args, "secure", False),
        http_port=getattr(args, "port", None),
        heap=getattr(args, "heap", None),
        version=getattr(args, "version", None),
        plugin_zip=NO_PLUGIN if getattr(args, "no_plugin", False) else getattr(args, "plugin_zip", None),
        state_dir=args.state_dir,
    )
    launcher = Launcher(options)
    if args.command == "start":
        url, _ = launcher.start()
        if options.secure:
            security = launcher.security
            print(
                f"ehnodes: HTTPS with the CA {security.ca}; user {security.access().user}, "
                f"password in {security.password_file}",
                file=sys.stderr,
            )
        print(url)
    elif args.command == "stop":
        stopped = stop_all(launcher.state_dir) if args.all else launcher.stop()
        print("stopped " + ", ".join(stopped) if stopped else "nothing was running", file=sys.stderr)
    elif args.command == "url":
        print(launcher.url)
    elif args.command == "prepare":
        launcher.prepare()
        print(f"ready: {launcher.distribution.home}")
    elif args.command == "kill":
        killed = launcher.kill(args.node)
        print(f"killed cluster node {args.node}" if killed else "it was not running", file=sys.stderr)
    elif args.command == "revive":
        revived = launcher.revive(args.node)
        print(f"cluster node {args.node} rejoined" if revived else "it was running", file=sys.stderr)
    elif args.command == "status":
        print("\n".join(status_lines(launcher.state_dir)))
    elif args.command == "clean":
        for path in clean(launcher.state_dir):
            print(f"removed {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except NodeError as error:
        print(f"ehnodes: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
