"""A manifest: a CSV or JSON-lines file listing images to index, each with fields of its own.

Each row names its image in a `path` column (a file path, relative to the manifest's folder, or
an http(s) URL) or a `url` column, may give the document's `id`, and any other columns are
fields stored beside the code, for the query's `filter`:

    path,id,category,price                     {"url": "https://…/1.jpg", "category": "shoe",
    shoes/1.jpg,sku-1,shoe,59.90                 "price": 59.9, "tags": ["red", "sale"]}

CSV values are text (empty cells are left out); JSON lines keep their JSON types. Problems of
the whole file (no such file, no image column, a column that is ElasticHash's own) are a
ValueError before anything is indexed; a bad row is named in the report by file and line.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import queries
from .errors import ImageError
from .sources import ImageReader

SUFFIXES = (".csv", ".jsonl", ".ndjson")
LOCATION_COLUMNS = (queries.PATH_FIELD, "url")
ID_COLUMN = "id"
#: Columns a manifest may not set: the document's code, its id again, the copies' paths.
RESERVED = frozenset({*queries.CODE_FIELDS, queries.OTHER_PATHS_FIELD})


@dataclass(frozen=True)
class Row:
    """One listed image: where it is, its id (None: a hash of its bytes), its fields (the
    location column included), or the problem that keeps it out."""

    name: str
    location: str | None = None
    id: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None


def is_manifest(path: str | os.PathLike) -> bool:
    """Whether `path` is a file named like a manifest."""
    return Path(path).suffix.lower() in SUFFIXES and Path(path).is_file()


def read_rows(path: str | os.PathLike) -> list[Row]:
    """The rows of a manifest; a ValueError for a file that cannot be one."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"{path}: a manifest is a .csv or .jsonl file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            return _csv_rows(path, file) if suffix == ".csv" else _json_rows(path, file)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the manifest ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: the manifest is not UTF-8 text ({error.reason})") from error


def _csv_rows(path: Path, file: Any) -> list[Row]:
    reader = csv.DictReader(file)
    columns = reader.fieldnames or []
    _check_columns(path, columns)
    rows = []
    for record in reader:
        name = f"{path}:{reader.line_num}"
        if None in record:  # more cells than the header names
            rows.append(Row(name, problem="more cells than the header has columns"))
            continue
        rows.append(_row(name, {key: value for key, value in record.items() if value}))
    return rows


def _json_rows(path: Path, file: Any) -> list[Row]:
    rows = []
    for number, line in enumerate(file, 1):
        if not line.strip():
            continue
        name = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append(Row(name, problem=f"not JSON ({error.msg})"))
            continue
        if not isinstance(record, dict):
            rows.append(Row(name, problem="not a JSON object"))
            continue
        clash = RESERVED & set(record)
        if clash:
            rows.append(Row(name, problem=reserved(clash)))
            continue
        rows.append(_row(name, record))
    if not rows:
        raise ValueError(f"{path}: the manifest lists no images")
    return rows


def _check_columns(path: Path, columns: list[str]) -> None:
    if not columns:
        raise ValueError(f"{path}: the manifest is empty (a header row names its columns)")
    if not any(column in columns for column in LOCATION_COLUMNS):
        raise ValueError(
            f"{path}: the manifest has no `path` or `url` column (its columns: "
            f"{', '.join(columns)}); one of them names each image"
        )
    clash = RESERVED & set(columns)
    if clash:
        raise ValueError(f"{path}: {reserved(clash)}")


def reserved(clash: set[str]) -> str:
    """Why columns (or fields) may not bear these names."""
    return (
        f"the column(s) {', '.join(sorted(clash))} are ElasticHash's own fields (the code, the "
        "id and copies' paths); rename them"
    )


def _row(name: str, record: dict[str, Any]) -> Row:
    locations = [record[c] for c in LOCATION_COLUMNS if record.get(c) not in (None, "")]
    if len(locations) != 1:
        problem = "no path or url" if not locations else "both a path and a url: give one"
        return Row(name, problem=problem)
    location = locations[0]
    if not isinstance(location, str):
        return Row(name, problem=f"its path or url is not text: {location!r}")
    doc_id = record.get(ID_COLUMN)
    if doc_id is not None and (not isinstance(doc_id, str | int) or isinstance(doc_id, bool)):
        return Row(name, problem=f"its id is not text or a number: {doc_id!r}")
    fields = {key: value for key, value in record.items() if key != ID_COLUMN}
    return Row(name, location, None if doc_id is None else str(doc_id), fields)


def read_images(
    rows: list[Row], reader: ImageReader, failed: dict[str, str]
) -> Iterator[tuple[Row, bytes]]:
    """Each good row with its image's bytes; a row that has a problem, or whose image cannot
    be read, goes into `failed` (name: reason) instead."""
    for row in rows:
        if row.problem is not None or row.location is None:
            failed[row.name] = row.problem or "no path or url"
            continue
        try:
            yield row, reader.read(row.location)
        except ImageError as error:
            failed[f"{row.name} ({row.location})"] = error.reason
