"""WebSocket mode on AWS: API Gateway's WebSocket API calls ``handler`` for ``$connect``, ``$default`` and
``$disconnect``, and the turns queue calls it for each ``response.create``.

- ``$connect`` checks the bearer key as the local upgrade does (a refusal is the HTTP status and OpenAI's
  envelope, before any frame) and keeps the connection's principal in the table (``ws_connections.py``).
- ``$default`` reads the frame (``api/ws_frames.py``): a bad one, a steer or one over the 128 KB limit is
  answered with one error frame; a ``response.create`` is sent to an SQS FIFO queue with ``MessageGroupId =
  <connection>#<stream_id>``. API Gateway gives an integration 29 s, far less than a turn, and FIFO groups give
  exactly the protocol's lanes: each lane in order, lanes side by side, for free and across function instances
  (a Lambda async invoke of itself would not keep a lane's order). ``messageId`` deduplicates a redelivery.
- a queued turn runs through ``Turns`` as locally, its events posted back through the connection management
  API (``@connections``), deltas coalesced (``ws_frames_out.py``); the ``store: false`` cache lives in the table
  between turns (``ws_cache_table.py``). Past the connection's 60 minutes the turn is refused with
  ``websocket_connection_limit_reached`` and the connection deleted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from gateway import snapstart
from gateway.api import errors
from gateway.api.routes.websocket import NAMED_LANES
from gateway.api.ws_frames import CREATE, error_frame, read_create, read_frame
from gateway.api.ws_turn import Turns
from gateway.errors import GatewayError, InvalidRequestError, ServerError
from gateway.handlers.ws_cache_table import TableCache
from gateway.handlers.ws_connections import Connection, Connections
from gateway.handlers.ws_frames_out import FRAME_BYTES, Coalescer, too_large_frame
from gateway.sealing_keys import SealerLoader

if TYPE_CHECKING:
    from gateway.api.deps import Services

logger = logging.getLogger("gateway.websocket")
snapstart.register()
OK = {"statusCode": 200}


class Runtime:
    """The process's services, clients and event loop, built by the first invocation."""

    def __init__(self, services: Services) -> None:
        import boto3

        self.services = services
        settings = services.settings
        self.loop = asyncio.new_event_loop()
        self.dynamodb = boto3.client("dynamodb", region_name=settings.aws_region)
        self.connections = Connections(self.dynamodb, settings.table_name)
        self.sqs = boto3.client("sqs", region_name=settings.aws_region)
        self.sealer = SealerLoader(settings)  # seals the store:false cache kept in the table
        self._management: dict[str, Any] = {}

    def management(self, endpoint: str) -> Any:
        """The connection management API client of one API stage (``https://<api>.execute-api.<region>…/<stage>``)."""
        client = self._management.get(endpoint)
        if client is None:
            import boto3

            client = self._management[endpoint] = boto3.client(
                "apigatewaymanagementapi", endpoint_url=endpoint, region_name=self.services.settings.aws_region
            )
        return client

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        if "Records" in event:
            for record in event["Records"]:
                self.loop.run_until_complete(self.settle(json.loads(record["body"])))
            # Never redelivered: a turn's frames are already sent, and a retry would answer it twice.
            return {"batchItemFailures": []}
        context = event["requestContext"]
        route = context["routeKey"]
        if route == "$connect":
            return self.loop.run_until_complete(self.connect(event))
        if route == "$disconnect":
            self.connections.close(context["connectionId"])
            return OK
        try:
            return self.receive(event)
        except Exception:  # the queue or the table failed: the client gets the error as a frame, not API Gateway's
            logger.exception("websocket frame failed")
            self._post(_endpoint(context, self.services.settings.aws_region), context["connectionId"], _SERVER_ERROR)
            return OK

    async def connect(self, event: dict[str, Any]) -> dict[str, Any]:
        context = event["requestContext"]
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        try:
            principal = await self.services.authenticator.principal(headers.get("authorization"))
        except GatewayError as exc:
            reply = errors.envelope(exc.status_code, exc.message, kind=exc.error_type, param=exc.param, code=exc.code)
            return {"statusCode": exc.status_code, "body": bytes(reply.body).decode()}
        self.connections.open(Connection(context["connectionId"], principal, context["connectedAt"] / 1000))
        return OK

    def receive(self, event: dict[str, Any]) -> dict[str, Any]:
        """One client frame: queued when a create, else answered here (or not at all)."""
        context = event["requestContext"]
        connection_id = context["connectionId"]
        endpoint = _endpoint(context, self.services.settings.aws_region)
        raw = event.get("body") or ""
        data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()
        if len(data) > FRAME_BYTES:
            self._post(endpoint, connection_id, too_large_frame("This message", status=413))
            return OK
        try:
            frame = read_frame(data)
        except GatewayError as exc:
            self._post(endpoint, connection_id, error_frame(exc))
            return OK
        if frame.type == "response.steer":
            refusal = InvalidRequestError(
                "Steering (response.steer) is not supported: send a response.create with previous_response_id.",
                param="type",
                code="unsupported_event",
            )
            self._post(endpoint, connection_id, error_frame(refusal, frame.stream_id))
        elif frame.type == CREATE:
            if frame.stream_id is not None and not self.connections.add_lane(
                connection_id, frame.stream_id, NAMED_LANES
            ):
                refusal = InvalidRequestError(
                    f"This connection already uses {NAMED_LANES} stream_id values: open another connection.",
                    code="websocket_stream_limit_reached",
                )
                self._post(endpoint, connection_id, error_frame(refusal, frame.stream_id))
                return OK
            lane = frame.stream_id or ""
            self.sqs.send_message(
                QueueUrl=self.services.settings.websocket_queue_url or "",
                MessageGroupId=f"{connection_id}#{lane}",
                MessageDeduplicationId=str(context.get("messageId") or f"{connection_id}#{time.time_ns()}"),
                # UTF-8 as received (not \u escapes, up to 6 bytes a character): a 128 KB frame stays far below
                # SQS's 256 KB message.
                MessageBody=json.dumps(
                    {
                        "connection": connection_id,
                        "endpoint": endpoint,
                        "stream_id": frame.stream_id,
                        "body": frame.body,
                    },
                    ensure_ascii=False,
                ),
            )
        return OK

    async def settle(self, message: dict[str, Any]) -> None:
        """Run one queued turn; whatever fails around it (the table, the queue) is one error frame to the client,
        who may send the create again, rather than a lane blocked until SQS gives up on the message."""
        try:
            await self.turn(message)
        except _ClientGoneError:
            logger.info("the client went away before its turn was answered")
        except Exception:
            logger.exception("websocket turn failed")
            await asyncio.to_thread(
                self._post,
                message["endpoint"],
                message["connection"],
                error_frame(ServerError(), message["stream_id"]),
            )

    async def turn(self, message: dict[str, Any]) -> None:
        connection_id, endpoint, lane = message["connection"], message["endpoint"], message["stream_id"]
        connection = self.connections.get(connection_id)
        if connection is None:
            logger.info("dropping a turn of a closed connection")
            return

        async def post(text: str) -> None:
            if not await asyncio.to_thread(self._post, endpoint, connection_id, text):
                raise _ClientGoneError  # stops the run: its upstream call ends, as for an abandoned stream

        settings = self.services.settings
        if time.time() - connection.connected_at >= settings.websocket_max_seconds:
            limit = InvalidRequestError(
                f"This WebSocket connection reached its limit of {settings.websocket_max_seconds / 60:g} minutes: "
                "open a new connection to continue.",
                code="websocket_connection_limit_reached",
            )
            await post(error_frame(limit, lane))
            await asyncio.to_thread(self._disconnect, endpoint, connection_id)
            return
        principal = connection.principal
        sealer = await self.sealer.get()
        scoped, cache = self.services.responses.reading_through(
            lambda store: TableCache(store, principal.tenant, self.dynamodb, settings.table_name, connection_id, sealer)
        )
        await cache.load()
        turns = Turns(scoped, cache, principal.tenant, principal, settings.ttl_days * 86_400)
        out = Coalescer(post)
        try:
            await self._answer(turns, cache, message["body"], lane, out)
            await out.close()
        except _ClientGoneError:
            logger.info("the client went away during a response: it was stopped")
        await cache.save()

    async def _answer(
        self, turns: Turns, cache: TableCache, body: dict[str, Any], lane: str | None, out: Coalescer
    ) -> None:
        try:
            create = read_create(body)
        except GatewayError as exc:
            previous = body.get("previous_response_id")
            cache.evict(previous if isinstance(previous, str) else None, lane)
            await out.send(error_frame(exc, lane))
            return
        try:
            await turns.run(create, lane, out.send)
        except _ClientGoneError:
            raise
        except Exception:
            logger.exception("websocket response.create failed")
            await out.send(error_frame(ServerError(), lane))

    def _post(self, endpoint: str, connection_id: str, text: str) -> bool:
        """Send one frame; False when the client is gone."""
        client = self.management(endpoint)
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=text.encode())
        except client.exceptions.GoneException:
            return False
        return True

    def _disconnect(self, endpoint: str, connection_id: str) -> None:
        client = self.management(endpoint)
        with contextlib.suppress(client.exceptions.GoneException):  # already gone: nothing to close
            client.delete_connection(ConnectionId=connection_id)


class _ClientGoneError(Exception):
    """The connection closed while its response ran (``GoneException`` from ``@connections``)."""


_SERVER_ERROR = error_frame(ServerError())


def _endpoint(context: dict[str, Any], region: str) -> str:
    """The API's own endpoint, not the domain the client used: behind a custom domain, ``@connections`` is still
    reached at execute-api."""
    return f"https://{context['apiId']}.execute-api.{region}.amazonaws.com/{context['stage']}"


_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        from gateway.api.deps import build_services

        _runtime = Runtime(build_services())
    return _runtime


def reset() -> None:
    """Forget the process's runtime (tests: the next invocation is a cold start with fresh settings)."""
    global _runtime
    if _runtime is not None:
        _runtime.loop.close()
    _runtime = None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return runtime().handle(event)
