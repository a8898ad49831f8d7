with

history as (

    select * from {{ ref('customer_orders_history') }}

),

final as (

    select
        order_number,
        line_number,
        customer,
        sku,
        quantity,
        order_date,
        due_date,
        due_week,
        snapshot_date

    from history
    where is_latest_snapshot

)

select * from final
