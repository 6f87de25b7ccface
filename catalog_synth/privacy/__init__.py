"""The privacy stage: what identifies people, how to fake it, and the gate every table passes.

- ``classify``: column classes (identifying or modelled) by override, key, type, name, content;
- ``fakes``: format-preserving fakes for identifying columns, never equal to a real value;
- ``locales``: which Faker locales a table's rows belong to;
- ``gate``: the checks a synthetic table must pass before anything of it is published;
- ``quality``: the SDMetrics quality score against the real sample;
- ``frames``/``values``: the model-space representation and value normalisation they share.
"""

from catalog_synth.privacy.classify import IDENTIFYING_SEMANTICS, classify_columns, is_public
from catalog_synth.privacy.fakes import FakeContext, fake_column, fake_foreign_key, sample_from_pool
from catalog_synth.privacy.gate import GateInput, dcr_share, run_gate
from catalog_synth.privacy.quality import quality_score

__all__ = [
    "IDENTIFYING_SEMANTICS",
    "FakeContext",
    "GateInput",
    "classify_columns",
    "dcr_share",
    "fake_column",
    "fake_foreign_key",
    "is_public",
    "quality_score",
    "run_gate",
    "sample_from_pool",
]
