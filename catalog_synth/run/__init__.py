"""Run machinery: a sync planned (``plan``), each table's job in a worker (``table_job``,
``synthesize``), executors that run the jobs (``executors``, ``dask_executor``, ``choose``), and
the calling process that links, stores and publishes (``sync``, ``publishing``).
"""
