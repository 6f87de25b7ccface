"""Connecting to DataHub GMS with DataHub's own client, and saying clearly why it failed."""

from __future__ import annotations

import os

import requests
from datahub.configuration.common import ConfigurationError
from datahub.ingestion.graph.client import DataHubGraph
from datahub.ingestion.graph.config import DatahubClientConfig

from catalog_synth.core.sections import DataHubRestConfig

SERVER_ENV = "DATAHUB_GMS_URL"
TOKEN_ENV = "DATAHUB_GMS_TOKEN"
# Longest server message quoted in an error or report.
MAX_REASON_CHARS = 300


class CatalogConnectionError(RuntimeError):
    """DataHub cannot be used: wrong URL, unreachable, or the token was refused."""


def connect(settings: DataHubRestConfig) -> DataHubGraph:
    """A tested client for GMS (``GET /config``), in the configured Rest.li or OpenAPI mode."""
    server = settings.server or os.environ.get(SERVER_ENV)
    if not server:
        raise CatalogConnectionError(f"catalog.datahub.server is not set (nor ${SERVER_ENV})")
    token = settings.token.get_secret_value() if settings.token else os.environ.get(TOKEN_ENV)
    graph = DataHubGraph(
        DatahubClientConfig(
            server=server,
            token=token or None,
            timeout_sec=settings.timeout_seconds,
            retry_max_times=settings.retries,
            openapi_ingestion=settings.mode == "openapi",
        )
    )
    try:
        graph.test_connection()
    except ConfigurationError as exc:
        graph.close()
        raise CatalogConnectionError(_explain(server, str(exc), has_token=bool(token))) from None
    except requests.RequestException as exc:
        graph.close()
        raise CatalogConnectionError(
            f"DataHub GMS at {server} is unreachable ({type(exc).__name__}); check catalog.datahub.server"
        ) from None
    return graph


def _explain(server: str, message: str, *, has_token: bool) -> str:
    if "authentication error" in message:
        if has_token:
            return f"DataHub GMS at {server} refused the token (401); check catalog.datahub.token"
        return f"DataHub GMS at {server} requires a token (401); set catalog.datahub.token or ${TOKEN_ENV}"
    if "connected to the frontend" in message:
        return (
            f"{server} is DataHub's frontend, not GMS: use the GMS URL "
            "(usually http://<host>:8080, or <frontend>/api/gms)"
        )
    return f"DataHub GMS at {server} did not answer as GMS: {short(message)}"


def short(text: str) -> str:
    """A server message cut to a readable length (it can quote our own payload)."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"
