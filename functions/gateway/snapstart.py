"""SnapStart restore hooks: what one snapshot must not hand to every instance restored from it.

Lambda snapshots a function once it has initialized (imports and the app, nothing more: clients, credentials,
the provider secret and upstream connections are all made on the first request, after the restore) and starts
each new instance from that snapshot. What init leaves behind is therefore shared by every copy. The gateway's
ids, nonces and keys come from the kernel (``secrets``, ``os.urandom``), which Lambda keeps unique per restore;
the ``random`` module's generator is the one state init seeds and every copy would replay (botocore draws its
retry jitter from it), so the hook reseeds it from the kernel.

Two ways in, one hook:
- the ``api`` and ``worker`` functions run under Lambda's Python runtime, whose ``snapshot_restore_py`` library
  (present in the managed runtime, absent elsewhere) calls what ``register()`` gives it;
- ``api-stream`` runs uvicorn under the Lambda Web Adapter, a separate process the runtime never enters: the
  adapter POSTs to the app at ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH`` after a restore and before any request,
  and ``install()`` adds that route when the variable is set.
"""

from __future__ import annotations

import logging
import os
import random

from fastapi import FastAPI, Response

logger = logging.getLogger("gateway.snapstart")

AFTER_RESTORE_PATH_VARIABLE = "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"


def after_restore() -> None:
    """Give this copy its own pseudo-random sequence."""
    random.seed()  # from os.urandom
    logger.debug("restored from a SnapStart snapshot: random reseeded")


def register() -> bool:
    """Register ``after_restore`` with the managed runtime's hook library; False where there is none (locally,
    in tests, under the web adapter)."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    register_after_restore(after_restore)
    return True


def install(app: FastAPI) -> None:
    """Add the web adapter's after-restore route, only when the adapter is configured to call one."""
    path = os.environ.get(AFTER_RESTORE_PATH_VARIABLE)
    if not path:
        return

    async def restored() -> Response:
        after_restore()
        return Response(status_code=204)

    # Not in the schema and not under /v1: API Gateway routes nothing here, and the adapter answers 403 itself
    # to any outside request for this path.
    app.add_api_route(path, restored, methods=["POST"], include_in_schema=False)
