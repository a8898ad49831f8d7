-- Weekly and monthly demand add up to the daily demand of the valid sales (active batches, known SKUs,
-- non-negative quantities), SKU by SKU: gap filling adds zeros, never units or revenue.

with

daily as (

    select sku, sum(volume) as volume, sum(revenue) as revenue
    from {{ ref('int_sales_daily') }}
    group by sku

),

weekly as (

    select sku, sum(volume) as volume, sum(revenue) as revenue
    from {{ ref('demand_weekly') }}
    group by sku

),

monthly as (

    select sku, sum(volume) as volume, sum(revenue) as revenue
    from {{ ref('demand_monthly') }}
    group by sku

)

select
    coalesce(daily.sku, weekly.sku, monthly.sku) as sku,
    daily.volume as daily_volume,
    weekly.volume as weekly_volume,
    monthly.volume as monthly_volume,
    daily.revenue as daily_revenue,
    weekly.revenue as weekly_revenue,
    monthly.revenue as monthly_revenue

from daily
full outer join weekly
    on daily.sku = weekly.sku
full outer join monthly
    on coalesce(daily.sku, weekly.sku) = monthly.sku
where daily.volume is distinct from weekly.volume
   or daily.volume is distinct from monthly.volume
   or daily.revenue is distinct from weekly.revenue
   or daily.revenue is distinct from monthly.revenue
