-- One row per date from the first sale (or the ERP calendar's first day) to the ERP calendar's last day,
-- and at least var calendar_default_horizon_days past the last sale. Days the ERP calendar lacks default to
-- Monday-Friday working days without holidays; a collective-vacation day is never a working day.

with

erp_calendar as (

    select * from {{ ref('stg_erp__calendar_days') }}

),

sales as (

    select sale_date from {{ ref('stg_cash_closing__sales') }}

),

erp_days as (

    -- one row per date even if the export repeats one (the last line of the file wins)
    select distinct on (calendar_date)
        calendar_date,
        is_working_day,
        holiday_name,
        is_collective_vacation

    from erp_calendar
    order by calendar_date, _row_number desc

),

bounds as (

    select
        least(
            (select min(calendar_date) from erp_days),
            (select min(sale_date) from sales)
        ) as first_date,
        greatest(
            (select max(calendar_date) from erp_days),
            (select max(sale_date) from sales) + {{ var('calendar_default_horizon_days') }}
        ) as last_date

),

spine as (

    select day::date as calendar_date
    from bounds
    cross join lateral generate_series(bounds.first_date::timestamp, bounds.last_date::timestamp, interval '1 day')
        as days (day)

),

final as (

    select
        spine.calendar_date,
        date_trunc('week', spine.calendar_date)::date as week_start,
        extract(isoyear from spine.calendar_date)::integer as iso_year,
        extract(week from spine.calendar_date)::integer as iso_week,
        extract(isodow from spine.calendar_date)::integer as iso_weekday,
        date_trunc('month', spine.calendar_date)::date as month_start,
        coalesce(erp_days.is_working_day, extract(isodow from spine.calendar_date) <= 5)
            and not coalesce(erp_days.is_collective_vacation, false) as is_working_day,
        erp_days.holiday_name,
        coalesce(erp_days.is_collective_vacation, false) as is_collective_vacation,
        erp_days.calendar_date is not null as is_from_erp_calendar

    from spine
    left join erp_days
        on spine.calendar_date = erp_days.calendar_date

)

select * from final
