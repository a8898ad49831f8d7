-- Standard cost and list price per SKU of the current item master (the input of the price snapshot).

with

items as (

    select * from {{ ref('stg_erp__items') }}

),

final as (

    select distinct on (sku)
        sku,
        standard_cost,
        list_price,
        _business_date as export_date

    from items
    order by sku, _row_number desc

)

select * from final
