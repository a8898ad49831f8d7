-- Every active BOM export (raw.bom), renamed and without exact duplicates; the percent scrap becomes
-- a fraction (2,0 % -> 0.02). The current BOM (stg_erp__bom_lines) and its history read from here.

with

source as (

    select * from {{ source('erp', 'bom') }}

),

active_batches as (

    select batch_id, business_date, is_current_export, valid_from, valid_to
    from {{ ref('stg_landing__batches') }}
    where is_active

),

renamed as (

    select
        {{ normalise_code('source.parent_sku') }} as parent_sku,
        {{ normalise_code('source.component_sku') }} as component_sku,
        source.qty_per,
        coalesce(source.scrap_pct, 0) * 0.01 as scrap_rate,
        source.valid_from,
        source.valid_to,

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
            partition by _batch_id, parent_sku, component_sku, qty_per, scrap_rate, valid_from, valid_to
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        parent_sku,
        component_sku,
        qty_per,
        scrap_rate,
        valid_from,
        valid_to,

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
