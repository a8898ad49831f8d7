-- The item master as every active export described it: one row per SKU per export, valid from the
-- export's business date until the next export's (exclusive; null = still current). An as-of query for
-- date d takes the rows with valid_from <= d and (valid_to is null or d < valid_to).

with

exports as (

    select * from {{ ref('base_erp__items') }}

),

one_line_per_sku as (

    -- a SKU listed twice in one export: the last line of the file wins, as in the current master
    select
        *,
        row_number() over (partition by _batch_id, sku order by _row_number desc) as line_rank

    from exports

),

final as (

    select
        sku,
        _valid_from as valid_from,
        _valid_to as valid_to,
        _is_current_export as is_current,
        description,
        item_type,
        uom,
        category,
        standard_cost,
        list_price,
        lead_time_days,
        replenishment,
        lot_size_rule,
        fixed_lot_qty,
        min_lot,
        max_lot,
        lot_multiple,
        safety_stock_override,
        coalesce(is_phantom, false) as is_phantom,
        coalesce(is_active, true) as is_active,
        _batch_id

    from one_line_per_sku
    where line_rank = 1

)

select * from final
