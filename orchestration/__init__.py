"""Dagster code location of forecasting-mrp: thin assets that call the libraries."""
