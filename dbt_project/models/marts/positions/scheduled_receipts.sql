with

history as (

    select * from {{ ref('scheduled_receipts_history') }}

),

final as (

    select
        order_type,
        order_number,
        line_number,
        sku,
        supplier_code,
        order_status,
        release_date,
        due_date,
        due_week,
        quantity_ordered,
        quantity_received,
        open_quantity,
        unit_price,
        snapshot_date

    from history
    where is_latest_snapshot

)

select * from final
