"""The 2026 dialect through the HTTP app (RESPONSES_2026.md sections 1 to 3): what Codex CLI and the agent
frameworks send, over an OpenAI-compatible upstream faked at the network boundary and over Bedrock faked inside
botocore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from tests.conftest import TABLE, make_settings
from tests.fakes import bedrock as converse
from tests.fakes.upstream import FakeUpstream, Reply, _chunk, text_reply, tool_reply, usage_chunk
from tests.sse import by_type, stream

PATCH = "*** Begin Patch\n*** Update File: notes.txt\n@@\n-old\n+new\n*** End Patch\n"
APPLY_PATCH = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Use the `apply_patch` tool to edit files.",
    "format": {"type": "grammar", "syntax": "lark", "definition": 'start: begin_patch\nbegin_patch: "*** Begin Patch"'},
}
EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "strict": False,
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
}
AGENTS = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "Sub-agents",
    "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}],
}
CODEX_TOOLS = [
    EXEC,
    APPLY_PATCH,
    AGENTS,
    {"type": "tool_search", "execution": "client", "description": "Find tools", "parameters": {"type": "object"}},
    {"type": "web_search", "external_web_access": True, "search_content_types": ["text", "image"]},
]
CODEX_FIELDS = {
    "instructions": "You are Codex.",
    "tools": CODEX_TOOLS,
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"effort": "medium", "summary": "auto", "context": "all"},
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "019a-session",
    "text": {"verbosity": "low"},
    "client_metadata": {"x-codex-turn-metadata": '{"turn_id":"t1"}', "session_id": "019a"},
}
CODEX_HEADERS = {
    "session_id": "019a-session",
    "x-client-request-id": "019a-session",
    "x-codex-turn-state": "abc",
    "OpenAI-Beta": "responses=experimental",
    "originator": "codex_exec",
}


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def custom_call_reply(call_id: str, name: str, text: str, pieces: int = 4) -> Reply:
    """The upstream calls the custom tool's function with ``{"input": text}``, in a few argument pieces."""
    return tool_reply((call_id, name, json.dumps({"input": text})), split=pieces)


# OpenAI-compatible upstream --------------------------------------------------------------------------------


def test_a_codex_turn_is_accepted_and_apply_patch_comes_back_as_a_custom_tool_call(
    client: TestClient, upstream: FakeUpstream
) -> None:
    # GIVEN the model answers Codex's first turn by patching a file
    upstream.will(custom_call_reply("call_p1", "apply_patch", PATCH))

    # WHEN Codex sends its request, headers and all
    reply = client.post(
        "/v1/responses", json={"model": "gpt-5.5", "input": [user("fix notes")], **CODEX_FIELDS}, headers=CODEX_HEADERS
    )

    # THEN it is answered, and the tools no upstream can run are named in a header
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-responses-omitted-tools"] == "tool_search,web_search"
    [call] = reply.json()["output"]
    assert call["type"] == "custom_tool_call" and call["id"].startswith("ctc_")
    assert (call["call_id"], call["name"], call["input"]) == ("call_p1", "apply_patch", PATCH)

    # AND the upstream saw every client-executed tool as a function, and nothing Codex-private
    sent = upstream.last
    functions = {tool["function"]["name"]: tool["function"] for tool in sent["tools"]}
    assert list(functions) == ["exec_command", "apply_patch", "multi_agent_v1__spawn_agent"]
    assert functions["apply_patch"]["parameters"]["required"] == ["input"]
    assert "lark" in functions["apply_patch"]["description"]
    assert functions["exec_command"]["strict"] is False
    for private in ("client_metadata", "store", "include", "tools_omitted"):
        assert private not in sent


def test_the_custom_tool_result_goes_back_upstream_as_a_tool_message(
    client: TestClient, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply("Patched."))
    history = [
        user("fix notes"),
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAA-openai-opaque"},
        {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_p1", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "call_p1", "output": "Success. Updated: notes.txt"},
        {
            "type": "function_call",
            "call_id": "call_a",
            "name": "spawn_agent",
            "namespace": "multi_agent_v1",
            "arguments": "{}",
        },
        {"type": "function_call_output", "call_id": "call_a", "output": "agent started"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search", "query": "x"}},
        {
            "type": "message",
            "role": "assistant",
            "phase": "commentary",
            "content": [{"type": "output_text", "text": "Working."}],
        },
    ]
    reply = client.post("/v1/responses", json={"model": "m", "input": history, **CODEX_FIELDS, "store": True})
    assert reply.status_code == 200, reply.text

    messages = upstream.last["messages"]
    assert messages[0] == {"role": "system", "content": "You are Codex."}
    calls = messages[2]["tool_calls"]
    assert [(c["id"], c["function"]["name"], json.loads(c["function"]["arguments"])) for c in calls] == [
        ("call_p1", "apply_patch", {"input": PATCH})
    ]
    assert messages[3] == {"role": "tool", "tool_call_id": "call_p1", "content": "Success. Updated: notes.txt"}
    assert messages[4]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"
    assert messages[6] == {"role": "assistant", "content": "Working."}
    assert len(messages) == 7  # the web search history and the foreign reasoning are not sent upstream

    # the items round-trip: listed back as sent (phase and namespace included)
    listed = client.get(f"/v1/responses/{reply.json()['id']}/input_items?order=asc&limit=100").json()["data"]
    assert [item["type"] for item in listed] == [item["type"] for item in history]
    assert listed[7]["phase"] == "commentary" and listed[4]["namespace"] == "multi_agent_v1"
    assert listed[6]["action"] == {"type": "search", "query": "x"}


def test_streamed_custom_tool_input_arrives_as_deltas(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(custom_call_reply("call_p1", "apply_patch", PATCH, pieces=6))
    events = stream(client, {"model": "m", "input": "fix", "tools": [APPLY_PATCH], "stream": True})
    grouped = by_type(events)
    deltas = grouped["response.custom_tool_call_input.delta"]
    assert len(deltas) > 1 and "".join(d["delta"] for d in deltas) == PATCH
    assert grouped["response.custom_tool_call_input.done"][0]["input"] == PATCH
    assert grouped["response.output_item.done"][0]["item"]["input"] == PATCH
    assert "response.function_call_arguments.delta" not in grouped


def test_forcing_a_custom_tool_and_requiring_an_omitted_one(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(custom_call_reply("c", "apply_patch", PATCH))
    forced = {
        "model": "m",
        "input": "x",
        "tools": [EXEC, APPLY_PATCH],
        "tool_choice": {"type": "custom", "name": "apply_patch"},
    }
    assert client.post("/v1/responses", json=forced).status_code == 200
    assert upstream.last["tool_choice"] == {"type": "function", "function": {"name": "apply_patch"}}

    requires_search = {"model": "m", "input": "x", "tools": CODEX_TOOLS, "tool_choice": {"type": "web_search"}}
    error = client.post("/v1/responses", json=requires_search)
    assert error.status_code == 400 and error.json()["error"]["param"] == "tool_choice"
    assert len(upstream.requests) == 1


def test_builtin_shell_call_round_trip(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(tool_reply(("call_s", "shell", '{"commands": ["ls"]}')), text_reply("Two files."))
    first = client.post("/v1/responses", json={"model": "m", "input": "list", "tools": [{"type": "shell"}]}).json()
    [call] = first["output"]
    assert call["type"] == "shell_call" and call["action"]["commands"] == ["ls"]

    output = {
        "type": "shell_call_output",
        "call_id": "call_s",
        "output": [{"stdout": "a\nb\n", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
    }
    second = client.post(
        "/v1/responses",
        json={"model": "m", "previous_response_id": first["id"], "input": [output], "tools": [{"type": "shell"}]},
    )
    assert second.status_code == 200, second.text
    assert upstream.last["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_s",
        "content": "exit code 0\nstdout:\na\nb\n\nstderr:\n",
    }


def test_hosted_tools_can_be_refused_by_the_operator(make_client: Any) -> None:
    strict_client = make_client(refuse_hosted_tools=True)
    reply = strict_client.post("/v1/responses", json={"model": "m", "input": "x", "tools": [{"type": "web_search"}]})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "tools[0].type"


def test_penalties_are_forwarded_and_echoed(client: TestClient, upstream: FakeUpstream) -> None:
    body = client.post(
        "/v1/responses", json={"model": "m", "input": "x", "presence_penalty": 0.5, "frequency_penalty": -1}
    ).json()
    assert (upstream.last["presence_penalty"], upstream.last["frequency_penalty"]) == (0.5, -1)
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.5, -1)


def test_item_reference_reaches_items_of_another_conversation(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(
        Reply(
            chunks=[_chunk({"reasoning_content": "think"}), _chunk({"content": "A"}), _chunk({}, "stop"), usage_chunk()]
        )
    )
    first = client.post("/v1/responses", json={"model": "m", "input": "q1"}).json()
    reasoning_id, message_id = (item["id"] for item in first["output"])
    assert reasoning_id.startswith("rs_")

    # a new conversation (no previous_response_id) refers to both items by id
    reply = client.post(
        "/v1/responses",
        json={"model": "m", "input": [{"type": "item_reference", "id": message_id}, {"id": reasoning_id}, user("q2")]},
    )
    assert reply.status_code == 200, reply.text
    assert upstream.last["messages"][0] == {"role": "assistant", "content": "A"}

    other = client.post(
        "/v1/responses", json={"model": "m", "input": [{"type": "item_reference", "id": "msg_" + "0" * 50}]}
    )
    assert other.status_code == 404 and other.json()["error"]["param"] == "input"


# Bedrock Converse --------------------------------------------------------------------------------------------

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture
def fake_bedrock() -> converse.FakeBedrock:
    return converse.FakeBedrock()


@pytest.fixture
def bedrock_api(aws: None, fake_bedrock: converse.FakeBedrock) -> Iterator[TestClient]:
    settings = make_settings()
    registry = ProviderRegistry(settings, bedrock_client=fake_bedrock.client())
    with TestClient(create_app(build_services(settings, providers=registry)), raise_server_exceptions=False) as api:
        yield api


def test_codex_on_claude_custom_tool_then_a_turn_without_tools(
    bedrock_api: TestClient, fake_bedrock: converse.FakeBedrock
) -> None:
    # GIVEN Claude answers by calling apply_patch through its function
    fake_bedrock.add(
        converse.stream(
            converse.message_start(),
            converse.tool_use(
                0, "tooluse_1", "apply_patch", json.dumps({"input": PATCH})[:20], json.dumps({"input": PATCH})[20:]
            ),
            converse.message_stop("tool_use"),
            converse.metadata(),
        )
    )
    # (Codex sends text.verbosity only for models it knows take it; Claude has no such control)
    codex = {key: value for key, value in CODEX_FIELDS.items() if key != "text"}
    body = {"model": f"bedrock/{CLAUDE}", "input": [user("fix notes")], **codex}
    reply = bedrock_api.post("/v1/responses", json=body, headers=CODEX_HEADERS)
    assert reply.status_code == 200, reply.text
    [call] = reply.json()["output"]
    assert (call["type"], call["name"], call["input"]) == ("custom_tool_call", "apply_patch", PATCH)
    *specs, cache_point = fake_bedrock.last_request["toolConfig"]["tools"]
    assert [spec["toolSpec"]["name"] for spec in specs] == [
        "exec_command",
        "apply_patch",
        "multi_agent_v1__spawn_agent",
    ]
    assert cache_point == {"cachePoint": {"type": "default"}}  # Codex's prompt_cache_key: Claude caches the prefix

    # WHEN the next turn carries the call and its result but offers no tools
    fake_bedrock.add(converse.text_reply("Done."))
    history = [
        user("fix notes"),
        {"type": "custom_tool_call", "call_id": "tooluse_1", "name": "apply_patch", "input": PATCH},
        {"type": "custom_tool_call_output", "call_id": "tooluse_1", "output": "Success."},
    ]
    again = bedrock_api.post("/v1/responses", json={"model": f"bedrock/{CLAUDE}", "input": history, "store": False})
    assert again.status_code == 200, again.text

    # THEN Converse still gets the tool blocks, with the tool declared so it accepts them
    sent = fake_bedrock.last_request
    assert [tool["toolSpec"]["name"] for tool in sent["toolConfig"]["tools"]] == ["apply_patch"]
    assert sent["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "tooluse_1", "name": "apply_patch", "input": {"input": PATCH}}}
    ]
    assert sent["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "tooluse_1"


# sealed reasoning state (RESPONSES_2026.md section 4) ----------------------------------------------------------


@pytest.fixture
def tenants_api(aws: None, fake_bedrock: converse.FakeBedrock) -> Iterator[TestClient]:
    settings = make_settings(api_keys="acme:key-acme,globex:key-globex")
    registry = ProviderRegistry(settings, bedrock_client=fake_bedrock.client())
    with TestClient(create_app(build_services(settings, providers=registry)), raise_server_exceptions=False) as api:
        yield api


SIGNATURE = "EqQBCkgIARABGAIiQL-signed-by-claude=="
ACME = {"authorization": "Bearer key-acme"}
GLOBEX = {"authorization": "Bearer key-globex"}


def stateless(api: TestClient, items: list[dict[str, Any]], headers: dict[str, str]) -> Any:
    body = {
        "model": f"bedrock/{CLAUDE}",
        "input": items,
        "tools": [EXEC],
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "low"},
    }
    return api.post("/v1/responses", json=body, headers=headers)


def test_claude_continues_statelessly_from_sealed_reasoning(
    tenants_api: TestClient, fake_bedrock: converse.FakeBedrock
) -> None:
    # GIVEN Claude thinks (signed) and calls a tool, on a store:false request that asks for the state
    fake_bedrock.add(
        converse.stream(
            converse.message_start(),
            converse.reasoning(0, "Need to list ", "files.", signature=SIGNATURE),
            converse.tool_use(1, "tooluse_9", "exec_command", '{"cmd": "ls"}'),
            converse.message_stop("tool_use"),
            converse.metadata(),
        )
    )
    first = stateless(tenants_api, [user("what is here?")], ACME)
    assert first.status_code == 200, first.text
    reasoning_item, call = first.json()["output"]

    # THEN the client gets the state sealed: opaque, and carrying neither the signature nor the text
    token = reasoning_item["encrypted_content"]
    assert token.startswith("gw1.") and SIGNATURE not in token and "files" not in token
    assert reasoning_item["content"] == [{"type": "reasoning_text", "text": "Need to list files."}]

    # WHEN it sends everything back on the next stateless turn
    fake_bedrock.add(converse.text_reply("Two files."))
    history = [
        user("what is here?"),
        reasoning_item,
        call,
        {"type": "function_call_output", "call_id": "tooluse_9", "output": "a.py b.py"},
    ]
    second = stateless(tenants_api, history, ACME)
    assert second.status_code == 200, second.text

    # THEN Claude gets its own thinking back, byte for byte, signature included
    assistant = fake_bedrock.last_request["messages"][1]["content"]
    assert assistant[0] == {
        "reasoningContent": {"reasoningText": {"text": "Need to list files.", "signature": SIGNATURE}}
    }
    assert assistant[1]["toolUse"]["toolUseId"] == "tooluse_9"

    # AND the same token is refused for another tenant, or altered, without reaching Bedrock
    sent = len(fake_bedrock.requests)
    for headers, state in (
        (GLOBEX, token),
        (ACME, token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")),
    ):
        refused = stateless(
            tenants_api, [*history[:1], {**reasoning_item, "encrypted_content": state}, *history[2:]], headers
        )
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == ("invalid_encrypted_content", "input")
        assert reasoning_item["id"] in error["message"]
    assert len(fake_bedrock.requests) == sent

    # AND state the gateway never sealed (another provider's) is not handed to Claude
    fake_bedrock.add(converse.text_reply("Two files."))
    foreign = {**reasoning_item, "encrypted_content": "gAAAAABo-openai-state"}
    assert stateless(tenants_api, [*history[:1], foreign, *history[2:]], ACME).status_code == 200
    assert "reasoningContent" not in json.dumps(fake_bedrock.last_request["messages"])


def test_stored_reasoning_state_is_listed_sealed_only_on_request(
    tenants_api: TestClient, fake_bedrock: converse.FakeBedrock
) -> None:
    fake_bedrock.add(
        converse.stream(
            converse.message_start(),
            converse.reasoning(0, "Thinking.", signature=SIGNATURE),
            converse.text(1, "Hi"),
            converse.message_stop(),
            converse.metadata(),
        )
    )
    first = tenants_api.post(
        "/v1/responses",
        json={"model": f"bedrock/{CLAUDE}", "input": "hi", "reasoning": {"effort": "low"}},
        headers=ACME,
    ).json()
    fake_bedrock.add(converse.text_reply("ok"))
    reasoning_item = first["output"][0]
    assert "encrypted_content" not in reasoning_item
    second = tenants_api.post(
        "/v1/responses",
        json={
            "model": f"bedrock/{CLAUDE}",
            "input": [{"type": "item_reference", "id": reasoning_item["id"]}, user("go on")],
        },
        headers=ACME,
    ).json()
    listed = tenants_api.get(f"/v1/responses/{second['id']}/input_items", headers=ACME).json()["data"]
    assert "encrypted_content" not in listed[-1]
    shown = tenants_api.get(
        f"/v1/responses/{second['id']}/input_items?include[]=reasoning.encrypted_content", headers=ACME
    ).json()["data"]
    assert shown[-1]["encrypted_content"].startswith("gw1.") and SIGNATURE not in shown[-1]["encrypted_content"]
    retrieved = tenants_api.get(
        f"/v1/responses/{first['id']}?include[]=reasoning.encrypted_content", headers=ACME
    ).json()
    assert retrieved["output"][0]["encrypted_content"].startswith("gw1.")


def test_client_metadata_is_kept_on_the_record_but_never_echoed_or_forwarded(
    client: TestClient, upstream: FakeUpstream
) -> None:
    metadata = {"x-codex-turn-metadata": '{"turn_id":"t1"}', "session_id": "019a"}
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi", "client_metadata": metadata})
    body = reply.json()
    assert "client_metadata" not in body and "client_metadata" not in upstream.last

    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    [record] = [item for item in items if item["sk"]["S"] == f"r#{body['id']}"]
    assert {key: value["S"] for key, value in record["client_metadata"]["M"].items()} == metadata
