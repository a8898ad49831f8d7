{#- A business code (SKU, supplier, warehouse, work center) as compared everywhere: no surrounding
    whitespace (non-breaking spaces included), upper case, empty = null. -#}
{% macro normalise_code(column) -%}
    nullif(upper(btrim({{ column }}, ' ' || chr(9) || chr(10) || chr(13) || chr(160))), '')
{%- endmacro %}

{#- Free text as kept: trimmed, empty = null. -#}
{% macro normalise_text(column) -%}
    nullif(btrim({{ column }}, ' ' || chr(9) || chr(10) || chr(13) || chr(160)), '')
{%- endmacro %}

{#- An ERP label reduced to lower-case ASCII letters and digits ('Matéria-prima' -> 'materiaprima'),
    so recoding survives accents, case, spaces and hyphens. -#}
{% macro label_key(column) -%}
    regexp_replace(
        translate(lower({{ column }}), 'áàâãäéèêëíìîïóòôõöúùûüçñ', 'aaaaaeeeeiiiiooooouuuucn'),
        '[^a-z0-9]', '', 'g'
    )
{%- endmacro %}
