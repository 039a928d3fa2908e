"""The errors the library raises: each message says what went wrong and what to do.

Like elasticsearch-py's own errors they are types to catch and read, not only sentences: `status`
is the server's HTTP status when it answered with an error (None when it did not answer, or when
the problem is not the server's), `reason` the server's reason (or, failing that, what went
wrong), `kind` a name for what went wrong where a caller may act on it (`KINDS`), and the
exception that caused it, when there is one, is kept as `__cause__`. Messages speak of the
library's own arguments; the command line adds its flags (`elastichash.cli`).
"""

from __future__ import annotations

#: The `kind`s an error may carry, and what each means.
KINDS = {
    "unreachable": "no node answered at the address given",
    "untrusted_certificate": "the node's TLS certificate is not signed by a CA the client trusts",
    "index_missing": "the index does not exist",
    "plugin_missing": "the cluster lacks the elastichash plugin (or a version with the query)",
    "painless_missing": "the cluster has no Painless scripting",
    "no_default_model": "no model was given and none is bundled",
    "cache_not_writable": "the feature cache's folder cannot be written",
    "model_without_features": "the model to fit on does not expose its backbone's features",
}


class ElasticHashError(Exception):
    """Base of every error raised on purpose by elastichash."""

    def __init__(
        self,
        message: str,
        status: int | None = None,
        reason: str | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.kind = kind


class ImageError(ElasticHashError):
    """An image that cannot be used: not an image, truncated, empty, too large."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}", reason=reason)
        self.name = name


class ModelError(ElasticHashError):
    """A hashing model that is missing, unreadable or whose metadata breaks the contract."""


class ClusterError(ElasticHashError):
    """Elasticsearch is unreachable, lacks the index or the plugin, or refused a request."""


class LayoutError(ClusterError):
    """An index whose fields are not the layout the request needs: an index of an earlier
    ElasticHash layout (no hamming_code field `hash`) asked to take documents or plugin
    searches, or an index of the current layout asked for a Painless search.

    `index` is the index named; `layout` what it was found to hold: "hamming_code" (the
    current layout), "earlier" (layout v1 or v2), "other" (a `hash` of another type) or
    "none" (no `hash` field).
    """

    def __init__(self, message: str, index: str, layout: str) -> None:
        super().__init__(message, reason=message)
        self.index = index
        self.layout = layout


class PartialResultError(ClusterError):
    """Some shards failed to answer a search: what came back would be incomplete.

    `failed` of `total` shards failed; `reason` is the first failure's.
    """

    def __init__(self, message: str, failed: int, total: int | None, reason: str | None) -> None:
        super().__init__(message, reason=reason)
        self.failed = failed
        self.total = total


class ModelMismatchError(ElasticHashError):
    """An index that records another model than the one in hand: codes of two models are not
    comparable, so neither ingest nor a search by image goes ahead.

    `index` is the index; `recorded` the identity it records (`ModelIdentity`), `given` the
    model in hand's.
    """

    def __init__(self, message: str, index: str, recorded: object, given: object) -> None:
        super().__init__(message, reason=message)
        self.index = index
        self.recorded = recorded
        self.given = given
