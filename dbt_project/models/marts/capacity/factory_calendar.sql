with

calendar as (

    select * from {{ ref('int_factory_calendar') }}

),

capacity as (

    select calendar_date, sum(available_hours) as productive_hours
    from {{ ref('int_work_center_capacity_daily') }}
    group by calendar_date

),

final as (

    select
        calendar.calendar_date::date as calendar_date,
        calendar.week_start::date as week_start,
        calendar.iso_year::integer as iso_year,
        calendar.iso_week::integer as iso_week,
        calendar.iso_weekday::integer as iso_weekday,
        calendar.month_start::date as month_start,
        calendar.is_working_day,
        (calendar.holiday_name is not null) as is_holiday,
        calendar.holiday_name::text as holiday_name,
        calendar.is_collective_vacation,
        coalesce(capacity.productive_hours, 0)::numeric as productive_hours,
        calendar.is_from_erp_calendar

    from calendar
    left join capacity
        on calendar.calendar_date = capacity.calendar_date

)

select * from final
