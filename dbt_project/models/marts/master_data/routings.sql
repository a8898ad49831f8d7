with

routings as (

    select * from {{ ref('stg_erp__routings') }}

),

known_work_centers as (

    select distinct work_center_code from {{ ref('stg_erp__work_centers') }}

),

usable_operations as (

    select routings.*
    from routings
    inner join known_work_centers
        on routings.work_center_code = known_work_centers.work_center_code
    where not routings.is_unknown_sku

),

one_row_per_operation as (

    select distinct on (sku, sequence) *
    from usable_operations
    order by sku, sequence, _row_number desc

),

final as (

    select
        sku::text as sku,
        sequence::integer as sequence,
        work_center_code::text as work_center_code,
        coalesce(setup_minutes, 0)::numeric as setup_minutes,
        coalesce(run_minutes_per_unit, 0)::numeric as run_minutes_per_unit,
        _business_date::date as export_date

    from one_row_per_operation

)

select * from final
