"""The small core every stage may import: shared types (tables, columns, results, the
``Semantic`` kinds), the config file and its sections, model-space frames, value helpers,
plugin lookup by entry point, stage timings and log formatting. It imports no other stage.
"""
