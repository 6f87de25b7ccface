"""Publishing synthetic samples to data catalogs (DataHub).

The pipeline opens the configured sinks with :func:`open_sinks`, calls
``sink.publish(table, location)`` for each synthesized table and ``sink.close()``
at the end for a :class:`SinkReport`.
"""

from catalog_synth.catalog.sinks import CatalogError, CatalogSink, SinkReport, open_sinks
from catalog_synth.catalog.urns import DatasetLocation

__all__ = ["CatalogError", "CatalogSink", "DatasetLocation", "SinkReport", "open_sinks"]
