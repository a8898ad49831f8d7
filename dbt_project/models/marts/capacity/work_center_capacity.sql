with

capacity as (

    select * from {{ ref('int_work_center_capacity_daily') }}

),

final as (

    select
        work_center_code::text as work_center_code,
        calendar_date::date as calendar_date,
        date_trunc('week', calendar_date)::date as week_start,
        is_working_day,
        scheduled_hours::numeric as scheduled_hours,
        planned_stop_hours::numeric as planned_stop_hours,
        machines::integer as machines,
        efficiency::numeric as efficiency,
        available_hours::numeric as available_hours

    from capacity

)

select * from final
