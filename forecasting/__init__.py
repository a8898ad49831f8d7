"""Demand forecasting library: loading, metrics, classification, model selection and models.

Pure Python on polars. Every frame between functions is long, with the columns ``unique_id``, ``ds`` and
``y`` (Nixtla's convention); forecasts add ``model`` and one column per quantile (``p10`` .. ``p90``).
Nothing here imports Dagster or Streamlit: ``orchestration/`` wires these functions into assets.
"""
