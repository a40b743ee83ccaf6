"""cdk-nag acknowledgements: each finding is accepted on the construct it concerns, with the reason beside it."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Accept each finding id (``AwsSolutions-S1``, ``AwsSolutions-IAM5[Resource::...]``) for its reason."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding, reason in reasons.items())
    )
