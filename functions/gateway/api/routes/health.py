"""``GET /health``: no auth, no AWS calls — for load balancers and the Lambda Web Adapter."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()


@router.get("/health", response_model=None)
async def health() -> dict[str, str]:
    return {"status": "ok"}
