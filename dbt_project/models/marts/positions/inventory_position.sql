with

balances as (

    select * from {{ ref('stg_erp__inventory_balances') }}

),

latest_valid_balances as (

    -- the latest snapshot is complete: a SKU missing from it has no stock, whatever older files said
    select *
    from balances
    where is_latest_snapshot
      and not is_unknown_sku
      and not is_negative_quantity

),

warehouses as (

    select warehouse_code, is_nettable from {{ ref('warehouses') }}

),

final as (

    -- several lines for one SKU and warehouse (lots, locations) add up
    select
        latest_valid_balances.sku::text as sku,
        latest_valid_balances.warehouse_code::text as warehouse_code,
        max(latest_valid_balances.snapshot_date)::date as snapshot_date,
        sum(latest_valid_balances.on_hand)::numeric as on_hand,
        round(
            sum(latest_valid_balances.on_hand * latest_valid_balances.unit_cost)
            / nullif(sum(latest_valid_balances.on_hand), 0),
            6
        )::numeric as unit_cost,
        sum(latest_valid_balances.on_hand * latest_valid_balances.unit_cost)::numeric as inventory_value,
        -- a warehouse missing from the master counts as nettable (the relationship test warns)
        coalesce(bool_and(warehouses.is_nettable), true) as is_nettable

    from latest_valid_balances
    left join warehouses
        on latest_valid_balances.warehouse_code = warehouses.warehouse_code
    group by latest_valid_balances.sku, latest_valid_balances.warehouse_code

)

select * from final
