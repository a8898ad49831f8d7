-- Planned stops per work center with overlapping or touching stops merged into one interval, so capacity
-- never subtracts the same hour twice.

with

stops as (

    select work_center_code, start_at, end_at
    from {{ ref('stg_erp__planned_stops') }}
    where end_at > start_at

),

with_previous_end as (

    select
        *,
        max(end_at) over (
            partition by work_center_code
            order by start_at, end_at
            rows between unbounded preceding and 1 preceding
        ) as previous_end_at

    from stops

),

islands as (

    select
        *,
        sum(case when previous_end_at >= start_at then 0 else 1 end) over (
            partition by work_center_code
            order by start_at, end_at
            rows unbounded preceding
        ) as island

    from with_previous_end

),

final as (

    select
        work_center_code,
        min(start_at) as start_at,
        max(end_at) as end_at,
        count(*) as merged_stops

    from islands
    group by work_center_code, island

)

select * from final
