"""A local stand-in for DataHub GMS, strict where GMS is strict.

No DataHub server can run here (it needs Docker), so tests run DataHub's real
``DataHubRestEmitter``/``DataHubGraph`` against this HTTP server on 127.0.0.1. It
answers what the client calls:

* ``GET /config`` (``test_connection``; ``frontend=True`` answers like DataHub's frontend);
* ``GET /aspects/{urn}?aspect=NAME`` (``get_aspect``/``exists``);
* ``POST /aspects?action=ingestProposal`` and ``?action=ingestProposalBatch`` (Rest.li mode);
* ``POST|PATCH /openapi/v3/entity/{entityType}`` (OpenAPI mode);
* ``POST /aspects?action=getTimeseriesAspectValues`` and ``POST /entities?action=delete``.

Every proposal is validated with acryl-datahub's own classes before anything is
stored: the envelope (``MetadataChangeProposalClass``), the URN (parsed, entity
type, at most 512 bytes encoded), the aspect allowed for the entity type (the
key aspect's ``entityAspects``), the value (``<Aspect>.from_obj`` + ``validate``,
unknown fields refused), timeseries aspects UPSERT only, and PATCH only for
aspects GMS has a patch template for or with a generic keyed-array patch. A
batch is all-or-nothing. PATCHes are applied (keyed arrays included) and the
result validated again, so tests can assert what GMS would store.

Errors are answered as GMS does (JSON with ``status`` and ``message``); tests can
demand 401 (``token=``), or any status for the next requests (``fail_next``).
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from datahub.emitter.aspect import (
    ASPECT_MAP,
    JSON_CONTENT_TYPE,
    JSON_PATCH_CONTENT_TYPE,
)
from datahub.emitter.mcp import MetadataChangeProposalWrapper
from datahub.emitter.serialization_helper import post_json_transform, pre_json_transform
from datahub.metadata.schema_classes import (
    KEY_ASPECTS,
    ChangeTypeClass,
    MetadataChangeProposalClass,
)
from datahub.metadata.urns import Urn

MAX_URN_BYTES = 512
UNIT_SEPARATOR = "\u241f"
# GMS's AspectTemplateEngine.SUPPORTED_TEMPLATES: aspects PATCHable without keyed arrays.
PATCH_TEMPLATE_ASPECTS = frozenset(
    {
        "datasetProperties",
        "editableSchemaMetadata",
        "globalTags",
        "glossaryTerms",
        "ownership",
        "upstreamLineage",
        "dataFlowInfo",
        "dataJobInfo",
        "dataProductProperties",
        "dataJobInputOutput",
        "chartInfo",
        "dashboardInfo",
        "structuredProperties",
        "structuredPropertyDefinition",
        "formInfo",
        "versionProperties",
    }
)
GMS_CONFIG = {
    "noCode": "true",
    "versions": {"acryldata/datahub": {"version": "v1.7.0", "commit": "0000000"}},
    "datahub": {"serverType": "quickstart", "serverEnv": "core"},
    "patchCapable": True,
    "statefulIngestionCapable": True,
    "telemetry": {"enabledCli": False, "enabledIngestion": False},
    "managedIngestion": {"enabled": False},
}
FRONTEND_CONFIG = {"config": {"appVersion": "v1.7.0"}, "baseUrl": "http://localhost:9002"}


class Rejected(Exception):
    """GMS refuses the request: answered with ``status`` and ``message``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Change:
    """One validated proposal: ``value`` is the aspect (UPSERT) or the patch (PATCH)."""

    api: str  # "restli" | "openapi" | "seed"
    change_type: str
    urn: str
    aspect_name: str
    value: Any


@dataclass
class GmsState:
    versioned: dict[str, dict[str, dict]] = field(default_factory=dict)
    timeseries: dict[tuple[str, str], list[dict]] = field(default_factory=dict)

    def apply(self, change: Change) -> None:
        aspects = self.versioned.setdefault(change.urn, {})
        key = Urn.from_string(change.urn).to_key_aspect()
        aspects.setdefault(key.ASPECT_NAME, key.to_obj())  # GMS writes the key: the entity exists now
        aspect_class = ASPECT_MAP[change.aspect_name]
        if change.change_type == ChangeTypeClass.PATCH:
            patched = apply_patch(aspects.get(change.aspect_name, {}), change.value)
            aspects[change.aspect_name] = parse_aspect(change.aspect_name, patched).to_obj()
        elif aspect_class.get_aspect_type() == "timeseries":
            series = self.timeseries.setdefault((change.urn, change.aspect_name), [])
            series[:] = [v for v in series if v["timestampMillis"] != change.value["timestampMillis"]]
            series.append(change.value)
        else:
            aspects[change.aspect_name] = change.value


class GmsStandIn:
    """The server; start with :func:`running_gms`."""

    def __init__(self, *, token: str | None = None, frontend: bool = False):
        self.token = token
        self.frontend = frontend
        self.state = GmsState()
        self.changes: list[Change] = []
        self.requests: list[tuple[str, str]] = []
        self._failures: list[tuple[int, str | None]] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, status: int, times: int = 1, path: str | None = None) -> None:
        """Answer ``status`` to the next ``times`` requests (whose path contains ``path``)."""
        with self._lock:
            self._failures.extend([(status, path)] * times)

    def seed(self, proposals: Iterable[MetadataChangeProposalWrapper | MetadataChangeProposalClass]) -> None:
        """Store proposals as another writer (DataHub's own ingestion, a person) would."""
        changes = [restli_change(pre_json_transform(p.to_obj()), api="seed") for p in proposals]
        self._commit(changes)

    def aspect(self, urn: str, name: str) -> dict | None:
        return self.state.versioned.get(urn, {}).get(name)

    def profiles(self, urn: str) -> list[dict]:
        return sorted(self.state.timeseries.get((urn, "datasetProfile"), []), key=lambda v: v["timestampMillis"])

    def exists(self, urn: str) -> bool:
        return urn in self.state.versioned

    # -- request handling ----------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((method, target))
            failure = self._take_failure(target)
        if failure:
            return failure, {"status": failure, "message": f"injected failure {failure}"}
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"status": 401, "message": "Unauthorized to perform this action."}
        try:
            return 200, self._route(method, parts.path, query, body)
        except Rejected as exc:
            return exc.status, {
                "exceptionClass": "com.linkedin.restli.server.RestLiServiceException",
                "status": exc.status,
                "message": exc.message,
            }

    def _take_failure(self, target: str) -> int | None:
        for index, (status, path) in enumerate(self._failures):
            if path is None or path in target:
                del self._failures[index]
                return status
        return None

    def _route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        if method == "GET" and path == "/config":
            return FRONTEND_CONFIG if self.frontend else GMS_CONFIG
        if method == "GET" and path.startswith("/aspects/"):
            return self._get_aspect(unquote(path[len("/aspects/") :]), query.get("aspect", ""))
        payload = _json(body)
        action = query.get("action")
        if method == "POST" and path == "/aspects" and action == "ingestProposal":
            self._commit([restli_change(payload.get("proposal"))])
            return {"value": payload["proposal"].get("entityUrn")}
        if method == "POST" and path == "/aspects" and action == "ingestProposalBatch":
            self._commit([restli_change(p) for p in payload.get("proposals") or []])
            return {}
        if method == "POST" and path == "/aspects" and action == "getTimeseriesAspectValues":
            return self._timeseries_values(payload)
        if method == "POST" and path == "/entities" and action == "delete":
            return self._delete(payload)
        if method in ("POST", "PATCH") and path.startswith("/openapi/v3/entity/"):
            entity_type = path[len("/openapi/v3/entity/") :]
            changes = openapi_changes(entity_type, method, payload)
            self._commit(changes)
            return [{"urn": c.urn, c.aspect_name: {"value": c.value}} for c in changes]
        raise Rejected(404, f"no such endpoint: {method} {path}")

    def _commit(self, changes: list[Change]) -> None:
        """All or nothing: apply to a copy, keep it only when every change applied."""
        with self._lock:
            staged = copy.deepcopy(self.state)
            for change in changes:
                try:
                    staged.apply(change)
                except Rejected:
                    raise
                except Exception as exc:  # the patched result is not a valid aspect
                    raise Rejected(422, f"{change.aspect_name}: patch result invalid: {exc}") from None
            self.state = staged
            self.changes.extend(changes)

    def _get_aspect(self, urn: str, name: str) -> dict:
        value = self.aspect(urn, name)
        if value is None:
            raise Rejected(404, f"{name} of {urn} not found")
        fullname = ASPECT_MAP[name].RECORD_SCHEMA.fullname.replace(".pegasus2avro", "")
        return {"aspect": {fullname: value}, "version": 0}

    def _timeseries_values(self, payload: dict) -> dict:
        values = sorted(
            self.state.timeseries.get((payload["urn"], payload["aspect"]), []),
            key=lambda v: v["timestampMillis"],
            reverse=True,
        )[: int(payload.get("limit", 10000))]
        return {
            "value": {
                "limit": payload.get("limit"),
                "values": [{"aspect": {"value": json.dumps(v), "contentType": JSON_CONTENT_TYPE}} for v in values],
            }
        }

    def _delete(self, payload: dict) -> dict:
        urn, aspect_name = payload.get("urn"), payload.get("aspectName")
        if not aspect_name or ASPECT_MAP.get(aspect_name) is None:
            raise Rejected(400, "this stand-in deletes timeseries aspects only")
        start = payload.get("startTimeMillis", 0)
        end = payload.get("endTimeMillis", 2**63 - 1)
        with self._lock:
            series = self.state.timeseries.get((urn, aspect_name), [])
            kept = [v for v in series if not start <= v["timestampMillis"] <= end]
            deleted = len(series) - len(kept)
            series[:] = kept
        return {"value": {"urn": urn, "rows": 0, "timeseriesRows": deleted}}


# -- validation with acryl-datahub's classes -------------------------------------------------
def restli_change(obj: Any, api: str = "restli") -> Change:
    """A Rest.li ``proposal`` object, validated as GMS validates it."""
    if not isinstance(obj, dict):
        raise Rejected(400, "proposal must be a JSON object")
    try:
        proposal = MetadataChangeProposalClass.from_obj(post_json_transform(copy.deepcopy(obj)))
    except Exception as exc:
        raise Rejected(422, f"invalid MetadataChangeProposal: {exc}") from None
    _refuse_unknown_fields(obj, pre_json_transform(proposal.to_obj()), "MetadataChangeProposal")
    if not proposal.validate() or proposal.aspect is None or proposal.entityUrn is None or proposal.aspectName is None:
        raise Rejected(422, "proposal needs entityUrn, aspectName and aspect")
    _check_target(proposal.entityType, proposal.entityUrn, proposal.aspectName)
    content = json.loads(proposal.aspect.value)
    if proposal.changeType == ChangeTypeClass.PATCH:
        if proposal.aspect.contentType != JSON_PATCH_CONTENT_TYPE:
            raise Rejected(422, f"PATCH needs contentType {JSON_PATCH_CONTENT_TYPE}")
        patch = _patch(proposal.aspectName, content)
        return Change(api, ChangeTypeClass.PATCH, proposal.entityUrn, proposal.aspectName, patch)
    if proposal.aspect.contentType != JSON_CONTENT_TYPE:
        raise Rejected(422, f"UPSERT needs contentType {JSON_CONTENT_TYPE}")
    return _upsert(api, proposal.changeType, proposal.entityUrn, proposal.aspectName, content)


def openapi_changes(entity_type: str, method: str, payload: Any) -> list[Change]:
    """An OpenAPI v3 entity request body: ``[{"urn": U, "<aspect>": {"value": V, ...}}]``."""
    if not isinstance(payload, list):
        raise Rejected(400, "OpenAPI v3 entity requests take a JSON array")
    changes = []
    for item in payload:
        urn = item.get("urn") if isinstance(item, dict) else None
        if not isinstance(urn, str):
            raise Rejected(400, "each entity needs a urn")
        for aspect_name, envelope in item.items():
            if aspect_name == "urn":
                continue
            _check_target(entity_type, urn, aspect_name)
            value = envelope.get("value") if isinstance(envelope, dict) else None
            if method == "PATCH":
                changes.append(Change("openapi", ChangeTypeClass.PATCH, urn, aspect_name, _patch(aspect_name, value)))
            else:
                changes.append(_upsert("openapi", ChangeTypeClass.UPSERT, urn, aspect_name, value))
    return changes


def _check_target(entity_type: str, urn: str, aspect_name: str) -> None:
    try:
        parsed = Urn.from_string(urn)
    except Exception:
        raise Rejected(422, f"invalid urn: {urn[:100]}") from None
    if len(quote(urn, safe="")) > MAX_URN_BYTES:
        raise Rejected(422, f"urn longer than {MAX_URN_BYTES} bytes")
    if parsed.entity_type != entity_type:
        raise Rejected(422, f"urn is a {parsed.entity_type}, not a {entity_type}")
    key = KEY_ASPECTS.get(entity_type)
    if key is None:
        raise Rejected(422, f"unknown entity type {entity_type}")
    if aspect_name not in key.ASPECT_INFO.get("entityAspects", []) and aspect_name != key.ASPECT_NAME:
        raise Rejected(422, f"aspect {aspect_name} is not allowed for entity {entity_type}")


def _upsert(api: str, change_type: str, urn: str, aspect_name: str, value: Any) -> Change:
    if change_type != ChangeTypeClass.UPSERT:
        raise Rejected(422, f"change type {change_type} not supported here")
    aspect = parse_aspect(aspect_name, value)
    return Change(api, change_type, urn, aspect_name, aspect.to_obj())


def parse_aspect(aspect_name: str, value: Any) -> Any:
    """The aspect as its acryl-datahub class; unknown fields and invalid values refused."""
    aspect_class = ASPECT_MAP[aspect_name]
    if not isinstance(value, dict):
        raise Rejected(422, f"{aspect_name}: value must be an object")
    try:
        aspect = aspect_class.from_obj(post_json_transform(copy.deepcopy(value)))
    except Exception as exc:
        raise Rejected(422, f"{aspect_name}: invalid value: {exc}") from None
    _refuse_unknown_fields(value, pre_json_transform(aspect.to_obj()), aspect_name)
    if not aspect.validate():
        raise Rejected(422, f"{aspect_name}: value does not match its schema")
    return aspect


def _patch(aspect_name: str, content: Any) -> dict:
    """A JSON patch (plain list or GenericJsonPatch envelope), normalised to an envelope."""
    if ASPECT_MAP[aspect_name].get_aspect_type() == "timeseries":
        raise Rejected(422, f"{aspect_name} is a timeseries aspect: UPSERT only, never PATCH")
    envelope = {"patch": content} if isinstance(content, list) else content
    if not isinstance(envelope, dict) or not isinstance(envelope.get("patch"), list):
        raise Rejected(422, f"{aspect_name}: not a JSON patch")
    generic = bool(envelope.get("arrayPrimaryKeys")) or bool(envelope.get("forceGenericPatch"))
    if not generic and aspect_name not in PATCH_TEMPLATE_ASPECTS:
        raise Rejected(422, f"{aspect_name} does not support PATCH")
    for op in envelope["patch"]:
        if not isinstance(op, dict) or op.get("op") not in ("add", "remove", "replace"):
            raise Rejected(422, f"{aspect_name}: unsupported patch operation")
        if not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
            raise Rejected(422, f"{aspect_name}: patch path must start with '/'")
    return {"patch": envelope["patch"], "arrayPrimaryKeys": envelope.get("arrayPrimaryKeys") or {}}


def _refuse_unknown_fields(sent: Any, parsed: Any, where: str) -> None:
    """GMS refuses unrecognized fields; ``from_obj`` would silently drop them."""
    if isinstance(sent, dict) and isinstance(parsed, dict):
        for key, value in sent.items():
            if key not in parsed:
                raise Rejected(422, f"{where}: unrecognized field found but not allowed: {key}")
            _refuse_unknown_fields(value, parsed[key], where)
    elif isinstance(sent, list) and isinstance(parsed, list):
        for sent_item, parsed_item in zip(sent, parsed, strict=False):
            _refuse_unknown_fields(sent_item, parsed_item, where)


# -- applying patches ----------------------------------------------------------------------
def apply_patch(current: dict, patch: dict) -> dict:
    """Apply a JSON patch as GMS does, arrays with primary keys addressed by key."""
    keys: dict[str, list[str]] = patch["arrayPrimaryKeys"]
    document = _keyed(copy.deepcopy(current), keys)
    for op in patch["patch"]:
        _apply_op(document, op)
    return _unkeyed(document, keys)


def _keyed(document: dict, keys: dict[str, list[str]]) -> dict:
    for array_field, key_fields in keys.items():
        nested: dict = {}
        for element in document.get(array_field) or []:
            slot = nested
            path = [_key_value(element, key) for key in key_fields]
            for part in path[:-1]:
                slot = slot.setdefault(part, {})
            slot[path[-1]] = element
        document[array_field] = nested
    return document


def _unkeyed(document: dict, keys: dict[str, list[str]]) -> dict:
    for array_field, key_fields in keys.items():
        document[array_field] = list(_leaves(document.get(array_field) or {}, len(key_fields)))
    return document


def _leaves(nested: dict, depth: int) -> Iterator[Any]:
    for value in nested.values():
        if depth == 1:
            yield value
        else:
            yield from _leaves(value, depth - 1)


def _key_value(element: dict, key: str) -> str:
    value: Any = element
    for part in key.split(UNIT_SEPARATOR):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def _apply_op(document: dict, op: dict) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
    parent: Any = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
    last = parts[-1]
    if op["op"] == "remove":
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            parent.pop(last, None)
    elif isinstance(parent, list):
        parent.append(op["value"]) if last == "-" else parent.insert(int(last), op["value"])
    else:
        parent[last] = op["value"]


# -- HTTP plumbing -------------------------------------------------------------------------
def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise Rejected(400, "body is not JSON") from None


def _handler_for(gms: GmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, answer = gms.handle(self.command, self.path, headers, body)
            except Rejected as exc:
                status, answer = exc.status, {"status": exc.status, "message": exc.message}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

    return Handler


@contextmanager
def running_gms(*, token: str | None = None, frontend: bool = False) -> Iterator[GmsStandIn]:
    gms = GmsStandIn(token=token, frontend=frontend)
    gms._thread.start()
    try:
        yield gms
    finally:
        gms._http.shutdown()
        gms._http.server_close()
