with

warehouses as (

    select * from {{ ref('stg_erp__warehouses') }}

),

one_row_per_warehouse as (

    select distinct on (warehouse_code) *
    from warehouses
    order by warehouse_code, _row_number desc

),

final as (

    select
        warehouse_code::text as warehouse_code,
        name::text as name,
        warehouse_type::text as warehouse_type,
        -- stock held for quality, blocked or scrapped cannot cover demand
        coalesce(
            {{ label_key('warehouse_type') }} not in (
                'quarentena', 'quarantine', 'bloqueado', 'blocked', 'rejeitado', 'rejected', 'sucata', 'scrap'
            ),
            true
        ) as is_nettable,
        _business_date::date as export_date

    from one_row_per_warehouse

)

select * from final
