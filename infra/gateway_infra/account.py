"""The account-level setting API Gateway logs through, in a stack of its own deployed once per account and region.

``AWS::ApiGateway::Account`` is a singleton: each resource of that type overwrites the account's CloudWatch role,
and deleting one stack's copy would leave the others' stages unable to log. So the stage stacks depend on this
stack (the CLI deploys it first when it is missing) and never create the setting themselves.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from gateway_infra.nag import acknowledge

ACCOUNT_STACK_NAME = "responses-gateway-account"


class GatewayAccountStack(Stack):
    """The role API Gateway writes access and execution logs with, set as the account's CloudWatch role."""

    def __init__(self, scope: Construct, construct_id: str = ACCOUNT_STACK_NAME, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="Responses gateway: API Gateway account settings", **kwargs)
        Tags.of(self).add("project", "responses-gateway")
        role = iam.Role(
            self,
            "ApiGatewayLogsRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway writes access and execution logs of this account's REST APIs with this role",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        self.api_gateway_account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        acknowledge(
            role,
            {
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]": "The account-level role API Gateway needs to write access "
                "and execution logs; this AWS managed policy is the one AWS documents for it and grants only "
                "CloudWatch Logs writes."
            },
        )
