"""The playground page at ``/``: static files (plain JavaScript and CSS) served by the emulator.

No build step and nothing fetched from elsewhere; the page talks to ``/_emulator/...`` only.
The content security policy keeps scripts to these files, so a reply or a stored value holding
HTML could not run even if it reached the page as markup (it is put in as text anyway).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

PAGE_DIR = Path(__file__).parent / "playground"
SECURITY_HEADERS = {
    # Images may come from a reply's image_url; everything else only from the emulator.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: http: https:;"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


async def page(request: Request) -> Response:
    return FileResponse(PAGE_DIR / "index.html", headers=SECURITY_HEADERS)


def playground_routes() -> list[BaseRoute]:
    return [
        Route("/", page, methods=["GET"]),
        Mount("/playground", StaticFiles(directory=PAGE_DIR), name="playground"),
    ]
