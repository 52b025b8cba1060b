{#- Shared by the raw feeds (macros/raw) and the ML zone (macros/ml): sources found by a meta key,
    and the DuckDB view statements over a lake folder. -#}

{% macro sources_with_meta(key) -%}
    {%- set found = [] -%}
    {%- for node in graph.sources.values() if node.meta.get(key) -%}
        {%- do found.append(node) -%}
    {%- endfor -%}
    {{ return(found | sort(attribute='unique_id')) }}
{%- endmacro %}

{#- How many files match a glob in the local lake (DuckDB only). -#}
{% macro lake_file_count(glob) -%}
    {{ return(run_query("select count(*) from glob('" ~ glob ~ "')").columns[0].values()[0]) }}
{%- endmacro %}

{#- The source's schema and a view over `body` (DuckDB, made by the on-run-start hooks). -#}
{% macro source_view_statements(node, body) -%}
    {{ return([
        'create schema if not exists ' ~ node.schema,
        'create or replace view ' ~ node.schema ~ '.' ~ node.identifier ~ ' as ' ~ body,
    ]) }}
{%- endmacro %}
