{#- Generic tests written here because dbt hub packages cannot be installed offline. -#}

{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}


{% test expression_is_true(model, column_name=none, expression=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}


{#- A primary key: never null and never repeated, checked in one scan (unique + not_null would
    read the model twice, which matters for views over a million rows). -#}
{% test primary_key(model, column_name) %}
select {{ column_name }} as key_value, count(*) as occurrences
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null
{% endtest %}
