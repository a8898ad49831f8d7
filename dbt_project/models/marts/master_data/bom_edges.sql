with

lines as (

    select * from {{ ref('stg_erp__bom_lines') }}

),

usable_lines as (

    -- a line naming an item the master lacks, or consuming nothing, cannot be planned (staging warns)
    select *
    from lines
    where not is_unknown_parent
      and not is_unknown_component
      and qty_per > 0

),

one_row_per_edge as (

    select distinct on (parent_sku, component_sku, valid_from) *
    from usable_lines
    order by parent_sku, component_sku, valid_from, _row_number desc

),

final as (

    select
        parent_sku::text as parent_sku,
        component_sku::text as component_sku,
        qty_per::numeric as qty_per,
        scrap_rate::numeric as scrap_rate,
        valid_from::date as valid_from,
        valid_to::date as valid_to,
        _business_date::date as export_date

    from one_row_per_edge

)

select * from final
