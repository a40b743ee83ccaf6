"""The deployed stack, locally: every function of the template started as Lambda would start it, requests routed
by the template's REST API methods, the worker fed by its SQS event source mapping."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.deploy import aws
from tests.deploy.events import rest_event, sqs_event
from tests.deploy.lambdas import Adapted, Buffered, environment, free_port, port_free, python_on_path, remap_port
from tests.deploy.template import Deployment, Function, Trigger, resolve
from tests.deploy.variants import Variant

Json = dict[str, Any]
ADAPTER_HANDLER = "run.sh"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    function: str
    """The handler that served it (from the template's routing)."""

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Stack:
    deployment: Deployment
    variant: Variant
    stage: str
    aws_endpoint: str
    provisioned: aws.Provisioned
    functions: dict[str, Buffered | Adapted] = field(default_factory=dict)
    ready: dict[str, Json] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def start(self, work: Path, logs: ExitStack) -> None:
        """Every function at once (their inits are independent, as Lambda's are), each until it is ready."""
        bin_dir = work / "bin"
        python_on_path(self.variant, bin_dir)
        for logical_id, function in self.deployment.functions().items():
            variables = {k: resolve(v, self.provisioned.stand_ins) for k, v in function.environment.items()}
            name = f"responses-gateway-{self.stage}-{logical_id}"
            env = environment(name, function, variables, self.variant, bin_dir, self.aws_endpoint)
            log = logs.enter_context((work / f"{logical_id}.log").open("w"))
            if function.handler.endswith(ADAPTER_HANDLER):
                port = int(env.get("AWS_LWA_PORT") or 8080)
                if not port_free(port):
                    moved = free_port()
                    self.notes.append(f"port {port} is taken on this machine: the adapter and run.sh use {moved}")
                    env = remap_port(env, moved)
                self.functions[logical_id] = Adapted(name, function, env, self.variant, log)
            else:
                self.functions[logical_id] = Buffered(name, function, env, self.variant, log)
        with ThreadPoolExecutor(len(self.functions)) as pool:
            ready = pool.map(lambda item: (item[0], item[1].wait_ready()), self.functions.items())
            self.ready = dict(ready)

    def close(self) -> None:
        for function in self.functions.values():
            function.close()

    def function(self, logical_id: str) -> Function:
        return self.deployment.functions()[logical_id]

    def request(
        self,
        method: str,
        path: str,
        *,
        key: str | None,
        body: Json | None = None,
        query: dict[str, str] | None = None,
    ) -> Reply:
        """One client request through API Gateway: the method it matches, that method's function, the event."""
        route, params = self.deployment.route(method, path)
        headers = {"Accept": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        event = rest_event(route, params, method, path, stage=self.stage, headers=headers, body=body, query=query)
        target = self.functions[route.function]
        handler = self.function(route.function).handler
        if isinstance(target, Adapted):
            response = target.forward(event)
            try:
                text = response.read().decode()
            finally:
                response.close()
            return Reply(response.status_code, dict(response.headers), text, handler)
        result = target.invoke(event)
        raw = result.get("body") or ""
        text = base64.b64decode(raw).decode() if result.get("isBase64Encoded") else raw
        merged = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        merged |= {k.lower(): ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
        return Reply(int(result["statusCode"]), merged, text, handler)

    @property
    def trigger(self) -> Trigger:
        # the worker's: the WebSocket function's turns queue has its own mapping
        [trigger] = [
            t for t in self.deployment.triggers() if self.function(t.function).handler.endswith(".worker.handler")
        ]
        return trigger

    def poll_queue(self, wait_seconds: float = 10) -> tuple[list[Json], Any]:
        """What the SQS event source mapping does once: receive up to its batch size, invoke the function with
        the batch, delete the messages the reply does not list as failed. Returns the batch and the reply."""
        trigger = self.trigger
        sqs = aws.client("sqs", self.aws_endpoint)
        url = self.provisioned.stand_ins[trigger.queue_logical_id]
        deadline, messages = time.monotonic() + wait_seconds, list[Json]()
        while not messages and time.monotonic() < deadline:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=trigger.batch_size,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=1,
            ).get("Messages", [])
        assert messages, "the jobs queue got no message"
        arn = self.provisioned.attributes[(trigger.queue_logical_id, "Arn")]
        reply = self.functions[trigger.function]
        assert isinstance(reply, Buffered)
        result = reply.invoke(sqs_event(messages, arn))
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])} if result else set()
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages, result
