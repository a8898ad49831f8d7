-- Every active item-supplier export (raw.item_suppliers), renamed and without exact duplicates.
-- The current terms (stg_erp__item_suppliers) and their history read from here.

with

source as (

    select * from {{ source('erp', 'item_suppliers') }}

),

active_batches as (

    select batch_id, business_date, is_current_export, valid_from, valid_to
    from {{ ref('stg_landing__batches') }}
    where is_active

),

renamed as (

    select
        {{ normalise_code('source.sku') }} as sku,
        {{ normalise_code('source.supplier_code') }} as supplier_code,
        source.lead_time_days,
        source.lead_time_min_days,
        source.lead_time_max_days,
        source.unit_price,
        source.moq,
        source.order_multiple,
        source.is_preferred,

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
                _batch_id, sku, supplier_code, lead_time_days, lead_time_min_days, lead_time_max_days,
                unit_price, moq, order_multiple, is_preferred
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        sku,
        supplier_code,
        lead_time_days,
        lead_time_min_days,
        lead_time_max_days,
        unit_price,
        moq,
        order_multiple,
        is_preferred,

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
