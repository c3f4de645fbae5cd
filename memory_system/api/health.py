"""HTTP routes: health."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
