-- One row per sales line of the active cash-closing batches, exact duplicates removed.
-- Unknown SKUs and negative quantities are flagged here and left out of demand downstream.

with

source as (

    select * from {{ source('cash_closing', 'sales') }}

),

active_batches as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_active

),

known_items as (

    select distinct sku from {{ ref('stg_erp__items') }}

),

renamed as (

    select
        source.sale_date,
        {{ normalise_code('source.sku') }} as sku,
        {{ normalise_text('source.description') }} as description,
        source.quantity,
        source.unit_price,
        source.revenue,

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
        -- the same line delivered twice (within a file or in two emails) counts once
        row_number() over (
            partition by sale_date, sku, description, quantity, unit_price, revenue
            order by _received_at desc, _batch_id desc, _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        deduplicated.sale_date,
        deduplicated.sku,
        deduplicated.description,
        deduplicated.quantity,
        deduplicated.unit_price,
        deduplicated.revenue,
        known_items.sku is null as is_unknown_sku,
        coalesce(deduplicated.quantity < 0, false) as is_negative_quantity,

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
