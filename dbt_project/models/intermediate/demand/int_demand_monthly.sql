-- Demand per SKU per calendar month, gap-filled: every month from the SKU's first sale month to the last
-- month of data has a row (zero where nothing sold), with a robust outlier flag.

{{ demand_buckets('month') }}
