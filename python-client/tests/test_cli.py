import pytest

from elastichash.cli import build_parser, main


def test_help_explains_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    text = capsys.readouterr().out
    for word in ("index", "search", "console", "--es-url", "--index", "ELASTICHASH_ES_URL"):
        assert word in text


def test_search_options() -> None:
    args = build_parser().parse_args(
        ["search", "x.jpg", "-k", "5", "--mode", "long", "--scorer", "painless"]
    )
    assert (args.k, args.mode, args.scorer, args.index) == (5, "long", "painless", "images")


def test_unreachable_node_is_a_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--es-url", "http://127.0.0.1:9", "search", "0" * 64])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot reach Elasticsearch at http://127.0.0.1:9" in err
    assert "Traceback" not in err
