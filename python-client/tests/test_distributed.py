"""The Dask scheduler's address is checked before the Dask client retries it for 20 s."""

import socket

import pytest

from elastichash import distributed


def test_a_refused_scheduler_port_is_an_error_from_one_connect() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(OSError):  # raised by the one connect, not after a client's retries
            distributed._probe(f"tcp://127.0.0.1:{port}")


def test_a_listening_scheduler_port_passes_and_other_schemes_are_left_to_dask() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        distributed._probe(f"tcp://127.0.0.1:{server.getsockname()[1]}")
    distributed._probe("tls://127.0.0.1:9")  # TLS handshakes are Dask's to make
    distributed._probe("inproc://scheduler")
