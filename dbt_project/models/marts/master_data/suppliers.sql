with

suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

one_row_per_supplier as (

    select distinct on (supplier_code) *
    from suppliers
    order by supplier_code, _row_number desc

),

final as (

    select
        supplier_code::text as supplier_code,
        name::text as name,
        tax_id::text as tax_id,
        city::text as city,
        state::text as state,
        payment_terms_days::integer as payment_terms_days,
        _business_date::date as export_date

    from one_row_per_supplier

)

select * from final
