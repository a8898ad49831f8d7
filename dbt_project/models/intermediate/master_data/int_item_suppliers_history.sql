-- Purchase terms per item and supplier as every active export described them: one row per pair per
-- export, valid from the export's business date until the next export's (exclusive; null = current).

with

exports as (

    select * from {{ ref('base_erp__item_suppliers') }}

),

one_line_per_pair as (

    select
        *,
        row_number() over (partition by _batch_id, sku, supplier_code order by _row_number desc) as line_rank

    from exports

),

final as (

    select
        sku,
        supplier_code,
        _valid_from as valid_from,
        _valid_to as valid_to,
        _is_current_export as is_current,
        lead_time_days,
        lead_time_min_days,
        lead_time_max_days,
        unit_price,
        moq,
        order_multiple,
        coalesce(is_preferred, false) as is_preferred,
        _batch_id

    from one_line_per_pair
    where line_rank = 1

)

select * from final
