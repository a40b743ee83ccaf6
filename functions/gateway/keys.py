"""``python -m gateway.keys``: create, list and revoke API keys in the gateway's table.

The key itself is printed once at creation; only its SHA-256 hash is stored.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import boto3

from gateway.settings import get_settings
from gateway.store.keys import DynamoKeyStore


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key for a tenant and print it once")
    create.add_argument("--tenant", required=True)
    commands.add_parser("list", help="list keys (ids, tenants, dates; never the keys)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    args = parser.parse_args(argv)

    settings = get_settings()
    store = DynamoKeyStore(settings.table_name, boto3.client("dynamodb", region_name=settings.aws_region))
    out = sys.stdout
    if args.command == "create":
        key, record = store.create(args.tenant)
        out.write(f"key id: {record.key_id}\ntenant: {record.tenant}\n{key}\n")
        out.write("Store this key now: it is not shown again.\n")
    elif args.command == "list":
        for record in store.list():
            created = datetime.fromtimestamp(record.created_at, UTC).isoformat(timespec="seconds")
            state = "revoked" if record.revoked else "active"
            out.write(f"{record.key_id}  {record.tenant:<24} {created}  {state}\n")
    elif not store.revoke(args.key_id):
        sys.stderr.write(f"no key with id {args.key_id}\n")
        return 1
    else:
        out.write(f"revoked {args.key_id}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
