-- One row per open purchase-order line of every active daily snapshot (raw.purchase_orders),
-- exact duplicates removed; the snapshot date is the export's business date.

with

source as (

    select * from {{ source('erp', 'purchase_orders') }}

),

active_batches as (

    select batch_id, business_date, is_current_export
    from {{ ref('stg_landing__batches') }}
    where is_active

),

known_items as (

    select distinct sku from {{ ref('stg_erp__items') }}

),

renamed as (

    select
        active_batches.business_date as snapshot_date,
        {{ normalise_code('source.po_number') }} as po_number,
        source.line_number,
        {{ normalise_code('source.sku') }} as sku,
        {{ normalise_code('source.supplier_code') }} as supplier_code,
        source.order_date,
        source.due_date,
        source.quantity_ordered,
        source.quantity_received,
        source.unit_price,
        case {{ label_key('source.status') }}
            when 'aberto' then 'open'
            when 'open' then 'open'
            when 'parcial' then 'partial'
            when 'partial' then 'partial'
        end as order_status,
        {{ normalise_text('source.status') }} as order_status_source,
        active_batches.is_current_export as is_latest_snapshot,

        source._batch_id,
        active_batches.business_date as _business_date,
        source._source,
        source._source_ref,
        source._file_sha256,
        source._received_at,
        source._row_number

    from source
    inner join active_batches
        on source._batch_id = active_batches.batch_id

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by
                _batch_id, po_number, line_number, sku, supplier_code, order_date, due_date,
                quantity_ordered, quantity_received, unit_price, order_status_source
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        deduplicated.snapshot_date,
        deduplicated.po_number,
        deduplicated.line_number,
        deduplicated.sku,
        deduplicated.supplier_code,
        deduplicated.order_date,
        deduplicated.due_date,
        deduplicated.quantity_ordered,
        deduplicated.quantity_received,
        deduplicated.unit_price,
        deduplicated.order_status,
        deduplicated.order_status_source,
        deduplicated.is_latest_snapshot,
        known_items.sku is null as is_unknown_sku,
        coalesce(deduplicated.quantity_ordered < 0 or deduplicated.quantity_received < 0, false)
            as is_negative_quantity,

        deduplicated._batch_id,
        deduplicated._business_date,
        deduplicated._source,
        deduplicated._source_ref,
        deduplicated._file_sha256,
        deduplicated._received_at,
        deduplicated._row_number

    from deduplicated
    left join known_items
        on deduplicated.sku = known_items.sku
    where deduplicated.occurrence = 1

)

select * from final
