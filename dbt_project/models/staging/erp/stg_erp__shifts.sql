-- The current shifts: the rows of the newest active shifts export. A shift whose end is not after
-- its start ends on the next day (a night shift).

with

source as (

    select * from {{ source('erp', 'shifts') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

renamed as (

    select
        {{ normalise_code('source.work_center_code') }} as work_center_code,
        {{ normalise_code('source.shift_code') }} as shift_code,
        source.weekday,
        source.start_time,
        source.end_time,
        source.end_time <= source.start_time as crosses_midnight,

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
            partition by _batch_id, work_center_code, shift_code, weekday, start_time, end_time
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        work_center_code,
        shift_code,
        weekday,
        start_time,
        end_time,
        crosses_midnight,

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
