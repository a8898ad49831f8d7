-- One row per open production order of every active daily snapshot (raw.production_orders),
-- exact duplicates removed; the snapshot date is the export's business date.

with

source as (

    select * from {{ source('erp', 'production_orders') }}

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
        {{ normalise_code('source.order_number') }} as order_number,
        {{ normalise_code('source.sku') }} as sku,
        source.quantity_planned,
        source.quantity_completed,
        source.start_date,
        source.due_date,
        case {{ label_key('source.status') }}
            when 'firme' then 'firm'
            when 'firm' then 'firm'
            when 'liberada' then 'released'
            when 'liberado' then 'released'
            when 'released' then 'released'
            when 'emprocesso' then 'in_process'
            when 'emproducao' then 'in_process'
            when 'inprocess' then 'in_process'
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
                _batch_id, order_number, sku, quantity_planned, quantity_completed, start_date, due_date,
                order_status_source
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        deduplicated.snapshot_date,
        deduplicated.order_number,
        deduplicated.sku,
        deduplicated.quantity_planned,
        deduplicated.quantity_completed,
        deduplicated.start_date,
        deduplicated.due_date,
        deduplicated.order_status,
        deduplicated.order_status_source,
        deduplicated.is_latest_snapshot,
        known_items.sku is null as is_unknown_sku,
        coalesce(deduplicated.quantity_planned < 0 or deduplicated.quantity_completed < 0, false)
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
