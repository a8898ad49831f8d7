-- Demand per SKU per day: the valid sales lines of the active cash-closing batches (known SKU,
-- non-negative quantity), summed.

with

sales as (

    select * from {{ ref('stg_cash_closing__sales') }}

),

valid_sales as (

    select *
    from sales
    where not is_unknown_sku
      and not is_negative_quantity

),

final as (

    select
        sku,
        sale_date,
        sum(quantity) as volume,
        sum(revenue) as revenue,
        count(*) as sales_lines

    from valid_sales
    group by sku, sale_date

)

select * from final
