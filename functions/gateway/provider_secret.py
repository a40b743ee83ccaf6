"""The provider secret (``RESPONSES_PROVIDER_SECRET_ID``) as a settings source: pydantic-settings'
``AWSSecretsManagerSettingsSource``, which reads the secret when it is made, so ``Settings()`` blocks on Secrets
Manager when a secret is named. ``api.deps`` builds the settings in a thread on the first request; the worker
builds them in its synchronous Lambda handler, where no event loop runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pydantic_settings import AWSSecretsManagerSettingsSource

from gateway.errors import GatewayError

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

logger = logging.getLogger("gateway")

SECRET_VALUES_FIELD = "provider_secret_values"
"""The ``Settings`` field that keeps the whole secret, for the names that named upstreams' ``api_key_secret``
points at (names that are no setting)."""


class ProviderSecretError(GatewayError):
    """The provider secret cannot be read, or does not hold a JSON object of names to strings: nothing can be
    served until it is fixed (the settings are not cached, so the next request tries again)."""

    status_code = 500
    error_type = "server_error"

    def __init__(self, secret_id: str, reason: str) -> None:
        # The reason names the secret and why (an AWS error code, never a value): the operator's log, not the client.
        self.reason = f"cannot use the provider secret {secret_id} (RESPONSES_PROVIDER_SECRET_ID): {reason}"
        logger.error("%s", self.reason)
        super().__init__(
            "This deployment cannot read its upstream credentials; its operator must fix its configuration.",
            code="server_error",
        )
        self.secret_id = secret_id


class ProviderSecretSource(AWSSecretsManagerSettingsSource):
    """The secret's names set the settings of the same names, matched as the environment's are (without regard
    to case): ``{"OPENAI_API_KEY": "sk-..."}`` sets ``openai_api_key``. The whole object is also kept, under
    lower-cased names, in ``Settings.provider_secret_values``."""

    def __init__(self, settings_cls: type[BaseSettings], secret_id: str, *, region: str | None) -> None:
        # Imported here: botocore costs cold-start time, and only a deployment naming a secret needs it.
        from botocore.exceptions import BotoCoreError, ClientError

        from gateway.quiet_logs import quiet_libraries

        quiet_libraries()  # before the secret is read: at DEBUG, botocore would log its values

        try:
            super().__init__(settings_cls, secret_id, region_name=region, case_sensitive=False)
        except ClientError as exc:
            raise ProviderSecretError(secret_id, exc.response.get("Error", {}).get("Code", "ClientError")) from exc
        except BotoCoreError as exc:
            raise ProviderSecretError(secret_id, type(exc).__name__) from exc
        except (KeyError, ValueError, AttributeError) as exc:
            # No SecretString (a binary secret), not JSON, or JSON but no object: the library's own errors.
            raise ProviderSecretError(secret_id, 'expected a JSON object such as {"OPENAI_API_KEY": "sk-..."}') from exc
        if not all(isinstance(value, str) for value in self.env_vars.values()):
            raise ProviderSecretError(secret_id, "every value must be a string")

    def __call__(self) -> dict[str, Any]:
        return {**super().__call__(), SECRET_VALUES_FIELD: dict(self.env_vars)}
