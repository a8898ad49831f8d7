-- BOM lines as every active BOM export described them: one row per line per export. valid_from /
-- valid_to is the export's window (exclusive end; null = current export), as in the other history models;
-- effective_from / effective_to is the line's own engineering validity (inclusive; null = open).

with

exports as (

    select * from {{ ref('base_erp__bom_lines') }}

),

one_line_per_edge as (

    select
        *,
        row_number() over (
            partition by _batch_id, parent_sku, component_sku, valid_from
            order by _row_number desc
        ) as line_rank

    from exports

),

final as (

    select
        parent_sku,
        component_sku,
        valid_from as effective_from,
        valid_to as effective_to,
        _valid_from as valid_from,
        _valid_to as valid_to,
        _is_current_export as is_current,
        qty_per,
        scrap_rate,
        _batch_id

    from one_line_per_edge
    where line_rank = 1

)

select * from final
