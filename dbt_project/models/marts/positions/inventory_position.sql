with

history as (

    select * from {{ ref('inventory_position_history') }}

),

final as (

    select
        sku,
        warehouse_code,
        snapshot_date,
        on_hand,
        unit_cost,
        inventory_value,
        is_nettable

    from history
    where is_latest_snapshot

)

select * from final
