"""HTTP routes: admin_flags."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
