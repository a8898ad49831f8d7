-- A BOM cycle makes low-level codes and the explosion impossible. Walks every path of the current BOM
-- (bom_edges, all validity windows together) and returns one row per cycle, named from its smallest SKU:
-- 'A > B > C > A'.

with recursive

edges as (

    select distinct parent_sku, component_sku from {{ ref('bom_edges') }}

),

walks (start_sku, current_sku, path, closes_cycle) as (

    select
        parent_sku,
        component_sku,
        array[parent_sku, component_sku],
        parent_sku = component_sku

    from edges

    union all

    select
        walks.start_sku,
        edges.component_sku,
        walks.path || edges.component_sku,
        edges.component_sku = any(walks.path)

    from walks
    inner join edges
        on edges.parent_sku = walks.current_sku
    where not walks.closes_cycle

)

select
    start_sku,
    array_to_string(path, ' > ') as cycle

from walks
where closes_cycle
  and current_sku = start_sku
  and start_sku = (select min(sku) from unnest(path) as nodes (sku))
