"""Every Bedrock request shape the gateway builds is valid for the botocore the bundle ships.

The bundle pins botocore to the version in this virtualenv (``bundle.installed_pins``) and keeps only the service
models in ``sdk_trim.SERVICES``. Here the same trimming runs on a copy of this virtualenv's botocore data, and
each request is checked by botocore's own validator against the ``bedrock-runtime`` model loaded from that copy
alone: the check a Lambda runs before sending (an unknown field is "Unknown parameter in input"). After
``make bundle`` the built bundle's own data is checked too.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.loaders import Loader
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from gateway.providers.bedrock.reasoning import ReasoningBlock, encode
from gateway.providers.token_count import count_tokens_request
from gateway_infra.config import REPO_ROOT
from gateway_infra.tools.bundle import installed_pins
from gateway_infra.tools.sdk_trim import SERVICES, trim_sdk
from tests.fakes.bedrock import FakeBedrock, make_provider, make_request

pytestmark = pytest.mark.anyio

Json = dict[str, Any]
CLAUDE_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE_46 = "us.anthropic.claude-opus-4-6-v1"
CLAUDE_37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
NOVA_2 = "us.amazon.nova-2-lite-v1:0"
PNG = "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAA=="
PDF = "data:application/pdf;base64,JVBERi0xLjQK"
SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather", "parameters": SCHEMA, "strict": True}
HISTORY = [
    {
        "role": "user",
        "content": [{"type": "input_text", "text": "Weather?"}, {"type": "input_image", "image_url": PNG}],
    },
    {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [],
        "encrypted_content": encode([ReasoningBlock(text="Think.", signature="sig"), ReasoningBlock(redacted=b"\0")]),
    },
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
    {"role": "user", "content": [{"type": "input_file", "filename": "notes.pdf", "file_data": PDF}]},
]

SHAPES: dict[str, tuple[str, Json]] = {
    "text, instructions, system, sampling": (
        CLAUDE_45,
        {
            "instructions": "Be brief.",
            "input": [{"role": "system", "content": "Pirate."}, {"role": "user", "content": "hi"}],
            "temperature": 0.5,
            "max_output_tokens": 300,
            "stop": ["END"],
        },
    ),
    "structured output on Claude 4.5 (outputConfig.textFormat)": (
        CLAUDE_45,
        {"input": "Paris?", "text": {"format": {"type": "json_schema", "name": "city", "schema": SCHEMA}}},
    ),
    "strict tool on Claude 4.5 (toolSpec.strict), required": (
        CLAUDE_45,
        {"input": "Paris?", "tools": [WEATHER], "tool_choice": "required"},
    ),
    "service tier (serviceTier)": (CLAUDE_45, {"input": "hi", "service_tier": "flex"}),
    "priority tier": (CLAUDE_45, {"input": "hi", "service_tier": "priority"}),
    "budget thinking on Claude 3.7": (CLAUDE_37, {"input": "hi", "reasoning": {"effort": "high"}}),
    "adaptive thinking and outputConfig.effort on Claude 4.6": (
        CLAUDE_46,
        {"input": "hi", "reasoning": {"effort": "xhigh"}, "max_output_tokens": 4096},
    ),
    "Nova 2 reasoning and top_p": (NOVA_2, {"input": "hi", "reasoning": {"effort": "medium"}, "top_p": 0.9}),
    "json_object through a forced tool on Nova": (NOVA_2, {"input": "hi", "text": {"format": {"type": "json_object"}}}),
    "history: image, signed reasoning, tool call and result, document, prompt caching": (
        CLAUDE_45,
        {"input": HISTORY, "tools": [WEATHER], "prompt_cache_key": "session-1"},
    ),
    "a named tool": (
        CLAUDE_45,
        {"input": "hi", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "get_weather"}},
    ),
    "tool_choice none with tool history": (
        CLAUDE_45,
        {"input": HISTORY[2:4], "tools": [WEATHER], "tool_choice": "none"},
    ),
}


def _validate(model: ServiceModel, operation: str, params: Json) -> str:
    """botocore's own client-side validation; the report text, empty when valid."""
    report = ParamValidator().validate(params, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def _service_model(data_root: Path) -> ServiceModel:
    """``bedrock-runtime`` as a client would load it from ``data_root`` and nowhere else."""
    loader = Loader(extra_search_paths=[str(data_root)], include_default_search_paths=False)
    return ServiceModel(loader.load_service_model("bedrock-runtime", "service-2"), "bedrock-runtime")


@pytest.fixture(scope="module")
def trimmed_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This virtualenv's botocore data, trimmed as the bundle trims it."""
    root = tmp_path_factory.mktemp("bundle")
    shutil.copytree(Path(botocore.__file__).parent / "data", root / "botocore" / "data")
    assert trim_sdk(root) == sorted(SERVICES)
    return root / "botocore" / "data"


def _sources(trimmed: Path) -> Iterator[tuple[str, Path]]:
    yield "trimmed copy of the pinned botocore", trimmed
    built = REPO_ROOT / "build" / "lambda" / "botocore" / "data"
    if built.is_dir():  # after `make bundle`
        yield "build/lambda", built


def test_the_bundle_pins_the_botocore_these_tests_run() -> None:
    pins = installed_pins()
    assert f"botocore=={botocore.__version__}" in pins
    assert any(pin.startswith("boto3==") for pin in pins)


async def _bodies() -> dict[str, Json]:
    provider = make_provider(FakeBedrock())
    bodies = {}
    for name, (model, body) in SHAPES.items():
        plan = await provider._plan(make_request(model, **body))
        bodies[name] = dict(plan.body)
    return bodies


async def test_every_request_shape_validates_against_the_bundled_model(trimmed_sdk: Path) -> None:
    bodies = await _bodies()
    # the shapes above do reach the fields an old runtime botocore rejects
    sent = json.dumps(bodies, default=str)
    for field in ('"outputConfig"', '"textFormat"', '"strict"', '"serviceTier"', '"cachePoint"', '"reasoningContent"'):
        assert field in sent, field

    for source, data in _sources(trimmed_sdk):
        model = _service_model(data)
        for name, body in bodies.items():
            assert _validate(model, "ConverseStream", body) == "", f"{source}: {name}"
            assert _validate(model, "CountTokens", dict(count_tokens_request(body))) == "", f"{source}: {name}"


async def test_a_model_without_the_newer_fields_would_reject_them(trimmed_sdk: Path) -> None:
    # GIVEN the bundled model with outputConfig removed, as in a botocore older than 1.42.42
    raw = Loader(extra_search_paths=[str(trimmed_sdk)], include_default_search_paths=False).load_service_model(
        "bedrock-runtime", "service-2"
    )
    del raw["shapes"]["ConverseStreamRequest"]["members"]["outputConfig"]
    old = ServiceModel(raw, "bedrock-runtime")
    body = (await _bodies())["structured output on Claude 4.5 (outputConfig.textFormat)"]

    # THEN the same request fails validation the way Lambda's older SDK fails it
    assert "Unknown parameter in input" in _validate(old, "ConverseStream", body)
