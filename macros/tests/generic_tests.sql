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
