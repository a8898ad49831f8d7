with

orders as (

    select * from {{ ref('stg_erp__customer_orders') }}

),

latest_valid_orders as (

    select *
    from orders
    where is_latest_snapshot
      and not is_unknown_sku
      and quantity > 0

),

one_row_per_order_line as (

    select distinct on (order_number, line_number) *
    from latest_valid_orders
    order by order_number, line_number, _row_number desc

),

final as (

    select
        order_number::text as order_number,
        line_number::integer as line_number,
        customer::text as customer,
        sku::text as sku,
        quantity::numeric as quantity,
        order_date::date as order_date,
        due_date::date as due_date,
        date_trunc('week', due_date)::date as due_week,
        snapshot_date::date as snapshot_date

    from one_row_per_order_line

)

select * from final
