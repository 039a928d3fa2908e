"""ElasticHash: semantic image similarity search in Elasticsearch with deep hashing.

The straight path: image → `HashModel.encode` → `Code` → document (`queries.code_fields`)
→ two-stage search (`queries.search_body`) → hits. `ElasticHash` ties it to one index.
"""

from .client import ElasticHash, Hit, connect
from .codes import Code, CodeError
from .errors import ClusterError, ElasticHashError, ImageError, ModelError
from .ingest import IngestReport
from .model import HashModel, ModelSpec

__version__ = "0.1.0"

__all__ = [
    "ClusterError",
    "Code",
    "CodeError",
    "ElasticHash",
    "ElasticHashError",
    "HashModel",
    "Hit",
    "ImageError",
    "IngestReport",
    "ModelError",
    "ModelSpec",
    "connect",
]
