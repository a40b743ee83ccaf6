"""The three functions: one asset, arm64, the runtime's Python, SnapStart behind aliases, the web adapter, the SQS
trigger, least privilege."""

from __future__ import annotations

import ast

import pytest
from aws_cdk.assertions import Match

from gateway_infra.config import BUFFERED_TIMEOUT_SECONDS, LWA_LAYER_VERSION, PYTHON_VERSION, REPO_ROOT
from gateway_infra.functions import (
    AFTER_RESTORE_PATH,
    ALIAS,
    API_HANDLER,
    STREAM_HANDLER,
    WEB_ADAPTER_ENVIRONMENT,
    WORKER_HANDLER,
)
from gateway_infra.tools.bundle import EXECUTABLES
from tests.infrastructure.template import Json, Synthesized, flatten, references

pytestmark = pytest.mark.infra

RETENTION_DAYS = {"ONE_WEEK": 7, "THREE_MONTHS": 90}


def test_three_functions_from_one_asset_on_arm64_and_the_bundles_python(stage: Synthesized) -> None:
    functions = stage.functions()

    assert set(functions) == {"api-stream", "api", "worker"}
    for _, properties in functions.values():
        assert properties["Architectures"] == ["arm64"]
        assert properties["Runtime"] == f"python{PYTHON_VERSION}"
    assert len({str(properties["Code"]) for _, properties in functions.values()}) == 1


def test_runtime_is_supported_past_2028_and_snapstart_capable() -> None:
    # python3.12 is deprecated 2028-10-31, python3.13 and 3.14 on 2029-06-30; SnapStart needs 3.12 or later
    assert tuple(int(part) for part in PYTHON_VERSION.split(".")) >= (3, 13)


def test_every_function_starts_from_a_snapshot_and_is_invoked_through_its_live_alias(stage: Synthesized) -> None:
    functions, aliases = stage.functions(), stage.aliases()
    versions = stage.resources("AWS::Lambda::Version")

    assert set(aliases) == set(functions)
    for role, (function_id, properties) in functions.items():
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, role
        _, alias = aliases[role]
        assert alias["Name"] == ALIAS
        [version] = references(alias["FunctionVersion"])
        assert versions[version]["Properties"]["FunctionName"] == {"Ref": function_id}
    # a replaced version (and its billed snapshot cache) goes with the deploy that replaces it
    assert {version["DeletionPolicy"] for version in versions.values()} == {"Delete"}
    # nothing may invoke $LATEST, which never runs from a snapshot: every permission names an alias
    alias_ids = {logical_id for logical_id, _ in aliases.values()}
    for permission in stage.resources("AWS::Lambda::Permission").values():
        named = references(permission["Properties"]["FunctionName"])
        if not any(name.startswith("WebSocket") for name in named):  # test_websocket_api.py checks those
            assert named <= alias_ids


def test_function_sizes_follow_the_stage(stage: Synthesized) -> None:
    sizes = {"api-stream": stage.config.api_stream, "api": stage.config.api, "worker": stage.config.worker}
    for role, (_, properties) in stage.functions().items():
        assert properties["MemorySize"] == sizes[role].memory_mb, role
        assert properties["Timeout"] == sizes[role].timeout_seconds, role
    # nothing the buffered function computes after API Gateway's 29 s integration timeout reaches the client
    assert stage.config.api.timeout_seconds <= BUFFERED_TIMEOUT_SECONDS


def test_stream_function_runs_uvicorn_under_the_web_adapter_in_streaming_mode(stage: Synthesized) -> None:
    _, properties = stage.functions()["api-stream"]

    assert properties["Handler"] == STREAM_HANDLER
    [layer] = properties["Layers"]
    [mapping] = stage.json["Mappings"]
    # the layer's partition and publisher follow the deployment; the publisher is known for the aws partition only
    assert flatten(layer) == (
        f"arn:<AWS::Partition>:lambda:<AWS::Region>:<{mapping}[<AWS::Partition>][account]>:layer:"
        f"LambdaAdapterLayerArm64:{LWA_LAYER_VERSION}"
    )
    assert stage.json["Mappings"][mapping] == {"aws": {"account": "753240598075"}}
    assert LWA_LAYER_VERSION >= 30  # adapter 1.1.0: the first to relay SnapStart hooks to the app
    assert WEB_ADAPTER_ENVIRONMENT.items() <= properties["Environment"]["Variables"].items()
    assert WEB_ADAPTER_ENVIRONMENT["AWS_LWA_INVOKE_MODE"] == "response_stream"
    assert WEB_ADAPTER_ENVIRONMENT["AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH"] == AFTER_RESTORE_PATH
    # the script must be executable inside the zip, or the adapter cannot start it
    assert STREAM_HANDLER in EXECUTABLES


def test_worker_takes_one_job_at_a_time_and_reports_partial_batch_failures(stage: Synthesized) -> None:
    worker_id, _ = stage.aliases()["worker"]
    mappings = stage.resources("AWS::Lambda::EventSourceMapping").values()
    [mapping] = [m for m in mappings if references(m["Properties"]["FunctionName"]) == {worker_id}]
    properties = mapping["Properties"]

    # the alias (CDK writes "<function name>:live"): SQS invokes the snapshotted version, never $LATEST
    assert references(properties["FunctionName"]) == {worker_id}
    assert properties["FunctionName"]["Fn::Join"][1][-1] == f":{ALIAS}"
    assert properties["BatchSize"] == 1
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": stage.config.worker_max_concurrency}
    [queue] = references(properties["EventSourceArn"])
    assert "RedrivePolicy" in stage.json["Resources"][queue]["Properties"]  # the jobs queue, not the DLQ


def test_no_stage_reserves_concurrency_unless_asked(
    prod: Synthesized, dev: Synthesized, synthesized: dict[str, Synthesized]
) -> None:
    # Lambda keeps 100 executions unreserved: any reservation fails on an account with a quota under 100 + N
    for stage in (dev, prod):
        assert all("ReservedConcurrentExecutions" not in properties for _, properties in stage.functions().values())
        assert stage.config.worker_max_concurrency >= 2  # the SQS trigger's cap, which reserves nothing
    # asked for with -c workerReservedConcurrency=N: the worker alone, at least the trigger's cap
    reserved = synthesized["prod-reserved"]
    _, worker = reserved.functions()["worker"]
    assert worker["ReservedConcurrentExecutions"] == reserved.config.worker_reserved_concurrency
    assert worker["ReservedConcurrentExecutions"] >= reserved.config.worker_max_concurrency
    assert all(
        "ReservedConcurrentExecutions" not in properties
        for role, (_, properties) in reserved.functions().items()
        if role != "worker"
    )


def test_each_function_logs_to_its_own_group_with_the_stage_retention(stage: Synthesized) -> None:
    groups = stage.resources("AWS::Logs::LogGroup")
    used = set()
    for _, properties in stage.functions().values():
        [group] = references(properties["LoggingConfig"]["LogGroup"])
        used.add(group)
        assert groups[group]["Properties"]["RetentionInDays"] == RETENTION_DAYS[stage.config.log_retention]
    assert len(used) == 3


def _statements(stage: Synthesized, role: str) -> list[Json]:
    _, properties = stage.functions()[role]
    [role_id] = references(properties["Role"])
    statements: list[Json] = []
    for policy in stage.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statements: list[Json]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def test_only_the_stream_function_may_enqueue_and_only_the_worker_may_consume(stage: Synthesized) -> None:
    actions = {role: _actions(_statements(stage, role)) for role in ("api-stream", "api", "worker")}

    assert "sqs:SendMessage" in actions["api-stream"]
    assert "sqs:SendMessage" not in actions["api"] | actions["worker"]
    assert "sqs:ReceiveMessage" in actions["worker"]
    assert "sqs:ReceiveMessage" not in actions["api-stream"] | actions["api"]
    # the worker keeps a running job's message hidden with its receipt handle
    assert "sqs:ChangeMessageVisibility" in actions["worker"]
    assert "sqs:ChangeMessageVisibility" not in actions["api-stream"] | actions["api"]
    for role_actions in actions.values():
        assert {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"} <= role_actions
        assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "bedrock:InvokeModelWithResponseStream"} <= (
            role_actions
        )
        assert "bedrock:CountTokens" in role_actions  # POST /v1/responses/input_tokens on Bedrock models
        assert not any(action.endswith("*") for action in role_actions), role_actions


def test_functions_may_invoke_every_kind_of_bedrock_model_the_readme_accepts(stage: Synthesized) -> None:
    this_account = "arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:"
    expected = {
        "arn:<AWS::Partition>:bedrock:*::foundation-model/*",  # any region: cross-region and global profiles
        this_account + "inference-profile/*",
        this_account + "application-inference-profile/*",
        this_account + "provisioned-model/*",
        this_account + "imported-model/*",
    }
    for role in ("api-stream", "api", "worker"):
        [bedrock] = [s for s in _statements(stage, role) if "bedrock:InvokeModelWithResponseStream" in s["Action"]]
        assert {flatten(resource) for resource in bedrock["Resource"]} == expected, role


def test_function_roles_have_no_managed_policies(stage: Synthesized) -> None:
    for _, properties in stage.functions().values():
        [role_id] = references(properties["Role"])
        role = stage.json["Resources"][role_id]["Properties"]
        assert "ManagedPolicyArns" not in role


@pytest.mark.parametrize("handler", [STREAM_HANDLER, API_HANDLER, WORKER_HANDLER])
def test_every_handler_the_stack_names_exists(handler: str) -> None:
    if handler.endswith(".sh"):
        script = REPO_ROOT / "functions" / handler
        assert script.is_file() and script.stat().st_mode & 0o111, f"{script} must exist and be executable"
    else:
        module, _, attribute = handler.rpartition(".")
        source = REPO_ROOT / "functions" / (module.replace(".", "/") + ".py")
        assert source.is_file(), source
        # read, not imported: the API handler builds its app (and Mangum an event loop) at import
        tree = ast.parse(source.read_text())
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        defined |= {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        assert attribute in defined, f"{source} defines no module-level {attribute}"


def test_no_function_is_exposed_through_a_function_url(stage: Synthesized) -> None:
    stage.template.resource_count_is("AWS::Lambda::Url", 0)
    stage.template.all_resources_properties(
        "AWS::Lambda::Permission", {"Principal": "apigateway.amazonaws.com", "FunctionUrlAuthType": Match.absent()}
    )


def test_functions_may_list_only_the_response_payloads_in_the_bucket(stage: Synthesized) -> None:
    for role in ("api-stream", "api", "worker"):
        [listing] = [s for s in _statements(stage, role) if "s3:ListBucket" in s["Action"]]
        # deleting a response removes every version of its payload: listed by prefix, nothing else
        assert listing["Condition"] == {"StringLike": {"s3:prefix": ["responses/*"]}}


def test_every_function_logs_json_at_the_stage_level(stage: Synthesized) -> None:
    names = {"DEBUG": "DEBUG", "INFO": "INFO", "WARNING": "WARN", "ERROR": "ERROR"}
    for role, (_, properties) in stage.functions().items():
        logging_config = properties["LoggingConfig"]
        assert logging_config["LogFormat"] == "JSON", role
        assert logging_config["ApplicationLogLevel"] == names[stage.config.log_level], role
        assert logging_config["SystemLogLevel"] == "INFO", role
        # the app's own level follows the same stage setting, so nothing it logs is dropped by Lambda
        assert properties["Environment"]["Variables"]["RESPONSES_LOG_LEVEL"] == stage.config.log_level, role
