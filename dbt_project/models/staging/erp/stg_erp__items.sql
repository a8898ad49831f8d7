-- The current item master: the rows of the newest active items export.

with

exports as (

    select * from {{ ref('base_erp__items') }}

),

final as (

    select
        sku,
        description,
        item_type,
        item_type_source,
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
        is_phantom,
        is_active,

        _batch_id,
        _business_date,
        _source,
        _source_ref,
        _file_sha256,
        _received_at,
        _row_number

    from exports
    where _is_current_export

)

select * from final
