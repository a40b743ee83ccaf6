"""Disclosure: provider reasoning state leaves the gateway hidden or sealed for its tenant, and comes back opened."""

from __future__ import annotations

import pytest

from gateway.domain.disclosure import HIDDEN, Disclosure, needs_opening, open_sealed
from gateway.domain.echo import response_shell
from gateway.domain.sealing import COMPACTION, REASONING, InvalidEncryptedContentError, Sealer
from gateway.schemas.items import FunctionCall, Message, OutputText, Reasoning, ReasoningText
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response

SEALER = Sealer([b"disclosure-test-key-0123456789abcdef"])
OTHER_DEPLOYMENT = Sealer([b"another-deployment-key-0123456789abcdef"])
TENANT = "acme"
STATE = '{"signature": "EqQBCkgIARABGAIiQL"}'
"""Raw provider state as stored (a Claude thinking signature)."""
FOREIGN = "gAAAAABnOpenAIsOwnEncryptedReasoning"
"""Encrypted content minted by OpenAI or another gateway: not ours to open."""


def reasoning(state: str | None, item_id: str = "rs_1") -> Reasoning:
    return Reasoning(id=item_id, content=[ReasoningText(text="thinking")], encrypted_content=state, status="completed")


def message() -> Message:
    return Message(id="msg_1", role="assistant", content=[OutputText(text="42")], status="completed")


def response(*output: Reasoning | Message | FunctionCall) -> Response:
    shell = response_shell(ResponseCreateParams(model="m"), "resp_1", "completed")
    return shell.model_copy(update={"output": list(output)})


def sealed(state: str = STATE, tenant: str = TENANT) -> str:
    token = Disclosure(tenant, SEALER).item(reasoning(state)).encrypted_content
    assert token is not None
    return token


# leaving ------------------------------------------------------------------------------------------------------


def test_hidden_drops_the_state_and_keeps_the_rest() -> None:
    original = reasoning(STATE)
    shown = HIDDEN.item(original)
    assert shown.encrypted_content is None
    assert shown.model_dump(exclude={"encrypted_content"}) == original.model_dump(exclude={"encrypted_content"})
    assert original.encrypted_content == STATE  # the stored item is not touched


def test_sealed_state_opens_only_for_its_tenant_and_never_shows_the_raw_state() -> None:
    token = Disclosure(TENANT, SEALER).item(reasoning(STATE)).encrypted_content
    assert token is not None and token.startswith("gw1.")
    assert "EqQBCkg" not in token
    assert SEALER.open(TENANT, REASONING, token) == STATE.encode()
    with pytest.raises(InvalidEncryptedContentError):
        SEALER.open("globex", REASONING, token)


@pytest.mark.parametrize("item", [message(), reasoning(None), reasoning("")])
def test_items_without_state_pass_unchanged(item: Reasoning | Message) -> None:
    assert Disclosure(TENANT, SEALER).item(item) is item
    assert HIDDEN.item(item) is item


def test_a_response_shows_every_reasoning_item_disclosed() -> None:
    stored = response(reasoning(STATE, "rs_1"), message(), reasoning("second", "rs_2"))
    hidden = HIDDEN.response(stored)
    assert [getattr(item, "encrypted_content", None) for item in hidden.output] == [None, None, None]
    assert hidden.output[1] == stored.output[1]
    shown = Disclosure(TENANT, SEALER).response(stored)
    tokens = [item.encrypted_content for item in shown.output if isinstance(item, Reasoning)]
    assert [SEALER.open(TENANT, REASONING, token or "") for token in tokens] == [STATE.encode(), b"second"]
    assert stored.output[0].encrypted_content == STATE  # type: ignore[union-attr]


def test_a_response_without_state_is_returned_as_is() -> None:
    stored = response(message(), reasoning(None))
    assert HIDDEN.response(stored) is stored
    assert Disclosure(TENANT, SEALER).response(stored) is stored


# coming back --------------------------------------------------------------------------------------------------


def test_needs_opening_only_for_the_gateways_own_tokens() -> None:
    assert needs_opening([message(), reasoning(sealed())])
    assert not needs_opening([reasoning(FOREIGN), reasoning(None), message()])
    assert not needs_opening([])
    # a message that merely says "gw1." carries nothing to open
    assert not needs_opening([Message(role="user", content="gw1.abc.def")])


def test_sealed_state_is_opened_and_foreign_state_dropped() -> None:
    items: list[Reasoning | Message] = [
        reasoning(sealed(), "rs_ours"),
        message(),
        reasoning(FOREIGN, "rs_theirs"),
        reasoning(None, "rs_none"),
    ]
    opened = open_sealed(items, TENANT, SEALER)
    assert [item.id for item in opened] == ["rs_ours", "msg_1", "rs_theirs", "rs_none"]
    assert [getattr(item, "encrypted_content", None) for item in opened] == [STATE, None, None, None]
    assert opened[1] is items[1]
    assert opened[0].content == items[0].content


def test_foreign_state_is_dropped_even_without_a_sealer() -> None:
    [item] = open_sealed([reasoning(FOREIGN)], TENANT, None)
    assert item.encrypted_content is None


def _tampered() -> str:
    token = sealed()
    flipped = "A" if token[-5] != "A" else "B"
    return token[:-5] + flipped + token[-4:]


@pytest.mark.parametrize(
    ("token", "tenant", "sealer"),
    [
        (_tampered(), TENANT, SEALER),
        (sealed(tenant="globex"), TENANT, SEALER),  # another tenant's state
        (sealed(), TENANT, OTHER_DEPLOYMENT),  # a key this deployment does not hold
        (SEALER.seal(TENANT, COMPACTION, STATE.encode()), TENANT, SEALER),  # sealed for another purpose
        (SEALER.seal(TENANT, REASONING, b"\xff\xfe"), TENANT, SEALER),  # opens, but is not text
        ("gw1.", TENANT, SEALER),
        (sealed(), TENANT, None),  # a token and no sealer to open it
    ],
    ids=["tampered", "other-tenant", "other-key", "other-purpose", "not-utf8", "truncated", "no-sealer"],
)
def test_a_token_that_does_not_open_is_a_400_naming_the_item(token: str, tenant: str, sealer: Sealer | None) -> None:
    with pytest.raises(InvalidEncryptedContentError) as caught:
        open_sealed([message(), reasoning(token, "rs_bad")], tenant, sealer)
    error = caught.value
    assert (error.status_code, error.param, error.code) == (400, "input", "invalid_encrypted_content")
    assert "rs_bad" in error.message


def test_a_sealed_response_round_trips_into_the_next_turns_input() -> None:
    stored = response(reasoning(STATE, "rs_1"), message())
    shown = Disclosure(TENANT, SEALER).response(stored)
    assert open_sealed(shown.output, TENANT, SEALER) == stored.output
