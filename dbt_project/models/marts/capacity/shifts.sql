with

shifts as (

    select * from {{ ref('stg_erp__shifts') }}

),

known_work_centers as (

    select distinct work_center_code from {{ ref('stg_erp__work_centers') }}

),

one_row_per_shift as (

    select distinct on (shifts.work_center_code, shifts.shift_code, shifts.weekday) shifts.*
    from shifts
    inner join known_work_centers
        on shifts.work_center_code = known_work_centers.work_center_code
    order by shifts.work_center_code, shifts.shift_code, shifts.weekday, shifts._row_number desc

),

final as (

    select
        work_center_code::text as work_center_code,
        shift_code::text as shift_code,
        weekday::integer as weekday,
        start_time::time as start_time,
        end_time::time as end_time,
        crosses_midnight,
        round(
            extract(epoch from end_time - start_time) / 3600
            + case when crosses_midnight then 24 else 0 end,
            4
        )::numeric as shift_hours,
        _business_date::date as export_date

    from one_row_per_shift

)

select * from final
