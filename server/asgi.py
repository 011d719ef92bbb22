"""ASGI entry point for uvicorn/gunicorn: ``server.asgi:app``."""

from server.app import create_app

app = create_app()
