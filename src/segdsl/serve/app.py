"""The Starlette application of ``segdsl serve``: the page's static files and its JSON
endpoints, each a view of :mod:`segdsl.serve.views`.

Read-only: every endpoint is a GET, except the editor's two POSTs (check and compile a
rule), which read a rule from the body and write nothing. A request the page should
not have sent gets a 4xx with a message and diagnostics; anything unexpected a 500
with one line, never a traceback. Starlette is imported here and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from segdsl.serve import views
from segdsl.serve.site import BadRequest, Site

#: The longest request body accepted, in bytes (a rule, as JSON, and room for quoting).
MAX_BODY = 4 * views.MAX_RULE_BYTES + 1024
STATIC = resources.files("segdsl.serve") / "static"
#: Headers of every response: the page loads nothing from elsewhere and is not framed.
SECURITY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(site: Site) -> Starlette:
    """The application serving ``site``."""
    # The views compute with numpy and the database drivers; they run in a worker
    # thread, one at a time, so the event loop stays free and the workspace is never
    # read by two computations at once.
    lock = asyncio.Lock()

    async def run(view, *args) -> Any:
        async with lock:
            return await asyncio.to_thread(view, site, *args)

    def answer(value: Any, status: int = 200) -> JSONResponse:
        return JSONResponse(value, status_code=status, headers=SECURITY)

    async def project(request: Request):
        return answer(await run(views.project))

    async def diagram(request: Request):
        from segdsl.serve import diagram as drawing

        return answer(await run(drawing.build))

    async def segment(request: Request):
        return answer(await run(views.segment, request.path_params["name"]))

    async def overlap(request: Request):
        others = [o for o in request.query_params.getlist("with") if o]
        return answer(await run(views.overlap, request.path_params["name"], others or None))

    async def sample(request: Request):
        limit = request.query_params.get("limit", "50")
        if not limit.isdigit():
            raise BadRequest(400, "limit must be a whole number")
        return answer(await run(views.sample, request.path_params["name"], int(limit)))

    async def members_csv(request: Request):
        name = request.path_params["name"]
        lines = await run(views.members_csv, name)  # members read now, lines written as sent
        headers = {**SECURITY, "Content-Disposition": f'attachment; filename="{name}.csv"'}
        return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)

    async def explain(request: Request):
        key = request.query_params.get("key")
        if key is None:
            raise BadRequest(400, "give the key of the profile to explain: ?key=...")
        return answer(await run(views.explain, request.path_params["name"], key))

    async def history(request: Request):
        return answer(await run(views.history, request.path_params["name"]))

    async def check(request: Request):
        text = views.rule_text(await _body(request))
        return answer(await run(views.check, text))

    async def compile_rule(request: Request):
        body = await _body(request)
        text = views.rule_text(body)
        target = body.get("target", "postgres")
        if not isinstance(target, str):
            raise BadRequest(400, "`target` is the name of a target")
        return answer(await run(views.compile_rule, text, target))

    async def journey(request: Request):
        return answer(await run(views.journey, request.path_params["name"]))

    async def index(request: Request):
        return FileResponse(str(STATIC / "index.html"), headers={**SECURITY, "Cache-Control": "no-cache"})

    routes = [
        Route("/", index),
        Route("/api/project", project),
        Route("/api/diagram", diagram),
        Route("/api/segments/{name}", segment),
        Route("/api/segments/{name}/overlap", overlap),
        Route("/api/segments/{name}/sample", sample),
        Route("/api/segments/{name}/members.csv", members_csv),
        Route("/api/segments/{name}/explain", explain),
        Route("/api/segments/{name}/history", history),
        Route("/api/rule/check", check, methods=["POST"]),
        Route("/api/rule/compile", compile_rule, methods=["POST"]),
        Route("/api/journeys/{name}", journey),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    handlers = {BadRequest: _bad_request, HTTPException: _http_error, Exception: _internal_error}
    return Starlette(routes=routes, exception_handlers=handlers)


async def _body(request: Request) -> Any:
    """The request's JSON body, refused when larger than :data:`MAX_BODY`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadRequest(413, f"the request is larger than {MAX_BODY:,} bytes")
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise BadRequest(413, f"the request is larger than {MAX_BODY:,} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest(400, 'the body is not JSON; send {"rule": "..."}') from None


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=SECURITY)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: "no such page or endpoint", 405: "this endpoint does not take that method; the page is "
               "read-only"}.get(exc.status_code, exc.detail)
    return JSONResponse({"error": message, "diagnostics": []}, status_code=exc.status_code,
                        headers={**SECURITY, **(exc.headers or {})})


async def _internal_error(request: Request, exc: Exception) -> Response:
    from segdsl.data.engines import EngineError
    from segdsl.data.tables import DataError
    from segdsl.lifecycle.state import StateError

    if isinstance(exc, (EngineError, DataError, StateError)):  # the data cannot be read: say why
        return JSONResponse({"error": str(exc), "diagnostics": []}, status_code=503, headers=SECURITY)
    return JSONResponse({"error": f"internal error: {type(exc).__name__}; this is a bug in segdsl",
                         "diagnostics": []}, status_code=500, headers=SECURITY)
