with

terms as (

    select * from {{ ref('stg_erp__item_suppliers') }}

),

usable_terms as (

    select *
    from terms
    where not is_unknown_sku
      and not is_unknown_supplier

),

one_row_per_pair as (

    select distinct on (sku, supplier_code) *
    from usable_terms
    order by sku, supplier_code, _row_number desc

),

final as (

    select
        sku::text as sku,
        supplier_code::text as supplier_code,
        lead_time_days::numeric as lead_time_days,
        lead_time_min_days::integer as lead_time_min_days,
        lead_time_max_days::integer as lead_time_max_days,
        unit_price::numeric as unit_price,
        moq::numeric as moq,
        order_multiple::numeric as order_multiple,
        coalesce(is_preferred, false) as is_preferred,
        _business_date::date as export_date

    from one_row_per_pair

)

select * from final
