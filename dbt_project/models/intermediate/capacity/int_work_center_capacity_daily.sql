-- Available hours per work center per date: the hours of the shifts that start that day (a night shift
-- ending after midnight counts fully on its start day), minus the planned stops that overlap them, times
-- machines and efficiency; zero on days that are not working days of the factory calendar.

with

calendar as (

    select calendar_date, is_working_day from {{ ref('int_factory_calendar') }}

),

work_centers as (

    -- one row per work center (the last line of the export wins); no machines = one, no efficiency = 100 %
    select distinct on (work_center_code)
        work_center_code,
        coalesce(machines, 1) as machines,
        coalesce(efficiency, 1) as efficiency

    from {{ ref('stg_erp__work_centers') }}
    order by work_center_code, _row_number desc

),

shifts as (

    select distinct on (work_center_code, shift_code, weekday)
        work_center_code,
        shift_code,
        weekday,
        start_time,
        end_time

    from {{ ref('stg_erp__shifts') }}
    order by work_center_code, shift_code, weekday, _row_number desc

),

stops as (

    select work_center_code, start_at, end_at from {{ ref('int_planned_stops_merged') }}

),

shift_runs as (

    select
        shifts.work_center_code,
        calendar.calendar_date,
        shifts.shift_code,
        calendar.calendar_date + shifts.start_time as start_at,
        calendar.calendar_date + shifts.end_time
            + case when shifts.end_time <= shifts.start_time then interval '1 day' else interval '0' end
            as end_at

    from calendar
    inner join shifts
        on shifts.weekday = extract(isodow from calendar.calendar_date)
    where calendar.is_working_day

),

shift_run_hours as (

    select
        shift_runs.work_center_code,
        shift_runs.calendar_date,
        shift_runs.shift_code,
        extract(epoch from shift_runs.end_at - shift_runs.start_at) / 3600 as shift_hours,
        -- (least/greatest skip nulls, so a shift without stops must be excluded explicitly)
        coalesce(sum(
            extract(epoch from least(shift_runs.end_at, stops.end_at) - greatest(shift_runs.start_at, stops.start_at))
            / 3600
        ) filter (where stops.work_center_code is not null), 0) as stop_hours

    from shift_runs
    left join stops
        on shift_runs.work_center_code = stops.work_center_code
        and stops.start_at < shift_runs.end_at
        and stops.end_at > shift_runs.start_at
    group by shift_runs.work_center_code, shift_runs.calendar_date, shift_runs.shift_code,
        shift_runs.start_at, shift_runs.end_at

),

daily_hours as (

    select
        work_center_code,
        calendar_date,
        sum(shift_hours) as scheduled_hours,
        sum(stop_hours) as planned_stop_hours

    from shift_run_hours
    group by work_center_code, calendar_date

),

final as (

    select
        work_centers.work_center_code,
        calendar.calendar_date,
        calendar.is_working_day,
        round(coalesce(daily_hours.scheduled_hours, 0), 4) as scheduled_hours,
        round(coalesce(daily_hours.planned_stop_hours, 0), 4) as planned_stop_hours,
        work_centers.machines,
        work_centers.efficiency,
        round(
            greatest(coalesce(daily_hours.scheduled_hours, 0) - coalesce(daily_hours.planned_stop_hours, 0), 0)
            * work_centers.machines * work_centers.efficiency,
            4
        ) as available_hours

    from work_centers
    cross join calendar
    left join daily_hours
        on work_centers.work_center_code = daily_hours.work_center_code
        and calendar.calendar_date = daily_hours.calendar_date

)

select * from final
