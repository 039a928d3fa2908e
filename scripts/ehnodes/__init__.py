"""Local Elasticsearch and OpenSearch nodes with the ElasticHash plugin, for development, tests and demos.

Standard library only, so that `make` targets run it with any python3 and pytest imports it.
"""

from .engines import ENGINES, Engine, Jdk, select_jdk
from .errors import NodeError
from .launcher import Launcher, Options, clean, status_lines, stop_all

__all__ = [
    "ENGINES",
    "Engine",
    "Jdk",
    "Launcher",
    "NodeError",
    "Options",
    "clean",
    "select_jdk",
    "status_lines",
    "stop_all",
]
