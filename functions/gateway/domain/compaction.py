"""Compaction: a long context summarized by the model itself into one sealed ``compaction`` item.

Three ways in, one summarizer (``summarize``, a call to the same model through the provider port, so it works on
every provider):

- ``POST /v1/responses/compact``: the context (input, or the chain at ``previous_response_id``) becomes its user
  messages followed by one ``compaction`` item;
- a ``compaction_trigger`` as the last input item of a create (Codex): the response's one output item is the
  ``compaction``;
- ``context_management: [{"type": "compaction"}]`` on a create: past ``compact_threshold`` input tokens (or, with
  no threshold, when the upstream refuses the context as too long) the context is compacted first, the
  ``compaction`` item is the response's first output item, and the model answers from the compacted context.

The item's ``encrypted_content`` is the summary sealed for the tenant (``domain/sealing.py``, purpose
``compaction``). It stays sealed at rest as on the wire; ``Compactor.summaries`` opens the tokens of a context
once, when a request is prepared, and a token that does not open for this tenant is a 400.

What the model sees of a compacted context (``compacted_view``): the latest ``compaction`` item becomes a user
message holding the summary, and of everything before it only the user messages remain (the compact endpoint
returns them, so a compaction the client holds and one in a stored chain read the same upstream). A context is
compacted only when every call in it has its output, so no call is ever parted from its output.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gateway.domain.ids import new_id
from gateway.domain.sealing import COMPACTION, InvalidEncryptedContentError, Sealer
from gateway.domain.tools import ToolSet
from gateway.domain.transcript import UpstreamItem
from gateway.domain.upstream import ModelRequest, Provider, TextDelta, Usage
from gateway.errors import UpstreamError
from gateway.schemas.items import InputText, Message
from gateway.schemas.requests import ResponseCompactParams, ResponseCreateParams
from gateway.schemas.responses import CompactedResponse, Response
from gateway.schemas.tool_items import Compaction, CompactionTrigger, ContextItem, InputItem

SUMMARY_INSTRUCTIONS = """\
You are compacting the context of a session between a user and an AI assistant that may call tools, so that the \
assistant can continue from a short checkpoint instead of the full transcript. Write a checkpoint that lets the \
assistant carry on without asking the user anything again. Keep:
- the user's goals, requirements and constraints, and each decision taken, with its reason;
- the state of the work: what was done, each tool call that matters and its result (tool names, key arguments, \
file paths, identifiers, exit codes, errors), and any call still waiting for its result;
- the open tasks, and the next step;
- facts, names, numbers and code that the user or the tools provided and that are needed later, verbatim when short.
Leave out greetings and repetition. Write in the language of the conversation, as plain text in short sections. \
Do not call tools and do not answer the user: write only the checkpoint."""
"""The summarizer's system prompt; the README quotes what it keeps."""

CHECKPOINT_REQUEST = "Write the checkpoint of the conversation above now."
SUMMARY_HEADER = "Earlier turns of this conversation were compacted. Checkpoint of what happened in them:\n\n"


def is_trigger(params: ResponseCreateParams) -> bool:
    return isinstance(params.input, list) and bool(params.input) and isinstance(params.input[-1], CompactionTrigger)


def has_compaction(items: Sequence[object]) -> bool:
    return any(isinstance(item, Compaction) for item in items)


def requested(params: ResponseCreateParams) -> bool:
    """Whether this create compacts (on its trigger, or past its threshold)."""
    return is_trigger(params) or bool(params.context_management)


@dataclass(frozen=True, slots=True)
class Compactor:
    """One request's compaction: the tenant's sealer, the summaries of the compaction items in its context, and
    what the request asked for."""

    tenant: str
    sealer: Sealer | None = None
    summaries: Mapping[str, str] = field(default_factory=dict)
    """Summary text by sealed token, for every compaction item of the context."""
    trigger: bool = False
    """``compaction_trigger``: compact, and do nothing else."""
    auto: bool = False
    """``context_management``: compact past ``threshold`` (None: when the upstream says the context is too long)."""
    threshold: int | None = None

    def seal(self, summary: str, thread: str) -> Compaction:
        assert self.sealer is not None  # a compacting request loads it (``prepare``)
        state = json.dumps({"summary": summary}, ensure_ascii=False).encode()
        return Compaction(id=new_id("cmp", thread), encrypted_content=self.sealer.seal(self.tenant, COMPACTION, state))

    def with_summary(self, item: Compaction, summary: str) -> Compactor:
        return dataclasses.replace(self, summaries={**self.summaries, item.encrypted_content: summary})

    def view(
        self, history: Sequence[ContextItem], new: Sequence[ContextItem]
    ) -> tuple[list[ContextItem], list[ContextItem]]:
        return compacted_view(history, new, self.summaries)


async def compactor_for(
    tenant: str, params: ResponseCreateParams, context: Sequence[ContextItem], sealer: Callable[[], Awaitable[Sealer]]
) -> Compactor:
    """What compaction a request needs: its context's summaries opened, and what it asked for."""
    asked = requested(params)
    if not asked and not has_compaction(context):
        return Compactor(tenant)
    loaded = await sealer()
    management = params.context_management[0] if params.context_management else None
    return Compactor(
        tenant,
        loaded,
        summaries=_open_all(context, tenant, loaded),
        trigger=is_trigger(params),
        auto=management is not None,
        threshold=management.compact_threshold if management is not None else None,
    )


def _open_all(items: Sequence[ContextItem], tenant: str, sealer: Sealer) -> dict[str, str]:
    summaries: dict[str, str] = {}
    for item in items:
        if isinstance(item, Compaction):
            try:
                state = json.loads(sealer.open(tenant, COMPACTION, item.encrypted_content))
                summaries[item.encrypted_content] = str(state["summary"])
            except (InvalidEncryptedContentError, ValueError, KeyError, TypeError):
                raise InvalidEncryptedContentError(item.id) from None
    return summaries


def compacted_view(
    history: Sequence[ContextItem], new: Sequence[ContextItem], summaries: Mapping[str, str]
) -> tuple[list[ContextItem], list[ContextItem]]:
    """The context the model sees, split as it came (inherited history, this request's input)."""
    items = [*history, *new]
    latest = max((index for index, item in enumerate(items) if isinstance(item, Compaction)), default=None)
    if latest is None:
        return list(history), list(new)
    compaction = items[latest]
    assert isinstance(compaction, Compaction)
    summary = Message(
        id=compaction.id,
        role="user",
        content=[InputText(text=SUMMARY_HEADER + summaries[compaction.encrypted_content])],
        status="completed",
    )
    kept = [(index, item) for index, item in enumerate(items[:latest]) if _is_user_message(item)]
    tail = ((index, item) for index, item in enumerate(items) if index > latest)
    view = [*kept, (latest, summary), *tail]
    cut = len(history)
    return [item for index, item in view if index < cut], [item for index, item in view if index >= cut]


def _is_user_message(item: ContextItem) -> bool:
    return isinstance(item, Message) and item.role == "user"


def kept_messages(items: Sequence[ContextItem]) -> list[Message]:
    """The user messages a compaction keeps verbatim (``POST /v1/responses/compact`` returns them)."""
    return [item for item in items if isinstance(item, Message) and _is_user_message(item)]


async def summarize(
    provider: Provider, model: str, items: list[UpstreamItem], params: ResponseCreateParams
) -> tuple[str, Usage]:
    """The model's checkpoint of ``items``, and what writing it used."""
    system = SUMMARY_INSTRUCTIONS
    if params.instructions:
        system += f"\n\nThe assistant worked under these instructions:\n{params.instructions}"
    ask = Message(role="user", content=[InputText(text=CHECKPOINT_REQUEST)])
    options = ResponseCreateParams(
        model=params.model,
        reasoning=params.reasoning,
        prompt_cache_key=params.prompt_cache_key,
        service_tier=params.service_tier,
        store=False,
    )
    request = ModelRequest(model, system, [*items, ask], options, ToolSet())
    parts: list[str] = []
    usage = Usage(input_tokens=0, output_tokens=0)
    async with provider.open(request) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Usage):
                usage = event
    summary = "".join(parts).strip()
    if not summary:
        raise UpstreamError("The model wrote an empty checkpoint while compacting the context.")
    return summary, usage


def compact_request(params: ResponseCompactParams) -> ResponseCreateParams:
    """``POST /v1/responses/compact`` as the create it amounts to: the same context, ending in a trigger, unstored."""
    given: list[InputItem]
    if params.input is None:
        given = []
    elif isinstance(params.input, str):
        given = [Message(role="user", content=params.input)]
    else:
        given = list(params.input)
    fields = params.model_dump(exclude_unset=True, exclude={"input"})
    return ResponseCreateParams.model_validate({**fields, "store": False}).model_copy(
        update={"input": [*given, CompactionTrigger()]}
    )


def compacted_response(response: Response, context: Sequence[ContextItem]) -> CompactedResponse:
    """The compact endpoint's reply: the context's user messages, then the one compaction item."""
    return CompactedResponse(
        id=response.id,
        created_at=response.created_at,
        output=[*kept_messages(context), *response.output],
        usage=response.usage,
    )
