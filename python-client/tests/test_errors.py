import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import BadRequestError, Elasticsearch

from elastichash.client import _cluster_errors
from elastichash.errors import ClusterError


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
        pytest.raises(ClusterError, match="plugin is not installed.*--scorer painless"),
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
            r"older than the query; install or upgrade it .*--mode two_stage --scorer painless",
        ),
        _cluster_errors(es, "images"),
    ):
        raise bad_request("unknown query [hamming]")


def test_missing_index_names_it() -> None:
    es = Elasticsearch("http://127.0.0.1:9200")
    error = bad_request("no such index [pics]")
    error.body["error"]["root_cause"][0]["type"] = "index_not_found_exception"
    with (
        pytest.raises(ClusterError, match="index 'pics' does not exist at .*--index pics"),
        _cluster_errors(es, "pics"),
    ):
        raise error
