-- The current factory calendar: the days of the newest active calendar export.

with

source as (

    select * from {{ source('erp', 'calendar') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

renamed as (

    select
        source.calendar_date,
        source.is_working_day,
        {{ normalise_text('source.holiday_name') }} as holiday_name,
        source.is_collective_vacation,

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
            partition by _batch_id, calendar_date, is_working_day, holiday_name, is_collective_vacation
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        calendar_date,
        is_working_day,
        holiday_name,
        is_collective_vacation,

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
