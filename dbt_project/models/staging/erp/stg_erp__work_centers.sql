-- The current work centers: the rows of the newest active work_centers export; the efficiency
-- percent becomes a fraction (90 -> 0.9).

with

source as (

    select * from {{ source('erp', 'work_centers') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

renamed as (

    select
        {{ normalise_code('source.work_center_code') }} as work_center_code,
        {{ normalise_text('source.name') }} as name,
        source.machines,
        source.efficiency_pct * 0.01 as efficiency,
        source.cost_per_hour,

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
            partition by _batch_id, work_center_code, name, machines, efficiency, cost_per_hour
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        work_center_code,
        name,
        machines,
        efficiency,
        cost_per_hour,

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
