"""The store stage: every synthetic copy in one DuckDB file, written privately and swapped in
atomically (``copies``), with per-relationship integrity measured in it (``relations``) and the
stored keys and labels a later sync reads back (``labels``).
"""
