"""The errors the library raises: each message says what went wrong and what to do."""

from __future__ import annotations


class ElasticHashError(Exception):
    """Base of every error raised on purpose by elastichash."""


class ImageError(ElasticHashError):
    """An image that cannot be used: not an image, truncated, empty, too large."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class ModelError(ElasticHashError):
    """A hashing model that is missing, unreadable or whose metadata breaks the contract."""


class ClusterError(ElasticHashError):
    """Elasticsearch is unreachable, lacks the index or the plugin, or refused a request."""
