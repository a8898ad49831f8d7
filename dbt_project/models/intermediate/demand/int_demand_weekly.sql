-- Demand per SKU per ISO week (Monday start), gap-filled: every week from the SKU's first sale week to the
-- last week of data has a row (zero where nothing sold), with a robust outlier flag.

{{ demand_buckets('week') }}
