-- Every active snapshot of the open purchase-order lines and production orders, one row per snapshot (its
-- export's business date, per order type) and order line: what a plan of a past week starts from (the latest
-- snapshot of each order type on or before its date). scheduled_receipts is the latest snapshot of each.
-- A view: staging already keeps every snapshot, so the history costs no storage.

{{ config(materialized='view') }}

with

purchase_orders as (

    select * from {{ ref('stg_erp__purchase_orders') }}

),

production_orders as (

    select * from {{ ref('stg_erp__production_orders') }}

),

purchase_receipts as (

    select
        'purchase' as order_type,
        po_number as order_number,
        line_number,
        sku,
        supplier_code,
        order_status,
        order_date as release_date,
        due_date,
        quantity_ordered,
        coalesce(quantity_received, 0) as quantity_received,
        unit_price,
        snapshot_date,
        is_latest_snapshot,
        _row_number

    from purchase_orders
    where not is_unknown_sku
      and not is_negative_quantity

),

production_receipts as (

    select
        'production' as order_type,
        order_number,
        1 as line_number,
        sku,
        null as supplier_code,
        order_status,
        start_date as release_date,
        due_date,
        quantity_planned as quantity_ordered,
        coalesce(quantity_completed, 0) as quantity_received,
        null::numeric as unit_price,
        snapshot_date,
        is_latest_snapshot,
        _row_number

    from production_orders
    where not is_unknown_sku
      and not is_negative_quantity

),

receipts as (

    select * from purchase_receipts
    union all
    select * from production_receipts

),

one_row_per_order_line as (

    select distinct on (snapshot_date, order_type, order_number, line_number) *
    from receipts
    order by snapshot_date, order_type, order_number, line_number, _row_number desc

),

final as (

    select
        order_type::text as order_type,
        order_number::text as order_number,
        line_number::integer as line_number,
        sku::text as sku,
        supplier_code::text as supplier_code,
        order_status::text as order_status,
        release_date::date as release_date,
        due_date::date as due_date,
        date_trunc('week', due_date)::date as due_week,
        quantity_ordered::numeric as quantity_ordered,
        quantity_received::numeric as quantity_received,
        (quantity_ordered - quantity_received)::numeric as open_quantity,
        unit_price::numeric as unit_price,
        snapshot_date::date as snapshot_date,
        is_latest_snapshot

    from one_row_per_order_line
    -- a line received (or produced) in full is no longer a receipt
    where quantity_ordered - quantity_received > 0

)

select * from final
