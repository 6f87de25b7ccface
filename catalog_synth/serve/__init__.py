"""The SQL sandbox: a hardened, read-only DuckDB endpoint and web page over the synthetic store.

Three layers stand between a user's SQL and the store: the validator
(:mod:`.validator`: one read-only statement over allow-listed tables), the
hardened DuckDB connection (:mod:`.engine`: read-only, no file or network
access, locked configuration) and the limits (time, rows, bytes, concurrency).
"""
