-- Every active snapshot of the firm customer-order lines, one row per snapshot (its export's business date)
-- and order line: the firm orders a plan of a past week saw (the latest snapshot on or before its date).
-- customer_orders is the latest snapshot. A view: staging already keeps every snapshot.

{{ config(materialized='view') }}

with

orders as (

    select * from {{ ref('stg_erp__customer_orders') }}

),

valid_orders as (

    select *
    from orders
    where not is_unknown_sku
      and quantity > 0

),

one_row_per_order_line as (

    select distinct on (snapshot_date, order_number, line_number) *
    from valid_orders
    order by snapshot_date, order_number, line_number, _row_number desc

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
        snapshot_date::date as snapshot_date,
        is_latest_snapshot

    from one_row_per_order_line

)

select * from final
