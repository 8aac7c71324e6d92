"""`clientgraph.app:create_app` is the ASGI factory uvicorn is given; the HTTP layer lives in
`clientgraph.web`."""

from clientgraph.web.app import create_app, create_migrating_app

__all__ = ["create_app", "create_migrating_app"]
