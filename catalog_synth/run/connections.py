"""Warehouse connections: opened per use by planning, cached per process by workers."""

from __future__ import annotations

from catalog_synth.core.config import WarehouseConfig
from connectors import Connector, open_connector

# -- connectors, cached per process -----------------------------------------------------
_CONNECTORS: dict[tuple[str, str], Connector] = {}


def open_warehouse(warehouse: WarehouseConfig) -> Connector:
    return open_connector(warehouse.name, warehouse.connector, warehouse.url.get_secret_value())


def cached_connector(warehouse: WarehouseConfig) -> Connector:
    key = (warehouse.name, warehouse.url.get_secret_value())
    if key not in _CONNECTORS:
        _CONNECTORS[key] = open_warehouse(warehouse)
    return _CONNECTORS[key]


def close_cached_connectors() -> None:
    while _CONNECTORS:
        _CONNECTORS.popitem()[1].close()
