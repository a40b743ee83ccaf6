"""Buffered routes on Lambda: API Gateway proxy events through Mangum into the shared app."""

from __future__ import annotations

from mangum import Mangum

from gateway import snapstart
from gateway.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
snapstart.register()
