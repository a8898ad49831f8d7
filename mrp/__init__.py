"""Planning library (PL-1..PL-10): plain functions and small dataclasses on numpy and polars.

Never imports dagster or streamlit: the orchestration layer calls these functions. Lot sizing lives in
:mod:`mrp.lotsizing` (``lot_size``), order modifiers in :mod:`mrp.modifiers`.
"""
