"""Responses request → the exact ConverseStream JSON botocore sends (messages, system, tools, options)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.errors import InvalidRequestError
from gateway.providers.bedrock.reasoning import ReasoningBlock, encode
from tests.fakes.bedrock import FakeBedrock, collect, converse, make_provider, make_request, text_reply
from tests.fakes.opened import enter

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": False,
}
WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {"json": WEATHER_TOOL["parameters"]},
    }
}
NOVA = "us.amazon.nova-pro-v1:0"
CLAUDE_35 = "anthropic.claude-3-5-sonnet-20240620-v1:0"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# messages and system ---------------------------------------------------------------------------------------


async def test_string_input_is_one_user_message() -> None:
    # WHEN a plain string is sent
    body, _ = await converse(make_request(input="hi"))

    # THEN Converse gets exactly one user turn and nothing else
    assert body == {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


async def test_instructions_and_system_and_developer_messages_go_to_system_in_order() -> None:
    # GIVEN instructions plus system and developer messages among the input
    request = make_request(
        instructions="Be brief.",
        input=[
            {"role": "system", "content": "You are a pirate."},
            {"role": "user", "content": "hi"},
            {"role": "developer", "content": [{"type": "input_text", "text": "Answer in French."}]},
        ],
    )

    # WHEN it is sent
    body, _ = await converse(request)

    # THEN every one of them is a system block, in order, and only the user message is a turn
    assert body["system"] == [{"text": "Be brief."}, {"text": "You are a pirate."}, {"text": "Answer in French."}]
    assert body["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]


@pytest.mark.parametrize(
    "model",
    [
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6",
    ],
)
async def test_model_ids_profiles_and_arns_pass_through_as_model_id(model: str) -> None:
    # GIVEN a model id, an inference profile id or an ARN
    fake = FakeBedrock().add(text_reply("ok"))

    # WHEN it is used
    await collect(await enter(make_provider(fake).open(make_request(model, input="hi"))))

    # THEN it is the modelId in the ConverseStream URL, unchanged
    assert fake.model_ids == [model]


async def test_assistant_history_maps_output_text_and_refusals_to_text() -> None:
    request = make_request(
        input=[
            {"role": "user", "content": "hi"},
            {
                "type": "message",
                "role": "assistant",
                "id": "msg_1",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": "Hello!", "annotations": []},
                    {"type": "refusal", "refusal": "I can't do that."},
                ],
            },
            {"role": "user", "content": "why?"},
        ]
    )

    body, _ = await converse(request)

    assert body["messages"] == [
        {"role": "user", "content": [{"text": "hi"}]},
        {"role": "assistant", "content": [{"text": "Hello!"}, {"text": "I can't do that."}]},
        {"role": "user", "content": [{"text": "why?"}]},
    ]


async def test_empty_input_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input=[]))
    assert caught.value.param == "input"


# tools in history ------------------------------------------------------------------------------------------

TOOL_HISTORY = [
    {"role": "user", "content": "Weather in Paris and Oslo?"},
    {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
    {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
    {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
    {"type": "function_call_output", "call_id": "call_2", "output": "4C"},
]


async def test_function_calls_and_outputs_become_tool_use_and_merged_tool_results() -> None:
    # GIVEN two parallel calls and their outputs, then a follow-up user message
    request = make_request(tools=[WEATHER_TOOL], input=[*TOOL_HISTORY, {"role": "user", "content": "Thanks"}])

    # WHEN it is sent
    body, _ = await converse(request)

    # THEN the calls share one assistant turn, and the results share one user turn, ahead of the user's text
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Oslo?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
                {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Oslo"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "call_1", "content": [{"text": "18C"}]}},
                {"toolResult": {"toolUseId": "call_2", "content": [{"text": "4C"}]}},
                {"text": "Thanks"},
            ],
        },
    ]
    assert body["toolConfig"] == {"tools": [WEATHER_SPEC]}


async def test_tool_output_parts_become_tool_result_content_blocks() -> None:
    request = make_request(
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "Show me the radar"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": ""},
            {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": [
                    {"type": "input_text", "text": "radar:"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{b64(PNG)}"},
                ],
            },
        ],
    )

    body, _ = await converse(request)

    assert body["messages"][1:] == [
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {}}}]},
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "call_1",
                        "content": [{"text": "radar:"}, {"image": {"format": "png", "source": {"bytes": b64(PNG)}}}],
                    }
                }
            ],
        },
    ]


async def test_call_ids_with_characters_bedrock_refuses_are_mapped_consistently() -> None:
    request = make_request(
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "call|1 x", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call|1 x", "output": "ok"},
        ],
    )

    body, _ = await converse(request)

    assert body["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "call_1_x"
    assert body["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "call_1_x"


async def test_function_call_arguments_that_are_not_a_json_object_are_refused() -> None:
    request = make_request(
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "c", "name": "get_weather", "arguments": "[1, 2]"},
            {"type": "function_call_output", "call_id": "c", "output": "ok"},
        ],
    )
    with pytest.raises(InvalidRequestError, match="not a JSON object"):
        await converse(request)


# tools and tool_choice -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_choice", "converse_choice"),
    [
        ("auto", None),
        ("required", {"any": {}}),
        ({"type": "function", "name": "get_weather"}, {"tool": {"name": "get_weather"}}),
    ],
)
async def test_tool_choice_maps_to_converse_tool_choice(tool_choice: object, converse_choice: object) -> None:
    body, _ = await converse(make_request(input="hi", tools=[WEATHER_TOOL], tool_choice=tool_choice))

    expected = {"tools": [WEATHER_SPEC]} | ({"toolChoice": converse_choice} if converse_choice else {})
    assert body["toolConfig"] == expected


async def test_allowed_tools_offers_only_the_listed_tools() -> None:
    other = {"type": "function", "name": "get_time", "parameters": None, "strict": False}
    request = make_request(
        input="hi",
        tools=[WEATHER_TOOL, other],
        tool_choice={"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "get_time"}]},
    )

    body, _ = await converse(request)

    assert body["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "get_time", "inputSchema": {"json": {"type": "object", "properties": {}}}}}],
        "toolChoice": {"any": {}},
    }


async def test_tool_choice_none_sends_no_tool_config_and_writes_past_tool_blocks_as_text() -> None:
    # GIVEN a history with tool calls and tool_choice none
    request = make_request(tools=[WEATHER_TOOL], tool_choice="none", input=TOOL_HISTORY[:2] + TOOL_HISTORY[3:4])

    # WHEN it is sent
    body, _ = await converse(request)

    # THEN there is no toolConfig, so the model cannot call a tool, and it still sees what happened
    assert "toolConfig" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris and Oslo?"}]},
        {
            "role": "assistant",
            "content": [{"text": '[Called tool get_weather (call_id call_1) with arguments: {"city":"Paris"}]'}],
        },
        {"role": "user", "content": [{"text": "[Result of tool call call_1]:"}, {"text": "18C"}]},
    ]


async def test_strict_tools_are_strict_only_on_models_with_structured_output() -> None:
    strict_tool = WEATHER_TOOL | {"strict": True}

    claude, _ = await converse(make_request(input="hi", tools=[strict_tool]))
    nova, _ = await converse(make_request(NOVA, input="hi", tools=[strict_tool]))

    assert claude["toolConfig"]["tools"][0]["toolSpec"]["strict"] is True
    assert "strict" not in nova["toolConfig"]["tools"][0]["toolSpec"]


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "function", "name": "nope"}}, "tool_choice"),
        ({"tools": [WEATHER_TOOL], "tool_choice": {"type": "file_search"}}, "tool_choice"),
    ],
)
async def test_tools_bedrock_cannot_run_are_refused(changes: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input="hi", **changes))
    assert caught.value.param == param


async def test_hosted_tools_are_left_out_and_the_callers_tools_stay() -> None:
    request = make_request(input="hi", tools=[{"type": "web_search"}, WEATHER_TOOL])
    body, _ = await converse(request)
    assert [tool["toolSpec"]["name"] for tool in body["toolConfig"]["tools"]] == [WEATHER_TOOL["name"]]
    assert request.tools.omitted == ["web_search"]


# images and documents --------------------------------------------------------------------------------------


async def test_data_url_images_are_sent_as_bytes() -> None:
    request = make_request(
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is this?"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{b64(PNG)}", "detail": "high"},
                ],
            }
        ]
    )

    body, _ = await converse(request)

    assert body["messages"][0]["content"] == [
        {"text": "What is this?"},
        {"image": {"format": "png", "source": {"bytes": b64(PNG)}}},
    ]


async def test_input_files_become_document_blocks_with_safe_unique_names() -> None:
    pdf = b"%PDF-1.7 fake"
    part = {
        "type": "input_file",
        "filename": "q3_report.final.pdf",
        "file_data": f"data:application/pdf;base64,{b64(pdf)}",
    }
    request = make_request(
        input=[{"role": "user", "content": [part, part, {"type": "input_text", "text": "Compare these."}]}]
    )

    body, _ = await converse(request)

    document = {"format": "pdf", "name": "q3 report final", "source": {"bytes": b64(pdf)}}
    assert body["messages"][0]["content"] == [
        {"document": document},
        {"document": document | {"name": "q3 report final (2)"}},
        {"text": "Compare these."},
    ]


@pytest.mark.parametrize(
    "part",
    [
        {"type": "input_file", "file_id": "file-123"},
        {"type": "input_file", "filename": "x.exe", "file_data": f"data:application/octet-stream;base64,{b64(b'MZ')}"},
        {"type": "input_image", "file_id": "file-123"},
        {"type": "input_image", "image_url": f"data:text/plain;base64,{b64(b'hello')}"},
        {"type": "input_image", "image_url": "data:image/png;base64,@@not-base64@@"},
    ],
)
async def test_content_bedrock_cannot_take_is_refused_not_dropped(part: dict[str, str]) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input=[{"role": "user", "content": [part]}]))
    assert caught.value.param == "input"


# reasoning in history --------------------------------------------------------------------------------------


async def test_reasoning_items_send_back_their_signed_blocks_unchanged() -> None:
    # GIVEN a previous turn's reasoning item carrying Bedrock state (a signed block and a redacted one)
    state = encode([ReasoningBlock(text="Let me think.", signature="sig-123"), ReasoningBlock(redacted=b"\x00\x01")])
    request = make_request(
        input=[
            {"role": "user", "content": "hi"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "edited"}],
                "encrypted_content": state,
            },
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        ],
        tools=[WEATHER_TOOL],
    )

    # WHEN it is sent
    body, _ = await converse(request)

    # THEN the assistant turn starts with the reasoning exactly as Bedrock produced it
    assert body["messages"][1] == {
        "role": "assistant",
        "content": [
            {"reasoningContent": {"reasoningText": {"text": "Let me think.", "signature": "sig-123"}}},
            {"reasoningContent": {"redactedContent": b64(b"\x00\x01")}},
            {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
        ],
    }


async def test_reasoning_without_bedrock_state_is_not_model_input() -> None:
    request = make_request(
        input=[
            {"role": "user", "content": "hi"},
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "thought"}],
                "encrypted_content": "gAAAA-openai",
            },
            {"role": "assistant", "content": "Hello"},
        ]
    )

    body, _ = await converse(request)

    assert body["messages"][1] == {"role": "assistant", "content": [{"text": "Hello"}]}


async def test_damaged_bedrock_reasoning_state_is_refused() -> None:
    request = make_request(
        input=[
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "bedrock.v1.%%%"},
            {"role": "user", "content": "hi"},
        ]
    )
    with pytest.raises(InvalidRequestError, match="damaged"):
        await converse(request)


# inference options -----------------------------------------------------------------------------------------


async def test_sampling_options_go_to_inference_config() -> None:
    request = make_request(input="hi", max_output_tokens=256, temperature=0.2, top_p=0.9, stop=["END", "STOP"])

    body, _ = await converse(request)

    assert body["inferenceConfig"] == {
        "maxTokens": 256,
        "temperature": 0.2,
        "topP": 0.9,
        "stopSequences": ["END", "STOP"],
    }


async def test_a_single_stop_string_is_a_one_item_list() -> None:
    body, _ = await converse(make_request(input="hi", stop="END"))
    assert body["inferenceConfig"] == {"stopSequences": ["END"]}


async def test_temperature_above_bedrocks_range_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input="hi", temperature=1.5))
    assert caught.value.param == "temperature"


@pytest.mark.parametrize(
    ("model", "fields"),
    [(CLAUDE_35, {"top_k": 40}), (NOVA, {"inferenceConfig": {"topK": 40}})],
)
async def test_top_k_goes_to_additional_model_request_fields_in_the_family_shape(model: str, fields: object) -> None:
    body, _ = await converse(make_request(model, input="hi", top_k=40))
    assert body["additionalModelRequestFields"] == fields


# reasoning effort ------------------------------------------------------------------------------------------


async def test_effort_on_budget_claude_sets_a_thinking_budget_below_max_tokens() -> None:
    body, _ = await converse(make_request(input="hi", reasoning={"effort": "medium"}))

    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 8192}}
    assert body["inferenceConfig"] == {"maxTokens": 8192 + 8192}


async def test_effort_with_max_output_tokens_keeps_half_for_the_answer() -> None:
    body, _ = await converse(make_request(input="hi", reasoning={"effort": "high"}, max_output_tokens=4000))

    assert body["additionalModelRequestFields"] == {"thinking": {"type": "enabled", "budget_tokens": 2000}}
    assert body["inferenceConfig"] == {"maxTokens": 4000}


async def test_max_output_tokens_too_small_for_a_thinking_budget_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input="hi", reasoning={"effort": "low"}, max_output_tokens=1024))
    assert caught.value.param == "max_output_tokens"


@pytest.mark.parametrize(
    ("model", "effort", "fields", "output_config"),
    [
        ("us.anthropic.claude-opus-4-6-v1", "xhigh", {"thinking": {"type": "adaptive"}}, {"effort": "xhigh"}),
        ("anthropic.claude-sonnet-4-6", "minimal", {"thinking": {"type": "adaptive"}}, {"effort": "low"}),
        (
            "us.amazon.nova-2-lite-v1:0",
            "max",
            {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}},
            None,
        ),
        ("openai.gpt-oss-120b-1:0", "low", {"reasoning_effort": "low"}, None),
    ],
)
async def test_effort_maps_to_each_familys_reasoning_settings(
    model: str, effort: str, fields: object, output_config: object
) -> None:
    body, _ = await converse(make_request(model, input="hi", reasoning={"effort": effort}))

    assert body["additionalModelRequestFields"] == fields
    assert body.get("outputConfig") == output_config


async def test_effort_none_or_summary_alone_sends_nothing() -> None:
    body, _ = await converse(make_request(input="hi", reasoning={"effort": "none", "summary": "auto"}))
    assert body == {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


# structured output -----------------------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "temp": {"type": "number"}},
    "required": ["city", "temp"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}


async def test_json_schema_uses_native_structured_output_where_the_model_has_it() -> None:
    body, _ = await converse(make_request(input="Paris?", text=JSON_SCHEMA_FORMAT))

    assert body["outputConfig"] == {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"schema": json.dumps(SCHEMA), "name": "weather"}},
        }
    }
    assert "toolConfig" not in body


async def test_json_schema_elsewhere_forces_a_tool_whose_schema_is_the_format() -> None:
    body, _ = await converse(make_request(NOVA, input="Paris?", text=JSON_SCHEMA_FORMAT))

    assert "outputConfig" not in body
    assert body["toolConfig"] == {
        "tools": [
            {
                "toolSpec": {
                    "name": "weather",
                    "description": "Give your final answer by calling this tool; its input is the answer.",
                    "inputSchema": {"json": SCHEMA},
                }
            }
        ],
        "toolChoice": {"any": {}},
    }


async def test_forced_output_tool_sits_beside_the_callers_tools() -> None:
    body, _ = await converse(make_request(NOVA, input="Paris?", text=JSON_SCHEMA_FORMAT, tools=[WEATHER_TOOL]))

    assert [tool["toolSpec"]["name"] for tool in body["toolConfig"]["tools"]] == ["get_weather", "weather"]
    assert body["toolConfig"]["toolChoice"] == {"any": {}}


async def test_a_forced_function_call_leaves_the_output_tool_out() -> None:
    body, _ = await converse(
        make_request(NOVA, input="Paris?", text=JSON_SCHEMA_FORMAT, tools=[WEATHER_TOOL], tool_choice="required")
    )
    assert body["toolConfig"] == {"tools": [WEATHER_SPEC], "toolChoice": {"any": {}}}


async def test_json_object_forces_a_json_object_tool_on_every_model() -> None:
    body, _ = await converse(make_request(input="Paris?", text={"format": {"type": "json_object"}}))

    [tool] = body["toolConfig"]["tools"]
    assert tool["toolSpec"]["name"] == "json_object"
    assert tool["toolSpec"]["inputSchema"] == {"json": {"type": "object"}}
    assert body["toolConfig"]["toolChoice"] == {"any": {}}


async def test_forced_output_tool_with_claude_thinking_is_refused() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(input="hi", text={"format": {"type": "json_object"}}, reasoning={"effort": "low"}))
    assert caught.value.param == "text.format"


async def test_output_tool_name_clashing_with_a_tool_is_refused() -> None:
    clash = {**JSON_SCHEMA_FORMAT["format"], "name": "get_weather"}
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(NOVA, input="hi", text={"format": clash}, tools=[WEATHER_TOOL]))
    assert caught.value.param == "text.format.name"


# parameters Bedrock cannot honour ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "param"),
    [
        ({"seed": 7}, "seed"),
        ({"repetition_penalty": 1.1}, "repetition_penalty"),
        ({"top_logprobs": 3}, "top_logprobs"),
        ({"include": ["message.output_text.logprobs"]}, "include"),
        ({"text": {"verbosity": "low"}}, "text.verbosity"),
        ({"service_tier": "scale"}, "service_tier"),
        ({"reasoning": {"effort": "high"}}, "reasoning.effort"),
    ],
)
async def test_unsupported_parameters_are_a_400_naming_them(changes: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await converse(make_request(CLAUDE_35, input="hi", **changes))
    assert (caught.value.param, caught.value.code) == (param, "unsupported_parameter")
    assert CLAUDE_35 in caught.value.message


async def test_unsupported_parameters_are_dropped_when_the_operator_opted_in() -> None:
    request = make_request(
        CLAUDE_35, input="hi", seed=7, repetition_penalty=1.1, top_logprobs=3, reasoning={"effort": "high"}
    )

    body, _ = await converse(request, drop_unsupported_params=True)

    assert body == {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


@pytest.mark.parametrize(
    ("tier", "sent"),
    [("auto", None), ("default", None), ("flex", {"type": "flex"}), ("priority", {"type": "priority"})],
)
async def test_service_tiers_bedrock_has_are_passed_on(tier: str, sent: object) -> None:
    body, _ = await converse(make_request(input="hi", service_tier=tier))
    assert body.get("serviceTier") == sent


async def test_harmless_echo_only_parameters_send_nothing() -> None:
    request = make_request(
        input="hi",
        user="u1",
        safety_identifier="s1",
        metadata={"a": "b"},
        max_tool_calls=3,
        truncation="auto",
        store=False,
        text={"format": {"type": "text"}, "verbosity": "medium"},
    )

    body, _ = await converse(request)

    assert body == {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}


# prompt caching ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "hint",
    [
        {"prompt_cache_key": "019a-session"},
        {"prompt_cache_retention": "24h"},
        {"prompt_cache_options": {"mode": "implicit"}},
    ],
)
async def test_a_caching_hint_adds_cache_points_after_system_tools_and_the_last_message(hint: dict[str, Any]) -> None:
    request = make_request(input="hi", instructions="Be brief.", tools=[WEATHER_TOOL], **hint)
    body, _ = await converse(request)
    point = {"cachePoint": {"type": "default"}}
    assert body["system"] == [{"text": "Be brief."}, point]
    assert body["toolConfig"]["tools"][-1] == point and len(body["toolConfig"]["tools"]) == 2
    assert body["messages"][-1]["content"] == [{"text": "hi"}, point]


async def test_no_cache_points_without_a_hint_or_on_models_that_do_not_cache() -> None:
    plain, _ = await converse(make_request(input="hi", instructions="Be brief."))
    llama, _ = await converse(make_request("meta.llama3-3-70b-instruct-v1:0", input="hi", prompt_cache_key="k"))
    for body in (plain, llama):
        assert "cachePoint" not in json.dumps(body)
