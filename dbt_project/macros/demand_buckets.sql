{#-
    The body of int_demand_weekly and int_demand_monthly, which must stay identical but for the bucket.

    From int_sales_daily: sum per SKU and bucket (date_trunc, so weeks start on Monday), one row for every
    bucket from the SKU's first sale bucket to the last bucket of data (zeros where nothing sold), and an
    outlier flag: volume above q3 + k x IQR of the SKU's non-zero buckets (k = var outlier_iqr_multiplier,
    IQR floored at var outlier_min_iqr_share_of_q3 x q3; no flag with fewer than
    var outlier_min_nonzero_buckets non-zero buckets). Non-zero buckets, because with intermittent demand
    the zeros would make every sale an outlier.
    Only the last bucket can be incomplete: it is complete once the data reaches its last day on a weekday
    the business sells on (the weekdays seen in the sales), so a week of data ending on Friday is complete
    for a shop closed at weekends. The factory calendar is no guide: sales go on in collective vacation.
-#}
{% macro demand_buckets(grain) %}
{%- set step = "interval '1 " ~ grain ~ "'" -%}

with

daily as (

    select * from {{ ref('int_sales_daily') }}

),

bucketed as (

    select
        sku,
        date_trunc('{{ grain }}', sale_date)::date as bucket_start,
        sum(volume) as volume,
        sum(revenue) as revenue,
        count(*) as sales_days

    from daily
    group by sku, date_trunc('{{ grain }}', sale_date)::date

),

data_end as (

    select
        max(sale_date) as last_sale_date,
        date_trunc('{{ grain }}', max(sale_date))::date as last_bucket_start

    from daily

),

sku_spans as (

    select sku, min(bucket_start) as first_bucket_start
    from bucketed
    group by sku

),

spine as (

    select
        sku_spans.sku,
        bucket.bucket_start::date as bucket_start

    from sku_spans
    cross join data_end
    cross join lateral generate_series(
        sku_spans.first_bucket_start::timestamp,
        data_end.last_bucket_start::timestamp,
        {{ step }}
    ) as bucket (bucket_start)

),

filled as (

    select
        spine.sku,
        spine.bucket_start,
        coalesce(bucketed.volume, 0) as volume,
        coalesce(bucketed.revenue, 0) as revenue,
        coalesce(bucketed.sales_days, 0) as sales_days,
        bucketed.sku is null as is_gap_filled

    from spine
    left join bucketed
        on spine.sku = bucketed.sku
        and spine.bucket_start = bucketed.bucket_start

),

nonzero_quartiles as (

    select
        sku,
        count(*) as nonzero_buckets,
        percentile_cont(0.25) within group (order by volume) as q1,
        percentile_cont(0.75) within group (order by volume) as q3

    from filled
    where volume > 0
    group by sku

),

outlier_thresholds as (

    select
        sku,
        case
            when nonzero_buckets >= {{ var('outlier_min_nonzero_buckets') }}
                then (
                    q3 + {{ var('outlier_iqr_multiplier') }}
                    * greatest(q3 - q1, {{ var('outlier_min_iqr_share_of_q3') }} * q3)
                )::numeric
        end as outlier_threshold

    from nonzero_quartiles

),

selling_weekdays as (

    select distinct extract(isodow from sale_date)::integer as iso_weekday
    from daily

),

last_bucket as (

    -- the last day of the last bucket on which the business sells
    select max(day::date) as last_selling_day
    from data_end
    cross join lateral generate_series(
        data_end.last_bucket_start::timestamp,
        data_end.last_bucket_start::timestamp + {{ step }} - interval '1 day',
        interval '1 day'
    ) as days (day)
    where extract(isodow from day)::integer in (select iso_weekday from selling_weekdays)

),

final as (

    select
        filled.sku,
        filled.bucket_start as {{ grain }}_start,
        filled.volume,
        filled.revenue,
        filled.revenue / nullif(filled.volume, 0) as avg_price,
        filled.sales_days,
        filled.is_gap_filled,
        coalesce(filled.volume > outlier_thresholds.outlier_threshold, false) as is_outlier,
        outlier_thresholds.outlier_threshold,
        filled.bucket_start < data_end.last_bucket_start
            or data_end.last_sale_date >= last_bucket.last_selling_day as is_complete_{{ grain }}

    from filled
    cross join data_end
    cross join last_bucket
    left join outlier_thresholds
        on filled.sku = outlier_thresholds.sku

)

select * from final
{% endmacro %}
