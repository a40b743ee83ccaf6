"""The AWS SDK the bundle ships, cut down to the services the gateway calls.

The Lambda runtime's own boto3 is not ours to rely on: AWS does not say which version a runtime carries, and
Bedrock fields the gateway sends (``outputConfig``, ``toolSpec.strict``: botocore 1.42.42; ``serviceTier``:
1.40.76) make an older copy fail with "Unknown parameter in input". So boto3 and botocore ship in the bundle,
pinned like every other dependency, and botocore's ``data/`` folder (one model per AWS service, about 28 MB
installed for some 450 services) keeps only the services below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SDK_DISTRIBUTIONS = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
"""boto3 and what it imports; they ship in the bundle, trimmed by ``trim_sdk``."""

SERVICES = frozenset({"apigatewaymanagementapi", "bedrock-runtime", "dynamodb", "s3", "sqs", "secretsmanager", "sts"})
"""Every client the gateway creates (``boto3.client(...)`` in ``functions/gateway``, and pydantic-settings'
Secrets Manager source), plus STS, which botocore's credential chain calls for assume-role and web-identity
credentials."""


def trim_sdk(root: Path) -> list[str]:
    """Remove every botocore service model not in ``SERVICES`` and boto3's resource models (the gateway uses
    clients only) from the staged bundle at ``root``; return the services kept, which must be all of them."""
    data = root / "botocore" / "data"
    if not data.is_dir():
        raise SystemExit(f"{data} not found: botocore must ship in the bundle")
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in SERVICES:
            shutil.rmtree(entry)
    shutil.rmtree(root / "boto3" / "data", ignore_errors=True)
    kept = sorted(entry.name for entry in data.iterdir() if entry.is_dir())
    missing = SERVICES - set(kept)
    if missing:
        raise SystemExit(f"botocore in the bundle has no model for {sorted(missing)}")
    return kept
