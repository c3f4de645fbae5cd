"""HTTP routes: entities."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
