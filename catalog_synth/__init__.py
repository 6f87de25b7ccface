"""catalog-synth: synthetic sample data for data catalogs."""

__version__ = "0.1.0"
