with

stops as (

    select * from {{ ref('stg_erp__planned_stops') }}

),

known_work_centers as (

    select distinct work_center_code from {{ ref('stg_erp__work_centers') }}

),

one_row_per_stop as (

    select distinct on (stops.work_center_code, stops.start_at) stops.*
    from stops
    inner join known_work_centers
        on stops.work_center_code = known_work_centers.work_center_code
    where stops.end_at > stops.start_at
    order by stops.work_center_code, stops.start_at, stops.end_at desc, stops._row_number desc

),

final as (

    select
        work_center_code::text as work_center_code,
        start_at::timestamp as start_at,
        end_at::timestamp as end_at,
        reason::text as reason,
        round(extract(epoch from end_at - start_at) / 3600, 4)::numeric as stop_hours,
        _business_date::date as export_date

    from one_row_per_stop

)

select * from final
