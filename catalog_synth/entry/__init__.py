"""Entry points: the ``catalog-synth`` command line (``cli`` and the command modules beside it),
the demo, and DataHub's source and transformer plugins (``datahub``). A thin layer over the library:
each command imports what it needs when it runs.
"""
