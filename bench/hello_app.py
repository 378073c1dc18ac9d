"""The ceiling: a bare FastAPI app, served with the same uvicorn settings as the gateway."""

from __future__ import annotations

from fastapi import FastAPI


def create_app() -> FastAPI:
    """Return a bare FastAPI app: the hello endpoint and the probe path the runner waits for."""
    app = FastAPI()

    # Deliberately unannotated, as in FastAPI's own first example: a return annotation would make it a
    # response_model and change the serialisation path the ceiling is meant to measure.
    @app.get("/hello")
    async def hello():  # type: ignore[no-untyped-def]
        """Answer the smallest JSON body."""
        return {"hello": "world"}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Answer while the process is up."""
        return {"status": "ok"}

    return app
