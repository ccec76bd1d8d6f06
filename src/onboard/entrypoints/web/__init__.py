"""Server-rendered pages: back office, mobile app under /m, customer pages."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Attach the web pages and static files to the application."""
