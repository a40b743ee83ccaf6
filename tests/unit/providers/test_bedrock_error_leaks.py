"""Bedrock failures never tell the client where the gateway's endpoints are (issue 11, fault probe 4(5)): botocore
puts the endpoint URL in its exception text, so the messages are the gateway's own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from urllib3.exceptions import ProtocolError

from gateway.errors import GatewayError, UpstreamError
from gateway.providers.bedrock.errors import map_api_errors, map_stream_errors

URL = "https://vpce-0a1b2c3d4e5f-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com/model/m/converse-stream"


def _raised(mapper: Callable[[], Any], exc: BaseException) -> GatewayError:
    with pytest.raises(GatewayError) as caught, mapper():
        raise exc
    return caught.value


@pytest.mark.parametrize(
    "exc",
    [
        EndpointConnectionError(endpoint_url=URL),
        ConnectTimeoutError(endpoint_url=URL),
        ReadTimeoutError(endpoint_url=URL),
    ],
)
def test_an_unreachable_endpoint_is_a_502_that_does_not_name_it(exc: Exception) -> None:
    error = _raised(lambda: map_api_errors(model="m", region="us-east-1"), exc)

    assert isinstance(error, UpstreamError) and error.status_code == 502
    assert "Bedrock" in error.message
    assert "vpce" not in error.message and "https://" not in error.message


@pytest.mark.parametrize(
    "exc",
    [
        ReadTimeoutError(endpoint_url=URL),
        ProtocolError(f"Connection broken: IncompleteRead from {URL}"),
        ConnectionResetError(f"reset by peer talking to {URL}"),
    ],
)
def test_a_stream_that_breaks_off_fails_without_naming_the_endpoint(exc: Exception) -> None:
    error = _raised(map_stream_errors, exc)

    assert isinstance(error, UpstreamError)
    assert "vpce" not in error.message and "https://" not in error.message


def test_a_service_error_quoting_a_url_has_it_removed() -> None:
    reply: Any = {
        "Error": {"Code": "InternalServerException", "Message": f"Internal error calling {URL} (retry later)"},
        "ResponseMetadata": {"HTTPStatusCode": 500},
    }
    error = _raised(lambda: map_api_errors(model="m", region="us-east-1"), ClientError(reply, "ConverseStream"))

    assert isinstance(error, UpstreamError)
    assert "Internal error calling" in error.message and "(retry later)" in error.message
    assert "vpce" not in error.message and "https://" not in error.message
