"""Ingestion library: reading sources, mapping headers, typing values and landing raw batches.

Never imports dagster or streamlit: the orchestration layer calls these functions.
"""
