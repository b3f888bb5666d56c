"""ARM throttling: a 429 is retried for every method, POST included, even without Retry-After."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core import PipelineClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.core.rest import HttpRequest

from collectors.azure.arm import ThrottleAwareRetryPolicy
from demo.standins.arm_emulator import ArmEmulator, Fault


class _Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("test-token", int(time.time()) + 3600)


def _post(emulator: ArmEmulator, retry: Any) -> int:
    client: PipelineClient[HttpRequest, Any] = PipelineClient(
        emulator.url,
        policies=[retry, BearerTokenCredentialPolicy(_Token(), f"{emulator.url}/.default")],
        transport=RequestsTransport(connection_verify=str(emulator.ca_file)),
    )
    request = HttpRequest(
        "POST", f"{emulator.url}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01"
    )
    with client:
        response = client.send_request(request)
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return int(response.status_code)


def _posts(emulator: ArmEmulator) -> int:
    return len([r for r in emulator.requests if r.method == "POST"])


def test_post_throttled_without_retry_after_is_retried() -> None:
    with ArmEmulator({"subscriptions": [], "resources": []}) as emulator:
        emulator.add_fault(Fault(path="ResourceGraph", status=429, times=1, method="POST"))
        emulator.add_fault(Fault(path="ResourceGraph", status=418, method="POST"))
        with pytest.raises(HttpResponseError) as raised:
            _post(emulator, ThrottleAwareRetryPolicy(retry_backoff_factor=0.01))
        assert raised.value.status_code == 418, "the 429 was retried and the second answer surfaced"
        assert _posts(emulator) == 2


def test_azure_core_alone_gives_up_on_a_post_429_without_retry_after() -> None:
    with ArmEmulator({"subscriptions": [], "resources": []}) as emulator:
        emulator.add_fault(Fault(path="ResourceGraph", status=429, times=1, method="POST"))
        with pytest.raises(HttpResponseError) as raised:
            _post(emulator, RetryPolicy(retry_backoff_factor=0.01))
        assert raised.value.status_code == 429
        assert _posts(emulator) == 1


def test_post_throttling_that_never_ends_still_gives_up() -> None:
    with ArmEmulator({"subscriptions": [], "resources": []}) as emulator:
        emulator.add_fault(Fault(path="ResourceGraph", status=429, method="POST"))
        with pytest.raises(HttpResponseError) as raised:
            _post(emulator, ThrottleAwareRetryPolicy(retry_backoff_factor=0.01, retry_status=3))
        assert raised.value.status_code == 429
        assert _posts(emulator) == 4
