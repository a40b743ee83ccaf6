"""The Secrets Manager secret holding upstream provider keys (OpenAI and other OpenAI-compatible upstreams)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from gateway_infra.config import StageConfig
from gateway_infra.nag import acknowledge


class ProviderKeys(Construct):
    """A JSON object such as ``{"OPENAI_API_KEY": "sk-..."}``; the app reads it once per instance.

    The template only ever holds the empty object ``{}``: operators put the real value with
    ``aws secretsmanager put-secret-value`` after the first deploy, so no key passes through CloudFormation.
    The secret gets a generated name because a deleted secret's name stays reserved for its recovery window,
    which would block redeploying a destroyed dev stack.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Upstream provider keys for the Responses gateway, as a JSON object of env-style names",
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.secret,
            {
                "AwsSolutions-SMG4": "The values are API keys issued by third-party providers (OpenAI, vLLM "
                "hosts, ...); a rotation Lambda cannot mint new ones. Keys are rotated at the provider and "
                "written here.",
            },
        )
