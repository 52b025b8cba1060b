{#-
    Which detector flagged a reading or an event: 'rcf' (the room's Random Cut Forest),
    'stuck_rule' (int_temperature_stuck_readings), 'both', or null when neither did.
    `rcf` and `stuck` are boolean SQL expressions.
-#}
{% macro detected_by(rcf, stuck) -%}
    case
        when ({{ rcf }}) and ({{ stuck }}) then 'both'
        when {{ rcf }} then 'rcf'
        when {{ stuck }} then 'stuck_rule'
    end
{%- endmacro %}
