"""CDK constructs for the Responses gateway. Named ``gateway_infra``: a ``constructs`` folder would shadow CDK's."""
