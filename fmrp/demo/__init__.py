"""The demo factory: a plausible Brazilian manufacturer's inbox (cash-closing emails, ERP files) and truth.

    from fmrp.demo import FactoryConfig, generate_factory
    summary = generate_factory(FactoryConfig(finished_goods=300, years=3), inbox_dir=..., truth_dir=...)

The files follow docs/sources.md exactly; the ground truth (demand pattern of every SKU, seeded defects,
manifest with sha256 of every file) lets tests and demos check what the pipeline recovers.
"""

from fmrp.demo.config import FactoryConfig
from fmrp.demo.factory import DemoDataExistsError, FactorySummary, generate_factory

__all__ = ["DemoDataExistsError", "FactoryConfig", "FactorySummary", "generate_factory"]
