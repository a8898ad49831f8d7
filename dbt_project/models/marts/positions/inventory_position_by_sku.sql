with

positions as (

    select * from {{ ref('inventory_position') }}

),

final as (

    select
        sku::text as sku,
        max(snapshot_date)::date as snapshot_date,
        sum(on_hand)::numeric as on_hand,
        coalesce(sum(on_hand) filter (where is_nettable), 0)::numeric as nettable_on_hand,
        sum(inventory_value)::numeric as inventory_value,
        count(*)::integer as warehouses

    from positions
    group by sku

)

select * from final
