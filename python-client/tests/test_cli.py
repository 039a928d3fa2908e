import argparse

import pytest

from elastichash import cli, engines, errors
from elastichash.cli import _short_answer_note, build_parser, main


def test_help_explains_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for word in (
        "index",
        "reindex",
        "search",
        "console",
        "--es-url",
        "--index",
        "ELASTICHASH_ES_URL",
    ):
        assert word in text


def test_search_help_explains_every_mode_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    lines = capsys.readouterr().out.splitlines()
    for mode in ("exact", "paper", "two_stage", "long", "short"):
        (line,) = [line for line in lines if line.startswith(f"  {mode} ")]
        assert len(line.split(maxsplit=1)[1]) > 20
    assert any("--max-distance N" in line for line in lines)


def test_search_options_and_defaults() -> None:
    args = build_parser().parse_args(
        ["search", "x.jpg", "-k", "5", "--mode", "long", "--scorer", "painless"]
    )
    assert (args.k, args.mode, args.scorer, args.index) == (5, "long", "painless", "images")
    args = build_parser().parse_args(["search", "x.jpg", "--max-distance", "12", "--radius", "1"])
    assert (args.mode, args.max_distance, args.radius, args.k) == ("exact", 12, 1, 10)
    assert build_parser().parse_args(["console", "x.jpg"]).radius is None


@pytest.mark.parametrize(
    "argv",
    [
        ["--index", "NAME", "--es-url", "http://h:1", "index", "DIR"],
        ["index", "DIR", "--index", "NAME", "--es-url", "http://h:1"],
        ["--es-url", "http://h:1", "index", "--index", "NAME", "DIR"],
    ],
)
def test_cluster_options_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.index, args.es_url, args.source) == ("NAME", "http://h:1", "DIR")
    assert args.api_key is None and args.model is None


def test_cluster_options_after_the_command_win_and_env_is_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ELASTICHASH_INDEX", "from-env")
    parser = build_parser()
    assert parser.parse_args(["search", "x"]).index == "from-env"
    assert parser.parse_args(["--index", "a", "search", "x", "--index", "b"]).index == "b"
    args = parser.parse_args(["reindex", "--from", "old", "--index", "new", "--user", "u"])
    assert (args.source, args.index, args.user, args.shards) == ("old", "new", "u", None)


def note(mode: str, found: int, k: int = 10, max_distance: int | None = None) -> str | None:
    args = argparse.Namespace(mode=mode, k=k, max_distance=max_distance)
    return _short_answer_note(args, found)


def test_fewer_than_k_note_only_where_it_can_happen() -> None:
    for mode in ("paper", "two_stage", "short"):
        assert "passed the multi-index-hashing filter; --mode exact" in (note(mode, 3) or "")
        assert note(mode, 10) is None
    assert note("exact", 3) is None and note("long", 0) is None
    assert "3 of 10 hits: only these images lie within distance 20" in (
        note("exact", 3, max_distance=20) or ""
    )


@pytest.mark.parametrize(
    ("engine", "name"),
    [
        ("auto", "Elasticsearch or OpenSearch"),
        ("elasticsearch", "Elasticsearch"),
        ("opensearch", "OpenSearch"),
    ],
)
def test_unreachable_node_is_a_sentence(
    capsys: pytest.CaptureFixture[str], engine: str, name: str
) -> None:
    code = main(["--es-url", "http://127.0.0.1:9", "--engine", engine, "search", "0" * 64])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"elastichash: error: cannot reach {name} at http://127.0.0.1:9")
    assert len(err.strip().splitlines()) == 1  # one sentence: no traceback, no client log lines


def test_engine_option_and_its_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_parser().parse_args(["search", "x"]).engine == "auto"
    monkeypatch.setenv("ELASTICHASH_ENGINE", "opensearch")
    assert build_parser().parse_args(["search", "x"]).engine == "opensearch"
    args = build_parser().parse_args(["index", "d", "--engine", "elasticsearch"])
    assert args.engine == "elasticsearch"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--engine", "solr", "search", "x"])


def test_painless_with_the_exact_mode_is_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "0" * 64, "--scorer", "painless", "--es-url", "http://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 1
    assert "elastichash: error: scorer 'painless' applies to the script modes" in err


def test_console_prints_the_short_exact_query(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["console", "0" * 64, "--index", "pics", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('GET pics/_search\n{\n  "size": 3,\n  "query": {\n    "hamming": {')
    assert '"docvalue_fields": [\n    "image_id",\n    "path"\n  ]' in out


class FieldCapsOnly:
    """A cluster that only says what its index's `hash` is; a search would fail the test."""

    def __init__(self, hash_type: str) -> None:
        self.hash_type = hash_type

    def field_caps(self, index: str, fields: list[str]) -> dict:
        caps = {"hash": {self.hash_type: {"type": self.hash_type}}}
        if self.hash_type == "keyword":
            caps["hash_mih"] = {"keyword": {"type": "keyword"}}
        return {"indices": [index], "fields": caps}

    def close(self) -> None:
        pass


def test_painless_on_a_hamming_code_index_names_the_flag(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("elastichash.cli.connect", lambda *a, **k: FieldCapsOnly("hamming_code"))
    argv = ["search", "0" * 64, "--mode", "two_stage", "--scorer", "painless", "--index", "pics"]
    assert main(argv) == 1
    assert capsys.readouterr().err == (
        "elastichash: error: index 'pics' keeps its codes in the hamming_code field `hash`, "
        "which Painless cannot read; only the plugin scorer searches it "
        "(--scorer plugin, the default)\n"
    )


def test_an_earlier_layout_index_names_the_reindex_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("elastichash.cli.connect", lambda *a, **k: FieldCapsOnly("keyword"))
    assert main(["search", "0" * 64, "--index", "old-pics"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("elastichash: error: index 'old-pics' has an earlier ElasticHash layout")
    assert err.endswith(
        "by reindexing it into a new index (`elastichash reindex --from old-pics --index NEW`)\n"
    )


def test_help_says_which_layouts_reindex_moves_and_painless_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reindex", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "hash_f0..hash_f3" in text and "hash_mih with hash_r0..hash_r3" in text
    assert "hamming_code" in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "only an index of the earlier layout" in text


def test_device_option_and_a_missing_gpu_is_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import onnxruntime as ort

    assert build_parser().parse_args(["search", "x"]).device == "cpu"
    monkeypatch.setenv("ELASTICHASH_DEVICE", "cuda")
    assert build_parser().parse_args(["search", "x"]).device == "cuda"
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the refusal cannot be seen here")
    # Refused before any node is asked (none answers at port 9) or any image is read.
    status = main(["--es-url", "http://127.0.0.1:9", "search", "x.png"])
    captured = capsys.readouterr()
    assert status == 1 and "device cuda: this onnxruntime has no CUDA support" in captured.err
    assert "Traceback" not in captured.err and "cannot reach" not in captured.err


def test_a_bad_dask_address_is_named_before_any_node_is_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in (["index", "photos/"], ["add-codes", "--image-field", "photo"]):
        status = main(["--es-url", "http://127.0.0.1:9", *command, "--dask", "local:0"])
        captured = capsys.readouterr()
        assert status == 1 and "--dask local:0: local:N needs a number of workers" in captured.err
        assert "cannot reach" not in captured.err


def test_the_library_s_errors_name_no_flag_and_the_cli_adds_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object, **options: object) -> None:
        raise engines.unreachable("http://127.0.0.1:9", "Connection refused")

    monkeypatch.setattr("elastichash.cli.connect", down)
    assert main(["search", "0" * 64, "--index", "pics"]) == 1
    assert capsys.readouterr().err == (
        "elastichash: error: cannot reach Elasticsearch or OpenSearch at http://127.0.0.1:9: "
        "is the node running? (give its address with --es-url, or start a local node with "
        "`make es-start`)\n"
    )
    # Every kind the library names has its flag here, and only here.
    for kind in errors.KINDS:
        hint = cli._hint(errors.ClusterError("what happened", kind=kind), "pics")
        assert hint.startswith(" (") and hint.endswith(")"), kind
    assert (
        cli._hint(errors.ClusterError("x", kind="index_missing"), "pics")
        == " (`elastichash --index pics index DIR`)"
    )
    assert cli._hint(errors.ClusterError("x"), "pics") == ""
