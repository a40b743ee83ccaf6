"""``make keys ARGS="create --tenant acme"``: ``python -m gateway.keys`` against a deployed stack's table.

The table name comes from the stack's ``TableName`` output; credentials and region come from the standard AWS
chain (``AWS_PROFILE``, ``AWS_REGION``, ...), the same ones ``make deploy`` used.
"""

from __future__ import annotations

import argparse
import os

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from gateway_infra.config import stage_config


def stack_output(session: boto3.session.Session, stack_name: str, key: str) -> str:
    """One output of a deployed stack; exits with a hint when the stack or the output is missing."""
    try:
        [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except BotoCoreError as exc:  # no credentials, no region, no network
        raise SystemExit(f"cannot reach AWS: {exc} (set AWS_PROFILE / AWS_REGION as for `make deploy`)") from exc
    except ClientError as exc:
        raise SystemExit(f"cannot read stack {stack_name}: {exc}; deploy it first with `make deploy`") from exc
    outputs = {output["OutputKey"]: str(output["OutputValue"]) for output in stack.get("Outputs", [])}
    if key not in outputs:
        raise SystemExit(f"stack {stack_name} has no {key} output; redeploy it with `make deploy`")
    return outputs[key]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make keys", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", help="deployed stage (default: dev)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="gateway.keys arguments: create | list | revoke")
    options = parser.parse_args(argv)

    # botocore reads AWS_DEFAULT_REGION and the profile, not AWS_REGION, which the CDK CLI and the app honour.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION"))
    table = stack_output(session, stage_config(options.stage).stack_name, "TableName")
    os.environ["RESPONSES_TABLE_NAME"] = table
    # Settings reads the region from the environment only; a region set in a profile must reach it too.
    if session.region_name:
        os.environ.setdefault("AWS_REGION", session.region_name)

    from gateway.keys import main as keys_main  # after the environment is set: settings are read on first use

    return keys_main(options.args)


if __name__ == "__main__":
    raise SystemExit(main())
