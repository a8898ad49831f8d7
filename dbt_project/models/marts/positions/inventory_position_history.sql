-- Every active inventory snapshot, one row per business date, SKU and warehouse: what a plan of a past week
-- nets against (the latest snapshot on or before its date). inventory_position is its latest snapshot.
-- A view: staging already keeps every snapshot, so the history costs no storage.

{{ config(materialized='view') }}

with

balances as (

    select * from {{ ref('stg_erp__inventory_balances') }}

),

valid_balances as (

    -- a snapshot is complete: a SKU missing from it has no stock, whatever older files said
    select *
    from balances
    where not is_unknown_sku
      and not is_negative_quantity

),

warehouses as (

    select warehouse_code, is_nettable from {{ ref('warehouses') }}

),

final as (

    -- several lines for one SKU and warehouse (lots, locations) add up
    select
        valid_balances._business_date::date as business_date,
        bool_or(valid_balances.is_latest_snapshot) as is_latest_snapshot,
        valid_balances.sku::text as sku,
        valid_balances.warehouse_code::text as warehouse_code,
        max(valid_balances.snapshot_date)::date as snapshot_date,
        sum(valid_balances.on_hand)::numeric as on_hand,
        round(
            sum(valid_balances.on_hand * valid_balances.unit_cost) / nullif(sum(valid_balances.on_hand), 0),
            6
        )::numeric as unit_cost,
        sum(valid_balances.on_hand * valid_balances.unit_cost)::numeric as inventory_value,
        -- a warehouse missing from the master counts as nettable (the relationship test warns)
        coalesce(bool_and(warehouses.is_nettable), true) as is_nettable

    from valid_balances
    left join warehouses
        on valid_balances.warehouse_code = warehouses.warehouse_code
    group by valid_balances._business_date, valid_balances.sku, valid_balances.warehouse_code

)

select * from final
