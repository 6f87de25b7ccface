"""The link stage: synthetic copies that join like the real schema.

plan     per-table key work decided once per run (sampling parent, measured relationships, sizes)
profile  worker side: samples of whole families, children-per-parent shapes (aggregates)
link     calling process: synthetic children get synthetic parents before publication
assign   the drawing functions the linker uses (pure, synthetic data only)
labels   keys into reference tables keep their meaning: tokens of real keys, counts per label
suggest  likely relationships from column names, verified by containment in the warehouse

The relationships themselves are read with the tables (``connectors.graph``); their integrity in
the store is measured by ``catalog_synth.store.relations``. Import from the modules: this package
imports nothing, so the CLI can list ``keys`` cheaply.
"""
