{#-
    A model pre-hook (every model, from dbt_project.yml) that fails the model named by
    EVENTLAKE_DBT_FAIL_NODE. `eventlake run` sets it only when EVENTLAKE_RUN_FAIL_AT names a dbt
    step, so the resume tests fail a real node mid-build: the nodes before it succeed, the ones
    after it are skipped, and `dbt retry` on the re-run has real work. Renders to nothing
    otherwise, and dbt runs no statement for an empty hook.
-#}
{% macro injected_failure() -%}
    {%- if execute and env_var('EVENTLAKE_DBT_FAIL_NODE', '') == this.name -%}
        {{ exceptions.raise_compiler_error(
            'failure injected at ' ~ this.name ~ ' (EVENTLAKE_DBT_FAIL_NODE); unset it to continue'
        ) }}
    {%- endif -%}
{%- endmacro %}
