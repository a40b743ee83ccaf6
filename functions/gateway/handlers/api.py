"""Buffered routes on Lambda: API Gateway proxy events through Mangum into the shared app."""

from __future__ import annotations

from mangum import Mangum

from gateway.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
