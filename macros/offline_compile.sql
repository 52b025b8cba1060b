{#-
    Offline compilation for the cloud engines. `dbt compile --target athena|redshift` must work in
    CI with no AWS account, but is_incremental() and run_query() ask the live catalog. With
    `--vars '{offline_compile: full}'` (or `incremental`) the project renders that branch of every
    model without touching the warehouse, using a fixed sample for anything it would have queried.
    Unset (always, in real runs) these macros are exactly is_incremental() and run_query().
-#}

{% macro offline_compile_mode() -%}
    {%- set mode = var('offline_compile', none) -%}
    {%- if mode not in [none, 'full', 'incremental'] -%}
        {{ exceptions.raise_compiler_error("var offline_compile must be 'full' or 'incremental', got " ~ mode) }}
    {%- endif -%}
    {{ return(mode) }}
{%- endmacro %}


{% macro incremental_run() -%}
    {%- set mode = eventlake.offline_compile_mode() -%}
    {%- if mode is not none -%}{{ return(mode == 'incremental') }}{%- endif -%}
    {{ return(is_incremental()) }}
{%- endmacro %}


{#- The first column of a query's result, or `offline_sample` when compiling offline. Offline, the
    query is written to dbt's debug log (the cloud SQL gate, tests/engines, parses every one). -#}
{% macro query_column(sql, offline_sample) -%}
    {%- if eventlake.offline_compile_mode() is not none -%}
        {%- do log('eventlake offline run_query <<<' ~ sql ~ '>>>') -%}
        {{ return(offline_sample) }}
    {%- endif -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {{ return(run_query(sql).columns[0].values()) }}
{%- endmacro %}
