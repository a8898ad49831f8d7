-- The current warehouses: the rows of the newest active warehouses export.

with

source as (

    select * from {{ source('erp', 'warehouses') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

renamed as (

    select
        {{ normalise_code('source.warehouse_code') }} as warehouse_code,
        {{ normalise_text('source.name') }} as name,
        {{ normalise_text('source.warehouse_type') }} as warehouse_type,

        source._batch_id,
        current_export.business_date as _business_date,
        source._source,
        source._source_ref,
        source._file_sha256,
        source._received_at,
        source._row_number

    from source
    inner join current_export
        on source._batch_id = current_export.batch_id

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by _batch_id, warehouse_code, name, warehouse_type
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        warehouse_code,
        name,
        warehouse_type,

        _batch_id,
        _business_date,
        _source,
        _source_ref,
        _file_sha256,
        _received_at,
        _row_number

    from deduplicated
    where occurrence = 1

)

select * from final
