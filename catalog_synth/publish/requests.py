"""Rebalance requests written in DataHub: the tag ``synthetic-rebalance`` on a dataset, with
custom properties saying what to rebalance.

    catalog_synth.rebalance.column   income
    catalog_synth.rebalance.target   {">50K": 0.5}               (JSON: value -> share of rows)
or, for a subgroup,
    catalog_synth.rebalance.where    {"sex": "Female", "income": ">50K"}
    catalog_synth.rebalance.share    0.3
and optionally ``.rows``, ``.name``, ``.synthesizer`` and ``.sample_rows``, as in the config's
``rebalance`` entries. Read with the GMS client the REST sink uses (``get_aspect``), one call per
table and one more for a tagged one.
"""

from __future__ import annotations

import json
from typing import Any

from datahub.emitter.mce_builder import make_tag_urn
from datahub.metadata.schema_classes import DatasetPropertiesClass, GlobalTagsClass
from pydantic import ValidationError

from catalog_synth.core.config import Config, ConfigError, RebalanceConfig
from catalog_synth.core.types import TableRef

REQUEST_TAG = "synthetic-rebalance"
PREFIX = "catalog_synth.rebalance."
_JSON_KEYS = ("target", "where")


def read_requests(
    graph: Any, config: Config, datasets: list[tuple[TableRef, str]]
) -> tuple[list[RebalanceConfig], list[tuple[TableRef, str]]]:
    """Requests on the given (table, dataset URN) pairs, and problems with bad ones (one line each)."""
    requests, problems = [], []
    for ref, urn in datasets:
        tags = graph.get_aspect(urn, GlobalTagsClass)
        if tags is None or make_tag_urn(REQUEST_TAG) not in {association.tag for association in tags.tags}:
            continue
        properties = graph.get_aspect(urn, DatasetPropertiesClass)
        try:
            requests.append(request_from_properties(ref, config, properties.customProperties if properties else {}))
        except ConfigError as exc:
            problems.append((ref, f"DataHub tag {REQUEST_TAG}: {exc}"))
    return requests, problems


def request_from_properties(ref: TableRef, config: Config, properties: dict[str, str]) -> RebalanceConfig:
    """One request from a dataset's custom properties; errors name the property, never its value."""
    raw: dict[str, Any] = {"table": f"{ref.warehouse}.{ref.qualified}"}
    for key, text in properties.items():
        if key.startswith(PREFIX):
            name = key[len(PREFIX) :]
            raw[name] = _parsed(key, text) if name in _JSON_KEYS else text
    try:
        request = RebalanceConfig.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = PREFIX + ".".join(str(part) for part in error["loc"]) if error["loc"] else "properties"
        raise ConfigError(f"{where}: {error['msg'].removeprefix('Value error, ')}") from None
    config.check_rebalance(request, "properties")
    return request


def _parsed(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(f"{key}: not a JSON object") from None
