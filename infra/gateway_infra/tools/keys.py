"""``make keys ARGS="create --tenant acme"``: ``python -m gateway.keys`` against the running ``make run`` or a
deployed stack's table.

With no ``STAGE`` named and a ``make run`` running in this directory, the keys are that server's (its moto
table, found through ``.local/server.json``). Otherwise the table is the ``TableName`` output of the stage's stack
(``STAGE=dev`` by default); credentials and region come from the standard AWS chain (``AWS_PROFILE``,
``AWS_REGION``, ...), the same ones ``make deploy`` used. Needs neither the CDK nor its CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from gateway_infra.config import stage_config

if TYPE_CHECKING:
    import boto3


class NoStack(Exception):
    """The stage's stack cannot be read: the message says what to do."""


def stack_output(session: boto3.session.Session, stack_name: str, key: str) -> str:
    """One output of a deployed stack; ``NoStack`` with a hint when the stack or the output is missing."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except BotoCoreError as exc:  # no credentials, no region, no network
        raise NoStack(f"cannot reach AWS: {exc} (set AWS_PROFILE / AWS_REGION as for `make deploy`)") from None
    except ClientError as exc:
        raise NoStack(f"cannot read stack {stack_name}: {exc}; deploy it first with `make deploy`") from None
    outputs = {output["OutputKey"]: str(output["OutputValue"]) for output in stack.get("Outputs", [])}
    if key not in outputs:
        raise NoStack(f"stack {stack_name} has no {key} output; redeploy it with `make deploy`")
    return outputs[key]


def _local_server_running() -> bool:
    from gateway.dev.state import NoLocalServer, running_server

    try:
        running_server()
    except NoLocalServer:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make keys", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", help="a deployed stage (dev, prod); default: the running make run, else dev")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="gateway.keys arguments: create | list | revoke")
    options = parser.parse_args(argv)

    from gateway.keys import main as keys_main  # reads settings on first use, after the environment is set

    if options.stage is None and ("--local" in options.args or _local_server_running()):
        return keys_main(["--local", *(arg for arg in options.args if arg != "--local")])

    import boto3

    # botocore reads AWS_DEFAULT_REGION and the profile, not AWS_REGION, which the CDK CLI and the app honour.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION"))
    stack_name = stage_config(options.stage or "dev").stack_name
    try:
        table = stack_output(session, stack_name, "TableName")
    except NoStack as exc:
        hint = (
            ""
            if options.stage
            else " (STAGE=dev by default; no `make run` is running here either: start it for local keys)"
        )
        sys.stderr.write(f"error: {exc}{hint}\n")
        return 1
    os.environ["RESPONSES_TABLE_NAME"] = table
    # Settings reads the region from the environment only; a region set in a profile must reach it too.
    if session.region_name:
        os.environ.setdefault("AWS_REGION", session.region_name)
    return keys_main(options.args)


if __name__ == "__main__":
    raise SystemExit(main())
