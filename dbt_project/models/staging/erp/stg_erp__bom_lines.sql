-- The current BOM: the lines of the newest active BOM export, with parents and components that are not
-- in the current item master flagged.

with

exports as (

    select * from {{ ref('base_erp__bom_lines') }}

),

known_items as (

    select distinct sku from {{ ref('stg_erp__items') }}

),

final as (

    select
        exports.parent_sku,
        exports.component_sku,
        exports.qty_per,
        exports.scrap_rate,
        exports.valid_from,
        exports.valid_to,
        parents.sku is null as is_unknown_parent,
        components.sku is null as is_unknown_component,

        exports._batch_id,
        exports._business_date,
        exports._source,
        exports._source_ref,
        exports._file_sha256,
        exports._received_at,
        exports._row_number

    from exports
    left join known_items as parents
        on exports.parent_sku = parents.sku
    left join known_items as components
        on exports.component_sku = components.sku
    where exports._is_current_export

)

select * from final
