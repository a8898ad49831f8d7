-- The current item-supplier terms: the rows of the newest active item_suppliers export, with SKUs and
-- suppliers missing from their current masters flagged.

with

exports as (

    select * from {{ ref('base_erp__item_suppliers') }}

),

known_items as (

    select distinct sku from {{ ref('stg_erp__items') }}

),

known_suppliers as (

    select distinct supplier_code from {{ ref('stg_erp__suppliers') }}

),

final as (

    select
        exports.sku,
        exports.supplier_code,
        exports.lead_time_days,
        exports.lead_time_min_days,
        exports.lead_time_max_days,
        exports.unit_price,
        exports.moq,
        exports.order_multiple,
        exports.is_preferred,
        known_items.sku is null as is_unknown_sku,
        known_suppliers.supplier_code is null as is_unknown_supplier,

        exports._batch_id,
        exports._business_date,
        exports._source,
        exports._source_ref,
        exports._file_sha256,
        exports._received_at,
        exports._row_number

    from exports
    left join known_items
        on exports.sku = known_items.sku
    left join known_suppliers
        on exports.supplier_code = known_suppliers.supplier_code
    where exports._is_current_export

)

select * from final
