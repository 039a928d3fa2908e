import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import BadRequestError, Elasticsearch

from elastichash.client import _cluster_errors, assemble_results
from elastichash.errors import ClusterError, ImageError, PartialResultError
from elastichash.images import load_image


def bad_request(reason: str) -> BadRequestError:
    meta = ApiResponseMeta(400, "1.1", HttpHeaders(), 0.01, NodeConfig("http", "127.0.0.1", 9200))
    body = {
        "error": {"root_cause": [{"type": "illegal_argument_exception", "reason": reason}]},
        "status": 400,
    }
    return BadRequestError(reason, meta, body)


def test_missing_plugin_says_install_it_or_use_painless() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    with (
        pytest.raises(ClusterError, match="plugin is not installed.*with the painless scorer"),
        _cluster_errors(es, "images"),
    ):
        raise bad_request("script_lang not supported [elastichash]")


def test_other_400s_carry_the_server_reason() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    with (
        pytest.raises(ClusterError, match=r"answered 400: \[code\] is not hex"),
        _cluster_errors(es, "images"),
    ):
        raise bad_request("[code] is not hex: character 'g' at position 3")


def test_unknown_hamming_query_says_install_or_upgrade_the_plugin() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    with (
        pytest.raises(
            ClusterError,
            match=r"does not know the hamming query: the elastichash plugin is not installed or "
            r"older than the query; install or upgrade it .*in mode two_stage with the painless "
            r"scorer",
        ),
        _cluster_errors(es, "images"),
    ):
        raise bad_request("unknown query [hamming]")


def test_missing_index_names_it() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    error = bad_request("no such index [pics]")
    error.body["error"]["root_cause"][0]["type"] = "index_not_found_exception"
    with (
        pytest.raises(
            ClusterError, match="index 'pics' does not exist at .*; index images into it first$"
        ) as raised,
        _cluster_errors(es, "pics"),
    ):
        raise error
    assert raised.value.kind == "index_missing"


# --- errors as types: status, reason, and the client's exception as the cause ----------------


def test_an_error_answer_keeps_status_reason_and_cause() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    original = bad_request("[code] is not hex: character 'g' at position 3")
    with pytest.raises(ClusterError) as raised, _cluster_errors(es, "images"):
        raise original
    error = raised.value
    assert error.status == 400
    assert error.reason == "[code] is not hex: character 'g' at position 3"
    assert error.__cause__ is original
    # The CLI prints the one sentence, unchanged by what the error carries.
    assert str(error) == (
        "Elasticsearch at http://127.0.0.1:9200 answered 400: [code] is not hex: character 'g' "
        "at position 3"
    )


def test_an_opensearch_error_answer_reads_the_same() -> None:
    from opensearchpy import OpenSearch
    from opensearchpy.exceptions import NotFoundError

    es = OpenSearch("http://127.0.0.1:9200")
    body = {
        "error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index"}]},
        "status": 404,
    }
    original = NotFoundError(404, "index_not_found_exception", body)
    with (
        pytest.raises(ClusterError, match="index 'pics' does not exist") as raised,
        _cluster_errors(es, "pics"),
    ):
        raise original
    assert (raised.value.status, raised.value.reason) == (404, "no such index")
    assert raised.value.__cause__ is original


@pytest.mark.parametrize("product", ["elasticsearch", "opensearch"])
def test_an_unreachable_node_has_no_status_but_the_connection_s_reason(product: str) -> None:
    if product == "elasticsearch":
        from elasticsearch import ConnectionError as Lost

        es = Elasticsearch("http://127.0.0.1:9200")
        original = Lost("Connection refused", errors=(OSError("Connection refused"),))
    else:
        from opensearchpy import ConnectionError as Lost
        from opensearchpy import OpenSearch

        es = OpenSearch("http://127.0.0.1:9200")
        original = Lost("N/A", "Connection refused", OSError("refused"))
    with (
        pytest.raises(ClusterError, match="cannot reach .* is the node running") as raised,
        _cluster_errors(es, "images"),
    ):
        raise original
    assert raised.value.status is None  # opensearch-py's "N/A" is no HTTP status
    assert "Connection refused" in (raised.value.reason or "")
    assert raised.value.__cause__ is original


def test_refused_credentials_are_401() -> None:
    from elasticsearch import AuthenticationException

    meta = ApiResponseMeta(401, "1.1", HttpHeaders(), 0.01, NodeConfig("http", "127.0.0.1", 9200))
    original = AuthenticationException("unauthorized", meta, {"error": "bad key"})
    with (
        pytest.raises(ClusterError, match=r"refused the credentials \(401\)") as raised,
        _cluster_errors(Elasticsearch("http://127.0.0.1:9200"), "images"),
    ):
        raise original
    assert raised.value.status == 401 and raised.value.__cause__ is original


def test_failed_shards_raise_a_partial_result_error() -> None:
    answer = {
        "_shards": {
            "total": 3,
            "successful": 2,
            "failed": 1,
            "failures": [{"reason": {"type": "node_disconnected", "reason": "node left"}}],
        },
        "hits": {"hits": [{"_score": 250.0, "fields": {"image_id": ["a"]}}]},
    }
    with pytest.raises(PartialResultError, match=r"1 of 3 shards .* incomplete") as raised:
        assemble_results([answer], 1, 10, 256, None, "images")
    error = raised.value
    assert isinstance(error, ClusterError)  # caught where any cluster trouble is
    assert (error.failed, error.total, error.reason, error.status) == (1, 3, "node left", None)


def test_a_failed_msearch_item_carries_its_status_and_reason() -> None:
    item = {
        "error": {"root_cause": [{"type": "x", "reason": "[k] must be positive"}], "type": "x"},
        "status": 400,
    }
    with pytest.raises(ClusterError, match=r"answered 400: \[k\] must be positive") as raised:
        assemble_results([item], 1, 10, 256, None, "images")
    assert (raised.value.status, raised.value.reason) == (400, "[k] must be positive")


def test_an_image_error_keeps_the_decoder_s_exception() -> None:
    with pytest.raises(ImageError) as raised:
        load_image(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, name="broken.png")
    assert raised.value.status is None and raised.value.reason
    assert raised.value.__cause__ is not None or raised.value.__context__ is not None
