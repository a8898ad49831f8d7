with

work_centers as (

    select * from {{ ref('stg_erp__work_centers') }}

),

shifts as (

    select * from {{ ref('shifts') }}

),

one_row_per_work_center as (

    select distinct on (work_center_code) *
    from work_centers
    order by work_center_code, _row_number desc

),

weekly_shift_hours as (

    select work_center_code, sum(shift_hours) as weekly_shift_hours
    from shifts
    group by work_center_code

),

final as (

    select
        one_row_per_work_center.work_center_code::text as work_center_code,
        one_row_per_work_center.name::text as name,
        coalesce(one_row_per_work_center.machines, 1)::integer as machines,
        coalesce(one_row_per_work_center.efficiency, 1)::numeric as efficiency,
        one_row_per_work_center.cost_per_hour::numeric as cost_per_hour,
        coalesce(weekly_shift_hours.weekly_shift_hours, 0)::numeric as weekly_shift_hours,
        (
            coalesce(weekly_shift_hours.weekly_shift_hours, 0)
            * coalesce(one_row_per_work_center.machines, 1)
            * coalesce(one_row_per_work_center.efficiency, 1)
        )::numeric as weekly_capacity_hours,
        one_row_per_work_center._business_date::date as export_date

    from one_row_per_work_center
    left join weekly_shift_hours
        on one_row_per_work_center.work_center_code = weekly_shift_hours.work_center_code

)

select * from final
