-- Every active item-master export (raw.items), renamed, recoded and without exact duplicates:
-- the current master (stg_erp__items) and the item history (int_items_history) both read from here.

with

source as (

    select * from {{ source('erp', 'items') }}

),

active_batches as (

    select batch_id, business_date, is_current_export, valid_from, valid_to
    from {{ ref('stg_landing__batches') }}
    where is_active

),

renamed as (

    select
        {{ normalise_code('source.sku') }} as sku,
        {{ normalise_text('source.description') }} as description,
        case {{ label_key('source.item_type') }}
            when 'acabado' then 'finished'
            when 'produtoacabado' then 'finished'
            when 'finished' then 'finished'
            when 'semiacabado' then 'semi_finished'
            when 'semifinished' then 'semi_finished'
            when 'componente' then 'component'
            when 'component' then 'component'
            when 'materiaprima' then 'raw_material'
            when 'rawmaterial' then 'raw_material'
            when 'embalagem' then 'packaging'
            when 'packaging' then 'packaging'
            when 'revenda' then 'resale'
            when 'mercadoriapararevenda' then 'resale'
            when 'resale' then 'resale'
        end as item_type,
        {{ normalise_text('source.item_type') }} as item_type_source,
        {{ normalise_code('source.uom') }} as uom,
        {{ normalise_text('source.category') }} as category,
        source.standard_cost,
        source.list_price,
        source.lead_time_days,
        case {{ label_key('source.replenishment') }}
            when 'fabricar' then 'make'
            when 'produzir' then 'make'
            when 'make' then 'make'
            when 'comprar' then 'buy'
            when 'buy' then 'buy'
        end as replenishment,
        {{ normalise_code('source.lot_size_rule') }} as lot_size_rule,
        source.fixed_lot_qty,
        source.min_lot,
        source.max_lot,
        source.lot_multiple,
        source.safety_stock_override,
        source.is_phantom,
        source.is_active,

        source._batch_id,
        active_batches.business_date as _business_date,
        active_batches.is_current_export as _is_current_export,
        active_batches.valid_from as _valid_from,
        active_batches.valid_to as _valid_to,
        source._source,
        source._source_ref,
        source._file_sha256,
        source._received_at,
        source._row_number

    from source
    inner join active_batches
        on source._batch_id = active_batches.batch_id

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by
                _batch_id, sku, description, item_type_source, uom, category, standard_cost, list_price,
                lead_time_days, replenishment, lot_size_rule, fixed_lot_qty, min_lot, max_lot, lot_multiple,
                safety_stock_override, is_phantom, is_active
            order by _row_number
        ) as occurrence

    from renamed

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
        _is_current_export,
        _valid_from,
        _valid_to,
        _source,
        _source_ref,
        _file_sha256,
        _received_at,
        _row_number

    from deduplicated
    where occurrence = 1

)

select * from final
