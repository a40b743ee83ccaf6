"""Per-key limits, token budgets and the usage ledger through the app (RESPONSES_DEFAULT_LIMITS, admin keys).

Limits are enforced with conditional DynamoDB updates (``store/usage.py``). DynamoDB applies the updates of one
item one at a time; moto does not lock, so the concurrency tests give moto that guarantee (``atomic_items``) and
then prove the gateway's own logic never lets more than the limit through.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend

from tests.background import FAST, REGION, Background, background
from tests.conftest import BUCKET, AppFactory
from tests.fakes.upstream import FakeUpstream, error_reply, text_reply, usage_chunk

__all__ = ["background"]
ACME, GLOBEX, ADMIN = "key-acme", "key-globex", "key-admin"
KEYS = {"api_keys": f"acme:{ACME},globex:{GLOBEX}", "admin_keys": f"ops:{ADMIN}"}
BODY = {"model": "gpt-4o-mini", "input": "hi"}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@pytest.fixture
def atomic_items(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.RLock()  # moto's transaction applies its updates through update_item
    for name in ("update_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def test_the_sixth_request_in_a_minute_is_a_429_and_another_key_is_unaffected(make_client: AppFactory) -> None:
    client = make_client(**KEYS, default_limits="rpm=5")
    replies = [client.post("/v1/responses", json=BODY, headers=bearer(ACME)) for _ in range(6)]

    assert [reply.status_code for reply in replies] == [200] * 5 + [429]
    assert [reply.headers["x-ratelimit-remaining-requests"] for reply in replies[:5]] == ["4", "3", "2", "1", "0"]
    assert all(reply.headers["x-ratelimit-limit-requests"] == "5" for reply in replies)
    refused = replies[5]
    error = refused.json()["error"]
    assert (error["code"], error["type"]) == ("rate_limit_exceeded", "requests")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.headers["x-ratelimit-reset-requests"].endswith("s")
    assert client.post("/v1/responses", json=BODY, headers=bearer(GLOBEX)).status_code == 200


def test_tokens_per_minute_hold_a_queued_background_response_until_it_settles(
    make_client: AppFactory, upstream: FakeUpstream
) -> None:
    harness = limited(make_client, upstream, "tpm=1000")
    queued = harness.create(model="gpt-4o-mini", max_output_tokens=900)
    assert queued["status"] == "queued"

    refused = harness.client.post("/v1/responses", json={**BODY, "max_output_tokens": 900})

    assert refused.status_code == 429
    assert (refused.json()["error"]["type"], refused.headers["x-ratelimit-limit-tokens"]) == ("tokens", "1000")
    harness.drain()  # the worker settles the queued response at its real usage (11 + 7 tokens)
    after = harness.client.post("/v1/responses", json={**BODY, "max_output_tokens": 900})
    assert after.status_code == 200, after.text


def limited(make_client: AppFactory, upstream: FakeUpstream, limits: str) -> Background:
    queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="jobs")["QueueUrl"]
    overrides: dict[str, Any] = {"queue_url": queue_url, "payload_bucket": BUCKET, **FAST, "default_limits": limits}
    return Background(make_client(**overrides), queue_url, upstream, overrides)


def test_a_spent_daily_budget_is_insufficient_quota(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(**KEYS, default_limits="tokens_per_day=50")
    statuses = []
    for _ in range(4):  # 18 tokens each (usage_chunk's 11 + 7): 18, 36, 54, then the budget is spent
        statuses.append(client.post("/v1/responses", json=BODY, headers=bearer(ACME)))
    assert [reply.status_code for reply in statuses] == [200, 200, 200, 429]
    error = statuses[3].json()["error"]
    assert (error["code"], error["type"]) == ("insufficient_quota", "insufficient_quota")
    assert len(upstream.requests) == 3  # refused before the upstream call
    assert client.post("/v1/responses", json=BODY, headers=bearer(GLOBEX)).status_code == 200


def test_a_streamed_request_over_the_limit_is_refused_before_the_stream(make_client: AppFactory) -> None:
    client = make_client(**KEYS, default_limits="rpm=1")
    assert client.post("/v1/responses", json={**BODY, "stream": True}, headers=bearer(ACME)).status_code == 200
    refused = client.post("/v1/responses", json={**BODY, "stream": True}, headers=bearer(ACME))
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/json"


def test_concurrent_requests_never_pass_the_limit(
    make_client: AppFactory, upstream: FakeUpstream, atomic_items: None
) -> None:
    client = make_client(**KEYS, default_limits="rpm=7")
    upstream.will(*[text_reply("ok", delay=0.01) for _ in range(40)])

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda _: client.post("/v1/responses", json=BODY, headers=bearer(ACME)), range(40)))

    assert sorted(reply.status_code for reply in replies) == [200] * 7 + [429] * 33
    assert len(upstream.requests) == 7


def test_concurrent_budget_holds_across_streamed_buffered_and_background(
    make_client: AppFactory, upstream: FakeUpstream, atomic_items: None
) -> None:
    # A budget already spent but for 1 token: of twelve requests at once, in every mode, exactly one runs.
    harness = limited(make_client, upstream, "tokens_per_day=19")
    assert harness.client.post("/v1/responses", json=BODY).status_code == 200  # 18 tokens spent
    bodies = [{**BODY, **mode} for mode in ({}, {"stream": True}, {"background": True}) * 4]

    with ThreadPoolExecutor(max_workers=12) as pool:
        replies = list(pool.map(lambda body: harness.client.post("/v1/responses", json=body), bodies))

    assert sorted(reply.status_code for reply in replies) == [200] + [429] * 11
    assert all(r.json()["error"]["code"] == "insufficient_quota" for r in replies if r.status_code == 429)


def test_the_ledger_equals_the_sum_of_the_responses_usage(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(**KEYS)
    upstream.will(
        text_reply("a", usage=usage_chunk(prompt=100, completion=20, cached=40)),
        text_reply("b", usage=usage_chunk(prompt=50, completion=5, reasoning=3)),
        text_reply("c", usage=usage_chunk(prompt=7, completion=1)),
    )
    usages = [
        client.post("/v1/responses", json=body, headers=bearer(key)).json()["usage"]
        for body, key in ((BODY, ACME), ({**BODY, "stream": False}, ACME), ({**BODY, "model": "other"}, GLOBEX))
    ]
    start = int(time.time()) - 60

    page = client.get(
        "/v1/organization/usage/completions",
        params={"start_time": start, "bucket_width": "1d", "group_by[]": ["project_id", "model"], "limit": 1},
        headers=bearer(ADMIN),
    )

    assert page.status_code == 200, page.text
    body = page.json()
    assert body["object"] == "page" and body["has_more"] is False and body["next_page"] is None
    (bucket,) = body["data"]
    assert bucket["object"] == "bucket" and bucket["start_time"] <= start < bucket["end_time"]
    results = {(r["project_id"], r["model"]): r for r in bucket["results"]}
    acme = results[("acme", "gpt-4o-mini")]
    assert acme["num_model_requests"] == 2
    assert acme["input_tokens"] == usages[0]["input_tokens"] + usages[1]["input_tokens"] == 150
    assert acme["output_tokens"] == usages[0]["output_tokens"] + usages[1]["output_tokens"] == 25
    assert acme["input_cached_tokens"] == 40 and acme["input_uncached_tokens"] == 110
    assert acme["object"] == "organization.usage.completions.result" and acme["api_key_id"] is None
    assert results[("globex", "other")]["input_tokens"] == usages[2]["input_tokens"] == 7


def test_the_usage_api_by_hour_filtered_by_key(make_client: AppFactory) -> None:
    client = make_client(**KEYS)
    client.post("/v1/responses", json=BODY, headers=bearer(ACME))
    client.post("/v1/responses", json=BODY, headers=bearer(GLOBEX))
    now = int(time.time())
    hour = now - now % 3600
    keys = client.get(
        "/v1/organization/usage/completions",
        params={"start_time": hour - 3600, "bucket_width": "1h", "group_by": "api_key_id"},
        headers=bearer(ADMIN),
    ).json()
    (results,) = [bucket["results"] for bucket in keys["data"] if bucket["start_time"] == hour]
    assert len(results) == 2 and all(r["num_model_requests"] == 1 for r in results)
    one = results[0]["api_key_id"]
    only = client.get(
        "/v1/organization/usage/completions",
        params={"start_time": hour, "bucket_width": "1h", "api_key_ids[]": one},
        headers=bearer(ADMIN),
    ).json()
    assert [bucket["results"][0]["num_model_requests"] for bucket in only["data"][:1]] == [1]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({}, "start_time"),
        ({"start_time": 0, "bucket_width": "1m"}, "bucket_width"),
        ({"start_time": 0, "limit": 40}, "limit"),
    ],
)
def test_usage_api_errors(make_client: AppFactory, params: dict[str, Any], param: str) -> None:
    client = make_client(**KEYS)
    reply = client.get("/v1/organization/usage/completions", params=params, headers=bearer(ADMIN))
    assert reply.status_code == 400 and reply.json()["error"]["param"] == param


def test_the_usage_api_needs_an_admin_key(make_client: AppFactory) -> None:
    client = make_client(**KEYS)
    reply = client.get("/v1/organization/usage/completions", params={"start_time": 0}, headers=bearer(ACME))
    assert reply.status_code == 403
    assert reply.json()["error"]["code"] == "insufficient_permissions"


def test_a_refused_upstream_call_gives_its_tokens_back(make_client: AppFactory, upstream: FakeUpstream) -> None:
    client = make_client(**KEYS, default_limits="tpm=5000")
    upstream.will(error_reply(400, "bad request"))
    refused = client.post("/v1/responses", json={**BODY, "max_output_tokens": 4000}, headers=bearer(ACME))
    assert refused.status_code == 400
    # Had the 4000 reserved tokens stayed, this one would not fit the minute.
    assert (
        client.post("/v1/responses", json={**BODY, "max_output_tokens": 4000}, headers=bearer(ACME)).status_code == 200
    )


def test_bad_default_limits_fail_at_start_up() -> None:
    from gateway.domain.limits import parse_limits

    with pytest.raises(ValueError, match="rpm=N"):
        parse_limits("rpm:5")
    with pytest.raises(ValueError, match="at least 1"):
        parse_limits("tpm=0")
    assert parse_limits("rpm=60, tpd=10").tokens_per_day == 10


def test_cancelling_a_queued_response_gives_its_tokens_back(make_client: AppFactory, upstream: FakeUpstream) -> None:
    harness = limited(make_client, upstream, "tpm=1000")
    queued = harness.create(model="gpt-4o-mini", max_output_tokens=900)
    assert harness.client.post("/v1/responses", json={**BODY, "max_output_tokens": 900}).status_code == 429

    assert harness.client.post(f"/v1/responses/{queued['id']}/cancel").json()["status"] == "cancelled"

    assert harness.client.post("/v1/responses", json={**BODY, "max_output_tokens": 900}).status_code == 200
