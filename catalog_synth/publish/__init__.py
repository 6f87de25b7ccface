"""Publishing synthetic samples to data catalogs (DataHub).

The pipeline opens the configured sinks with :func:`open_sinks`, calls
``sink.publish(table, location)`` for each synthesized table and ``sink.close()``
at the end for a :class:`SinkReport` (all in :mod:`.sinks`).

Import from the modules: this package imports nothing, so the CLI can list its commands cheaply.
"""
