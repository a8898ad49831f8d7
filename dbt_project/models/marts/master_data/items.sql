with

items as (

    select * from {{ ref('stg_erp__items') }}

),

one_row_per_sku as (

    -- a SKU listed twice in the export: the last line of the file wins
    select distinct on (sku) *
    from items
    order by sku, _row_number desc

),

final as (

    select
        sku::text as sku,
        description::text as description,
        item_type::text as item_type,
        uom::text as uom,
        category::text as category,
        standard_cost::numeric as standard_cost,
        list_price::numeric as list_price,
        lead_time_days::integer as lead_time_days,
        coalesce(
            replenishment,
            case
                when item_type in ('finished', 'semi_finished') then 'make'
                when item_type is not null then 'buy'
            end
        )::text as replenishment,
        case
            when lot_size_rule in ('LFL', 'FOQ', 'EOQ', 'POQ', 'SM', 'LUC', 'PPB', 'WW') then lot_size_rule
            else 'LFL'
        end::text as lot_size_rule,
        fixed_lot_qty::numeric as fixed_lot_qty,
        min_lot::numeric as min_lot,
        max_lot::numeric as max_lot,
        lot_multiple::numeric as lot_multiple,
        safety_stock_override::numeric as safety_stock_override,
        coalesce(is_phantom, false) as is_phantom,
        coalesce(is_active, true) as is_active,
        _business_date::date as export_date

    from one_row_per_sku

)

select * from final
