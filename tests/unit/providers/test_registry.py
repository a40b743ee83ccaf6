"""Routing: which upstream a model name goes to, and with which credentials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto import mock_aws

from gateway.errors import InvalidRequestError
from gateway.providers.openai_chat import OpenAIChatProvider
from gateway.providers.registry import ProviderRegistry
from gateway.settings import Settings


def registry(**settings: object) -> ProviderRegistry:
    return ProviderRegistry(
        Settings(**settings),  # type: ignore[arg-type]
        http_transport=httpx.MockTransport(lambda request: httpx.Response(500)),
    )


@pytest.fixture
def secret() -> Iterator[str]:
    """A provider secret in moto's Secrets Manager; yields its id."""
    with mock_aws():
        value = {"OPENAI_API_KEY": "sk-from-secret", "VLLM_KEY": "vllm-from-secret"}
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="gw/keys", SecretString=json.dumps(value)
        )
        yield "gw/keys"


def test_prefix_routes_and_is_stripped() -> None:
    provider, model = registry().resolve("openai/gpt-4o")
    assert (provider.name, model) == ("openai", "gpt-4o")


def test_unprefixed_and_unknown_prefixes_go_to_the_default_provider_whole() -> None:
    providers = registry()
    assert providers.resolve("gpt-4o")[1] == "gpt-4o"
    provider, model = providers.resolve("meta-llama/Llama-3.1-8B")
    assert (provider.name, model) == ("openai", "meta-llama/Llama-3.1-8B")


def test_named_upstreams_from_the_providers_file(tmp_path: Path) -> None:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"ollama": {"base_url": "http://127.0.0.1:11434/v1", "max_tokens_field": "max_tokens"}}))
    provider, model = registry(providers_file=path).resolve("ollama/llama3.2")
    assert isinstance(provider, OpenAIChatProvider)
    assert (provider.name, model, provider._url) == ("ollama", "llama3.2", "http://127.0.0.1:11434/v1/chat/completions")
    assert provider._max_tokens_field == "max_tokens"


def test_a_malformed_providers_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"ollama": {"url": "missing base_url"}}))
    with pytest.raises(ValueError, match="base_url"):
        registry(providers_file=path).resolve("ollama/x")


def test_unknown_default_provider() -> None:
    with pytest.raises(InvalidRequestError):
        registry(default_provider="nowhere").resolve("x")


def test_upstream_keys_from_secrets_manager(secret: str) -> None:
    provider, _ = registry(provider_secret_id=secret).resolve("openai/gpt-4o")
    assert isinstance(provider, OpenAIChatProvider)
    assert provider._headers["authorization"] == "Bearer sk-from-secret"


def test_a_named_upstream_takes_its_key_from_the_secret_by_name(secret: str, tmp_path: Path) -> None:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"vllm": {"base_url": "http://127.0.0.1:8001/v1", "api_key_secret": "VLLM_KEY"}}))
    provider, _ = registry(provider_secret_id=secret, providers_file=path).resolve("vllm/llama")
    assert isinstance(provider, OpenAIChatProvider)
    assert provider._headers["authorization"] == "Bearer vllm-from-secret"


def test_providers_are_built_once() -> None:
    providers = registry()
    assert providers.resolve("a")[0] is providers.resolve("openai/b")[0]
