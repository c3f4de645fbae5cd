"""HTTP routes: typed_stores."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
