{#-
    How each engine rewrites the event-time partitions an incremental run touches.
    DuckDB and Redshift delete the touched rows by unique_key and insert them again (the
    partition column, or a finer slice key: partition_rebuild_key); Athena overwrites the Hive
    partitions in S3 (insert_overwrite).
-#}

{% macro partition_overwrite_strategy() -%}
    {{ return(adapter.dispatch('partition_overwrite_strategy', 'eventlake')()) }}
{%- endmacro %}

{% macro default__partition_overwrite_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro athena__partition_overwrite_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}


{#-
    The unique_key an incremental run replaces rows by. delete+insert (DuckDB, Redshift) deletes
    any key, so a model can rewrite finer slices of a partition (`slice_key`, e.g. one detector's
    hour) and leave the rest of the partition alone. insert_overwrite (Athena) can only replace
    whole Hive partitions, so there it is the partition key and the model rebuilds whole
    partitions. Models compare the result with their slice_key to know which SQL to emit.
-#}
{% macro partition_rebuild_key(partition_key, slice_key) -%}
    {{ return(adapter.dispatch('partition_rebuild_key', 'eventlake')(partition_key, slice_key)) }}
{%- endmacro %}

{% macro default__partition_rebuild_key(partition_key, slice_key) -%}
    {{ return(slice_key) }}
{%- endmacro %}

{% macro athena__partition_rebuild_key(partition_key, slice_key) -%}
    {{ return(partition_key) }}
{%- endmacro %}


{#- Physical layout of a mart per engine: Hive partitions on Athena, dist/sort keys on
    Redshift, nothing on DuckDB (whose lake copy is partitioned by `eventlake publish`).
    Models call config(**eventlake.physical_layout(...)) so no engine sees another's keys. -#}
{% macro physical_layout(partition_by=none, dist=none, sort=none) -%}
    {{ return(adapter.dispatch('physical_layout', 'eventlake')(partition_by, dist, sort)) }}
{%- endmacro %}

{% macro default__physical_layout(partition_by, dist, sort) -%}
    {{ return({}) }}
{%- endmacro %}

{#- dbt-athena splits a write touching more than partitions_limit partitions into batches
    (Athena refuses more than 100 per CTAS/INSERT), so a long backfill needs no hand-made ranges. -#}
{% macro athena__physical_layout(partition_by, dist, sort) -%}
    {{ return({'partitioned_by': partition_by, 'partitions_limit': 100} if partition_by else {}) }}
{%- endmacro %}

{% macro redshift__physical_layout(partition_by, dist, sort) -%}
    {%- set layout = {} -%}
    {%- if dist -%}{%- do layout.update({'dist': dist}) -%}{%- endif -%}
    {%- if sort -%}{%- do layout.update({'sort': sort}) -%}{%- endif -%}
    {{ return(layout) }}
{%- endmacro %}


{#- The whole config of an incremental model that rebuilds event-time partitions: each engine's
    overwrite strategy, the partition key that delete+insert replaces, and the physical layout.
    Models call config(**eventlake.partition_rebuild_config(...)). -#}
{% macro partition_rebuild_config(unique_key, partition_by, dist=none, sort=none) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': eventlake.partition_overwrite_strategy(),
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- do settings.update(eventlake.physical_layout(partition_by=partition_by, dist=dist, sort=sort)) -%}
    {{ return(settings) }}
{%- endmacro %}
