"""SnapStart restore hooks: what one snapshot must not hand to every instance restored from it.

Lambda snapshots a function once it has initialized (imports and the app, nothing more: clients, credentials,
the provider secret and upstream connections are all made on the first request, after the restore) and starts
each new instance from that snapshot. What init leaves behind is therefore shared by every copy. The gateway's
ids, nonces and keys are drawn from the kernel (``secrets``, ``os.urandom``) when they are needed, never from
state made at init; the ``random`` module's generator is the one state init seeds and every copy would replay
(botocore draws its retry jitter from it), so the hook reseeds it from the kernel.

Two ways in, one hook:
- the ``api`` and ``worker`` functions run under Lambda's Python runtime, whose ``snapshot_restore_py`` library
  (present in the managed runtime, absent elsewhere) calls what ``register()`` gives it;
- ``api-stream`` runs uvicorn under the Lambda Web Adapter, a separate process the runtime never enters: the
  adapter POSTs to the app at ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`` after a restore and before any request,
  and ``install()`` adds that route when the variable is set.

Both also ``prepare()`` when Lambda initializes a version to snapshot it: what the first request would import or
load then happens once, before the snapshot, instead of in every restored instance.
"""

from __future__ import annotations

import logging
import os
import random

from fastapi import FastAPI, Response

logger = logging.getLogger("gateway.snapstart")

AFTER_RESTORE_PATH_VARIABLE = "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"
SNAPSHOT_INIT = "snap-start"
"""``AWS_LAMBDA_INITIALIZATION_TYPE`` while Lambda initializes a version to snapshot it."""
_NOT_PRELOADED = ("gateway.dev", "gateway.handlers", "gateway.keys")
"""The local server (moto is not in the bundle), the entry points, and the keys command line."""
_CLIENT_MODELS = ("dynamodb", "s3", "sqs", "secretsmanager", "bedrock-runtime")
"""The services the gateway makes clients for: their models are read from JSON once, before the snapshot."""


def after_restore() -> None:
    """Give this copy its own pseudo-random sequence."""
    random.seed()  # from os.urandom
    logger.debug("restored from a SnapStart snapshot: random reseeded")


def snapshotting() -> bool:
    """Whether this init is the one Lambda snapshots (SnapStart), not an on-demand cold start."""
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == SNAPSHOT_INIT


def prepare() -> None:
    """Import every module of the gateway and what they import (boto3, the stores, the providers, aiohttp,
    cryptography), and parse the service models of the clients the first request makes. No client, credential,
    secret or connection is made: those belong to each restored instance. On a 2-core machine with Python 3.13
    this takes the first request's setup from about 580 ms (200 ms with bytecode) to about 40 ms."""
    import importlib
    import pkgutil

    import boto3

    import gateway

    for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
        if not module.name.startswith(_NOT_PRELOADED):
            importlib.import_module(module.name)
    # The session boto3.client() uses (it resolves no credentials until a client is made), and botocore's under
    # it, whose loader caches what it parses.
    default = boto3.DEFAULT_SESSION or boto3.session.Session()
    boto3.DEFAULT_SESSION = default
    session = default._session
    loader = session.get_component("data_loader")
    for service in _CLIENT_MODELS:
        session.get_service_model(service)
        loader.load_service_model(service, "endpoint-rule-set-1")


def register() -> bool:
    """At the runtime's init: ``prepare()`` if Lambda is about to snapshot, and register ``after_restore`` with
    the managed runtime's hook library. False where there is no such library (locally, in tests)."""
    if snapshotting():
        prepare()
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    register_after_restore(after_restore)
    return True


def install(app: FastAPI) -> None:
    """Under the web adapter with SnapStart hooks: add the after-restore route (and ``prepare()`` when Lambda is
    about to snapshot). Elsewhere, nothing."""
    path = os.environ.get(AFTER_RESTORE_PATH_VARIABLE)
    if not path:
        return
    if snapshotting():
        prepare()

    async def restored() -> Response:
        after_restore()
        return Response(status_code=204)

    # Not in the schema and not under /v1: API Gateway routes nothing here, and the adapter answers 403 itself
    # to any outside request for this path.
    app.add_api_route(path, restored, methods=["POST"], include_in_schema=False)
