-- The current routings: the operations of the newest active routings export, with SKUs missing from the
-- current item master flagged.

with

source as (

    select * from {{ source('erp', 'routings') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

known_items as (

    select distinct sku from {{ ref('stg_erp__items') }}

),

renamed as (

    select
        {{ normalise_code('source.sku') }} as sku,
        source.sequence,
        {{ normalise_code('source.work_center_code') }} as work_center_code,
        source.setup_minutes,
        source.run_minutes_per_unit,

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
            partition by _batch_id, sku, sequence, work_center_code, setup_minutes, run_minutes_per_unit
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        deduplicated.sku,
        deduplicated.sequence,
        deduplicated.work_center_code,
        deduplicated.setup_minutes,
        deduplicated.run_minutes_per_unit,
        known_items.sku is null as is_unknown_sku,

        deduplicated._batch_id,
        deduplicated._business_date,
        deduplicated._source,
        deduplicated._source_ref,
        deduplicated._file_sha256,
        deduplicated._received_at,
        deduplicated._row_number

    from deduplicated
    left join known_items
        on deduplicated.sku = known_items.sku
    where deduplicated.occurrence = 1

)

select * from final
