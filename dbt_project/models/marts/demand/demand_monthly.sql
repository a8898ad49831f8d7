with

monthly as (

    select * from {{ ref('int_demand_monthly') }}

),

final as (

    select
        sku::text as sku,
        month_start::date as month_start,
        extract(year from month_start)::integer as year,
        extract(month from month_start)::integer as month,
        volume::numeric as volume,
        revenue::numeric as revenue,
        avg_price::numeric as avg_price,
        sales_days::integer as sales_days,
        is_gap_filled,
        is_outlier,
        outlier_threshold::numeric as outlier_threshold,
        is_complete_month

    from monthly

)

select * from final
