{#- Fails on rows whose value lies outside [min_value, max_value] (or the open interval when
    inclusive is false); nulls pass, as with accepted_values. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}

{%- set low = '>=' if inclusive else '>' -%}
{%- set high = '<=' if inclusive else '<' -%}

select *
from {{ model }}
where {{ column_name }} is not null
  and not (
    true
    {%- if min_value is not none %} and {{ column_name }} {{ low }} {{ min_value }}{% endif %}
    {%- if max_value is not none %} and {{ column_name }} {{ high }} {{ max_value }}{% endif %}
  )

{% endtest %}
