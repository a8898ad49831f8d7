with

weekly as (

    select * from {{ ref('int_demand_weekly') }}

),

final as (

    select
        sku::text as sku,
        week_start::date as week_start,
        extract(isoyear from week_start)::integer as iso_year,
        extract(week from week_start)::integer as iso_week,
        volume::numeric as volume,
        revenue::numeric as revenue,
        avg_price::numeric as avg_price,
        sales_days::integer as sales_days,
        is_gap_filled,
        is_outlier,
        outlier_threshold::numeric as outlier_threshold,
        is_complete_week

    from weekly

)

select * from final
