-- One row per landed file, with the batch-level facts every other staging model needs:
-- whether its rows count (active), whether it is its entity's newest active export, and the window
-- [valid_from, valid_to) in which a master-data export was the current one.

with

source as (

    select * from {{ source('landing', 'batches') }}

),

renamed as (

    select
        batch_id,
        entity,
        source as source_kind,
        source_ref,
        file_name,
        file_sha256,
        -- an export without a date in its name counts from the day it arrived
        coalesce(business_date, received_at::date) as business_date,
        received_at,
        landed_at,
        row_count,
        status,
        error,
        superseded_by,
        status = 'active' as is_active

    from source

),

active_exports as (

    select
        batch_id,
        row_number() over (
            partition by entity
            order by business_date desc, received_at desc, batch_id desc
        ) = 1 as is_current_export,
        lead(business_date) over (
            partition by entity
            order by business_date, received_at, batch_id
        ) as next_export_date

    from renamed
    where is_active

),

final as (

    select
        renamed.*,
        coalesce(active_exports.is_current_export, false) as is_current_export,
        case when renamed.is_active then renamed.business_date end as valid_from,
        active_exports.next_export_date as valid_to

    from renamed
    left join active_exports
        on renamed.batch_id = active_exports.batch_id

)

select * from final
