"""The web console: one static page, its scripts and styles, and the vendored uPlot charting
library (MIT, its licence beside it), outside the API schema.

The page talks to the public /v1 API with the key the user pastes; nothing here authenticates.
"""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.exceptions import HTTPException

router = APIRouter(include_in_schema=False)

FOLDER = Path(__file__).resolve().parent.parent / "console"
SCRIPT = "text/javascript; charset=utf-8"
STYLE = "text/css; charset=utf-8"
SCRIPTS = ("console.js", "datasets.js", "report.js", "convert.js", "jobs.js", "job.js",
           "evaluations.js", "playground.js")
ASSETS = {**dict.fromkeys(SCRIPTS, SCRIPT), "console.css": STYLE,
          "uPlot.iife.min.js": SCRIPT, "uPlot.min.css": STYLE,
          "uPlot.LICENSE": "text/plain; charset=utf-8"}
# Only this origin's own files and API; no inline script, no framing, no referrer to elsewhere.
HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
                                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.api_route("/console", methods=["GET", "HEAD"])
def console_page() -> FileResponse:
    return FileResponse(FOLDER / "index.html", media_type="text/html; charset=utf-8",
                        headers=HEADERS)


@router.api_route("/console/{asset}", methods=["GET", "HEAD"])
def console_asset(asset: str) -> FileResponse:
    if asset not in ASSETS:
        raise HTTPException(404)
    return FileResponse(FOLDER / asset, media_type=ASSETS[asset], headers=HEADERS)
