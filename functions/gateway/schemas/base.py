"""Base classes that set the ``extra`` policy once for every wire model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """Models the gateway builds and sends: unknown fields are ignored, nothing is coerced silently."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class RequestModel(BaseModel):
    """Top-level request bodies and their option objects: unknown fields are a 400, as on OpenAI."""

    model_config = ConfigDict(extra="forbid", strict=True)
