"""cdk-nag (AwsSolutions) and cfn-lint on the synthesized templates."""

from __future__ import annotations

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.template import Synthesized

pytestmark = pytest.mark.infra


def _acknowledgements(stage: Synthesized) -> dict[str, str]:
    """Every acknowledged finding (construct path + rule) with its reason."""
    found = {}
    for path, entries in stage.metadata.items():
        for entry in entries:
            if entry["type"] == "aws:cdk:acknowledged-rules":
                found.update({f"{path} {rule}": reason for rule, reason in entry["data"].items()})
    return found


def test_cdk_nag_findings_are_all_acknowledged_with_a_written_reason(stage: Synthesized) -> None:
    # The session fixture has already failed on any unacknowledged finding; here, each reason must say why.
    acknowledged = _acknowledgements(stage)

    assert acknowledged, "expected the documented acknowledgements (APIG2/3/4, COG4, IAM4/5, S1, SMG4)"
    for finding, reason in acknowledged.items():
        assert len(reason.split()) >= 12, f"{finding}: a reason should explain the decision, got {reason!r}"


def test_cfn_lint_is_clean(stage: Synthesized) -> None:
    # W3005 flags DependsOn entries CDK itself adds next to a GetAtt; nothing else is tolerated.
    matches = lint_file(stage.path, ManualArgs(ignore_checks=["W3005"]))
    assert not matches, "\n".join(str(match) for match in matches)
