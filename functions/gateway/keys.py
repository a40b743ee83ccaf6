"""``python -m gateway.keys``: create, list and revoke API keys, set their limits, and read the usage ledger.

The key itself is printed once at creation; only its SHA-256 hash is stored. ``--local`` manages the keys of a
running ``make run`` (its in-memory moto table); otherwise the table is ``RESPONSES_TABLE_NAME`` in the AWS
account of the standard credential chain (``make keys`` finds a deployed stage's table itself).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from gateway.store.keys import DynamoKeyStore


class CommandError(Exception):
    """A failure the user can fix, said in one line (never a traceback)."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The gateway's log lines (a settings failure logs its cause) would come out through logging's last-resort
    # handler as a second line: the one error line below says it all.
    logging.getLogger("gateway").addHandler(logging.NullHandler())
    try:
        local = _local_server() if args.local else None
        return _run(args, local)
    except CommandError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except Exception as exc:  # anything unforeseen still ends in one line, never a traceback
        sys.stderr.write(f"error: {type(exc).__name__}: {exc}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.keys", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--local", action="store_true", help="the keys of the running `make run` (its moto table)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key for a tenant and print it once")
    create.add_argument("--tenant", required=True)
    _limit_options(create)
    create.add_argument("--admin", action="store_true", help="may also read the Usage API")
    commands.add_parser("list", help="list keys (ids, tenants, dates, limits; never the keys)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    limits = commands.add_parser("limits", help="set a key's own limits (those left out: RESPONSES_DEFAULT_LIMITS)")
    limits.add_argument("key_id")
    _limit_options(limits)
    usage = commands.add_parser("usage", help="tokens used by tenant, key and model, a row per UTC day")
    usage.add_argument("--days", type=int, default=1, help="how many days back, today included (default 1)")
    return parser


def _limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpm", type=_positive, help="requests per minute")
    parser.add_argument("--tpm", type=_positive, help="tokens per minute")
    parser.add_argument("--tokens-per-day", type=_positive, help="tokens per UTC day")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _local_server() -> str:
    """Point this process at the running ``make run``'s table; returns the server's URL."""
    from gateway.dev.state import NoLocalServer, running_server

    try:
        server = running_server()
    except NoLocalServer as exc:
        raise CommandError(str(exc)) from None
    server.use()
    return server.url


def _run(args: argparse.Namespace, local: str | None) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError
    from pydantic import ValidationError

    from gateway.provider_secret import ProviderSecretError
    from gateway.settings import get_settings
    from gateway.store.keys import DynamoKeyStore

    get_settings.cache_clear()  # ``--local`` has just pointed the environment at make run's table
    try:
        settings = get_settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        raise CommandError(f"invalid setting {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    except ProviderSecretError as exc:  # keys need no upstream credentials, but the settings read them
        raise CommandError(f"{exc.reason}; unset it to manage keys") from None
    where = f"the table of make run at {local}" if local else f"table {settings.table_name} in {settings.aws_region}"
    try:
        store = DynamoKeyStore(settings.table_name, boto3.client("dynamodb", region_name=settings.aws_region))
        return _command(args, store, where, sys.stdout)
    except ValueError as exc:  # the store's own check of a tenant name
        raise CommandError(str(exc)) from None
    except ClientError as exc:
        raise CommandError(_client_error(exc, where)) from None
    except BotoCoreError as exc:
        raise CommandError(_botocore_error(exc)) from None


def _command(args: argparse.Namespace, store: DynamoKeyStore, where: str, out: TextIO) -> int:
    from gateway.domain.limits import Limits

    if args.command == "create":
        limits = Limits(args.rpm, args.tpm, args.tokens_per_day)
        key, record = store.create(args.tenant, limits, admin=args.admin)
        out.write(f"key id: {record.key_id}\ntenant: {record.tenant}\n{key}\n")
        if limits.any or args.admin:
            out.write(f"limits: {limits.text() or 'the default'}{'; admin' if args.admin else ''}\n")
        out.write(f"Store this key now: it is not shown again. (Created in {where}.)\n")
    elif args.command == "list":
        for record in store.list():
            created = datetime.fromtimestamp(record.created_at, UTC).isoformat(timespec="seconds")
            state = "revoked" if record.revoked else "active"
            extra = f"  {record.limits.text()}" if record.limits.any else ""
            out.write(
                f"{record.key_id}  {record.tenant:<24} {created}  {state}{' admin' if record.admin else ''}{extra}\n"
            )
    elif args.command == "limits":
        limits = Limits(args.rpm, args.tpm, args.tokens_per_day)
        if not store.set_limits(args.key_id, limits):
            raise CommandError(f"no key with id {args.key_id} in {where} (`list` shows the ids)")
        out.write(f"{args.key_id}: {limits.text() or 'the default limits (RESPONSES_DEFAULT_LIMITS)'}\n")
        out.write("Running instances apply it within RESPONSES_KEY_CACHE_SECONDS (60 s by default).\n")
    elif args.command == "usage":
        _usage(store, args.days, out)
    elif store.revoke(args.key_id):
        out.write(f"revoked {args.key_id}\n")
    else:
        raise CommandError(f"no key with id {args.key_id} in {where} (`list` shows the ids)")
    return 0


def _usage(store: DynamoKeyStore, days: int, out: TextIO) -> None:
    """The ledger's day rows (what ``GET /v1/organization/usage/completions`` reads), as a table."""
    import time

    from gateway.store.usage import DynamoUsage

    usage = DynamoUsage(store.table, store.client)
    today = int(time.time()) // 86_400
    header = (
        f"{'day':<10}  {'tenant':<16} {'key id':<12}  {'model':<32} "
        f"{'requests':>8} {'input':>10} {'cached':>9} {'output':>9}"
    )
    out.write(header + "\n")
    for day in range(today - days + 1, today + 1):
        date = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
        for row in sorted(usage.rows(day, hourly=False), key=lambda r: (r.tenant, r.key_id, r.model)):
            counts = row.counts
            out.write(
                f"{date:<10}  {row.tenant:<16} {row.key_id:<12}  {row.model:<32} {counts['requests']:>8} "
                f"{counts['input_tokens']:>10} {counts['cached_tokens']:>9} {counts['output_tokens']:>9}\n"
            )


def _client_error(exc: Exception, where: str) -> str:
    response = getattr(exc, "response", {})
    code = response.get("Error", {}).get("Code", "")
    message = response.get("Error", {}).get("Message", str(exc))
    if code == "ResourceNotFoundException":
        return (
            f"{where}: the table does not exist. Set RESPONSES_TABLE_NAME and AWS_REGION to a deployed table, "
            "use `make keys` (it reads a deployed stage's table), or --local for `make run`"
        )
    return f"DynamoDB refused the call ({code}): {message}"


def _botocore_error(exc: Exception) -> str:
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError, NoRegionError

    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for a "
            "deployed table, or pass --local for the keys of a running `make run`"
        )
    if isinstance(exc, NoRegionError):
        return "no AWS region: set AWS_REGION"
    if isinstance(exc, EndpointConnectionError):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
        return f"cannot reach DynamoDB{' at ' + endpoint if endpoint else ''}: {exc}"
    return f"AWS call failed: {exc}"


if __name__ == "__main__":
    raise SystemExit(main())
