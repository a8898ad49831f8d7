-- The current supplier master: the rows of the newest active suppliers export.

with

source as (

    select * from {{ source('erp', 'suppliers') }}

),

current_export as (

    select batch_id, business_date
    from {{ ref('stg_landing__batches') }}
    where is_current_export

),

renamed as (

    select
        {{ normalise_code('source.supplier_code') }} as supplier_code,
        {{ normalise_text('source.name') }} as name,
        {{ normalise_text('source.tax_id') }} as tax_id,
        {{ normalise_text('source.city') }} as city,
        {{ normalise_code('source.state') }} as state,
        source.payment_terms_days,

        source._batch_id,
        current_export.business_date as _business_date,
        source._source,
        source._source_ref,
        source._file_sha256,
        source._received_at,
        source._row_number

    from source
    inner join current_export
        on source._batch_id = current_export.batch_id

),

deduplicated as (

    select
        *,
        row_number() over (
            partition by _batch_id, supplier_code, name, tax_id, city, state, payment_terms_days
            order by _row_number
        ) as occurrence

    from renamed

),

final as (

    select
        supplier_code,
        name,
        tax_id,
        city,
        state,
        payment_terms_days,

        _batch_id,
        _business_date,
        _source,
        _source_ref,
        _file_sha256,
        _received_at,
        _row_number

    from deduplicated
    where occurrence = 1

)

select * from final
