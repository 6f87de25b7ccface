"""The sandbox's HTTP face: a JSON API for programs and a web page for people.

Every route but ``/healthz`` (and the login page and the static assets, which
hold no data) needs a bearer token when ``sandbox.token_hashes`` is set
(:mod:`.auth`); browsers send it as a cookie set by ``/login``. Queries run in
their client's share of the slots (:mod:`.limits`). Pages carry a strict Content
Security Policy; only ``/tables/{name}`` may be framed, and only by
``sandbox.catalog_origin``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from catalog_synth import __version__
from catalog_synth.core.config import Config
from catalog_synth.serve.auth import TOKEN_COOKIE, AuthRequired, TokenAuth, token_check
from catalog_synth.serve.engine import QueryEngine
from catalog_synth.serve.errors import (
    QueryError,
    StoreUnavailable,
    TableNotFound,
    TryLater,
)
from catalog_synth.serve.metrics import SandboxMetrics
from catalog_synth.serve.responses import (
    ERROR_STATUS,
    RENDERERS,
    cells,
    error_status,
    json_payload,
)
from catalog_synth.serve.validator import MAX_SQL_CHARS
from catalog_synth.store.copies import StoredTable

PACKAGE_DIR = Path(__file__).parent
# Swagger UI's files, as fastapi-offline vendors them: /docs works with no network.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "mysql", "tsql", "redshift", "trino", "sqlite", "oracle")
MAX_REQUEST_BYTES = 1_000_000
_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
)


class QueryRequest(BaseModel):
    sql: str = Field(max_length=MAX_SQL_CHARS, description="One read-only query (SELECT, set operation, WITH).")
    dialect: str | None = Field(default=None, max_length=32, description="Default: the warehouse's own dialect.")
    limit: int | None = Field(default=None, ge=1, description="Row limit; capped by the server's row_limit.")


class ColumnOut(BaseModel):
    name: str
    type: str


class QueryResponse(BaseModel):
    columns: list[ColumnOut]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    elapsed_ms: float


class ErrorOut(BaseModel):
    kind: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorOut


def _engine(request: Request) -> QueryEngine:
    return request.app.state.engine


def _client(request: Request) -> str:
    auth: TokenAuth = request.app.state.auth
    return auth.client_of(request)


api = APIRouter(dependencies=[Depends(token_check(page=False))])
pages = APIRouter(dependencies=[Depends(token_check(page=True))])
public = APIRouter()
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status, _ in ERROR_STATUS.values()
}


@api.post(
    "/api/query",
    name="query",
    summary="Run one read-only SQL query on the synthetic tables",
    responses={
        200: {
            "model": QueryResponse,
            "content": {"text/csv": {}, "application/vnd.apache.arrow.stream": {}},
        },
        **_ERROR_RESPONSES,
    },
)
def run_query(
    body: QueryRequest,
    request: Request,
    output: Literal["json", "csv", "arrow"] = Query("json", alias="format"),
) -> Response:
    metrics: SandboxMetrics = request.app.state.metrics
    metrics.queries.labels(output).inc()
    with metrics.latency.time():
        try:
            result = _engine(request).run(body.sql, dialect=body.dialect, limit=body.limit, client=_client(request))
        except QueryError as exc:
            metrics.record_error(exc)
            raise
    return RENDERERS[output](result)


@api.get("/api/tables", summary="Every synthetic table: columns, row count, quality, sync time")
def list_tables(request: Request) -> dict[str, Any]:
    engine = _engine(request)
    return {
        "default_dialect": engine.default_dialect(),
        "tables": [table_summary(table) for table in engine.tables()],
    }


@api.get("/api/tables/{name}", summary="One synthetic table with its preview rows", responses=_ERROR_RESPONSES)
def table_detail(name: str, request: Request) -> dict[str, Any]:
    table, preview = _engine(request).preview(name, client=_client(request))
    return {**table.as_dict(), "dialect": table.dialect, "preview": json_payload(preview)}


@api.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@api.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@pages.get("/docs", include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    def asset(name: str) -> str:
        return request.url_for("docs_assets", path=name).path

    return get_swagger_ui_html(
        openapi_url=request.url_for("openapi_schema").path,
        title="catalog-synth sandbox API",
        swagger_js_url=asset("swagger-ui-bundle.js"),
        swagger_css_url=asset("swagger-ui.css"),
        swagger_favicon_url=asset("favicon.png"),
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from swagger.io
    )


@public.get("/healthz", summary="Liveness and store availability (no auth)")
def healthz(request: Request) -> JSONResponse:
    try:
        count = len(_engine(request).tables())
    except StoreUnavailable as exc:
        return JSONResponse({"status": "unavailable", "detail": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok", "tables": count})


@pages.get("/", response_class=HTMLResponse, include_in_schema=False)
def index_page(request: Request) -> Response:
    engine = _engine(request)
    try:
        tables, default_dialect, problem = engine.tables(), engine.default_dialect(), None
    except StoreUnavailable as exc:
        tables, default_dialect, problem = [], "duckdb", str(exc)
    schemas: dict[str, list[StoredTable]] = {}
    for table in tables:
        schemas.setdefault(table.logical_name.rpartition(".")[0], []).append(table)
    context = {
        "schemas": schemas,
        "default_dialect": default_dialect,
        "dialects": DIALECTS,
        "row_limit": engine.settings.row_limit,
        "problem": problem,
    }
    return _page(request, "index.html", context, frame_ancestors="'none'")


@pages.get("/tables/{name}", response_class=HTMLResponse, include_in_schema=False)
def table_page(name: str, request: Request) -> Response:
    origin = request.app.state.catalog_origin
    ancestors = origin or "'none'"
    try:
        table, preview = _engine(request).preview(name, client=_client(request))
    except (TableNotFound, StoreUnavailable) as exc:
        return _page(request, "missing.html", {"message": str(exc)}, ancestors, status_code=404)
    context = {"table": table, "columns": preview.columns, "rows": [cells(row) for row in preview.rows]}
    return _page(request, "table.html", context, frame_ancestors=ancestors)


@public.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/") -> Response:
    return _page(request, "login.html", {"next": _safe_next(next), "failed": False}, frame_ancestors="'none'")


@public.post("/login", include_in_schema=False)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = form.get("token", [""])[0]
    target = _safe_next(form.get("next", ["/"])[0])
    auth: TokenAuth = request.app.state.auth
    if not auth.accepts(token):
        context = {"next": target, "failed": True}
        return _page(request, "login.html", context, frame_ancestors="'none'", status_code=401)
    response = RedirectResponse(target, status_code=303)
    if auth.enabled:
        secure = request.url.scheme == "https"
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax", secure=secure)
    return response


def _safe_next(target: str) -> str:
    """Only same-site paths: no scheme, no host, no protocol-relative ``//``."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def table_summary(table: StoredTable) -> dict[str, Any]:
    return {
        "name": table.logical_name,
        "warehouse": table.warehouse,
        "schema": table.schema_name,
        "table": table.table_name,
        "dialect": table.dialect,
        "columns": [{"name": c["name"], "type": c["type"]} for c in table.columns],
        "row_count": table.row_count,
        "quality": table.quality,
        "synced_at": table.synced_at.isoformat(),
    }


def _page(
    request: Request, template: str, context: dict[str, Any], frame_ancestors: str, status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Security-Policy"] = _PAGE_CSP.format(ancestors=frame_ancestors)
    if frame_ancestors == "'none'":
        response.headers["X-Frame-Options"] = "DENY"
    return response


# --- the app ------------------------------------------------------------------------


def create_app(config: Config) -> FastAPI:
    """The sandbox app over ``config.store`` with ``config.sandbox``'s limits and auth."""
    engine = QueryEngine(config.store, config.sandbox)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.close()

    app = FastAPI(
        title="catalog-synth SQL sandbox",
        version=__version__,
        description="Read-only SQL over synthetic copies of warehouse tables. No row describes a real record.",
        lifespan=lifespan,
        # Served by the routers below, behind the same auth as everything else.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.engine = engine
    app.state.metrics = SandboxMetrics(engine.slots)
    app.state.auth = TokenAuth(config.sandbox.token_hashes)
    app.state.catalog_origin = config.sandbox.catalog_origin
    app.state.templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs_assets")
    for router in (public, api, pages):
        app.include_router(router)
    app.add_exception_handler(QueryError, _query_error_response)
    app.add_exception_handler(AuthRequired, _auth_required_response)
    app.add_middleware(HttpGuard)
    return app


async def _query_error_response(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, QueryError)
    status, kind = error_status(exc)
    headers = {"Retry-After": "1"} if isinstance(exc, TryLater) else None
    return JSONResponse({"error": {"kind": kind, "message": str(exc)}}, status_code=status, headers=headers)


async def _auth_required_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthRequired)
    if exc.page:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        login = request.url_for("login_page").include_query_params(next=target)
        return RedirectResponse(login.path + "?" + login.query, status_code=303)
    message = "a bearer token is required (Authorization: Bearer <token>)"
    return JSONResponse(
        {"error": {"kind": "unauthorized", "message": message}},
        status_code=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


class HttpGuard:
    """Plain ASGI middleware (cheaper than ``@app.middleware``).

    Refuses request bodies declared larger than :data:`MAX_REQUEST_BYTES` before
    they are read, and adds the headers every response carries.
    """

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    ]

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.HEADERS
            await send(message)

        if _declared_length(scope) > MAX_REQUEST_BYTES:
            message = f"the request body is larger than {MAX_REQUEST_BYTES} bytes"
            response = JSONResponse({"error": {"kind": "too_large", "message": message}}, status_code=413)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
