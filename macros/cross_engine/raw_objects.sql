{#-
    The raw objects of a feed that a staging model has not read yet, as a list of paths/URIs.
    DuckDB lists the lake folder (a glob costs no file reads). Athena and Redshift list the objects
    landed in the last var raw_relist_hours (default 48) hours; an object landing with a name older
    than that window needs a full refresh of staging, the documented backfill path there. The window
    is a predicate on the landed_hour partition (projected on Athena, registered on Redshift by
    register_raw_partitions), so only those prefixes are read.
-#}

{% macro unstaged_objects(source_relation, staged_relation) -%}
    {{ return(adapter.dispatch('unstaged_objects', 'eventlake')(source_relation, staged_relation)) }}
{%- endmacro %}

{% macro default__unstaged_objects(source_relation, staged_relation) -%}
    {%- set sql -%}
        select distinct landed.source_file
        from {{ source_relation }} as landed
        where
            landed.landed_at >= {{ dbt.dateadd('hour', -1 * var('raw_relist_hours', 48), dbt.current_timestamp()) }}
            and landed.source_file not in (select staged.source_file from {{ staged_relation }} as staged)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['s3://offline-compile/sample-object'])) }}
{%- endmacro %}

{#- DuckDB compares lake keys (eventlake.duckdb_lake_key), so a copied or moved data folder has
    nothing new to stage. An object staged under its absolute path, before source_file became
    the lake key, still counts as staged (no object of an older warehouse is staged twice). -#}
{% macro duckdb__unstaged_objects(source_relation, staged_relation) -%}
    {%- set sql -%}
        select listed.object_key
        from (
            select
                file,
                {{ eventlake.duckdb_lake_key('file') }} as object_key
            from glob('{{ eventlake.lake_path("raw") }}/{{ source_relation.identifier }}/*/*/*/*/*')
        ) as listed
        where
            listed.object_key not in (select distinct staged.source_file from {{ staged_relation }} as staged)
            and listed.file not in (select distinct staged.source_file from {{ staged_relation }} as staged)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['offline-compile/sample-object'])) }}
{%- endmacro %}

{#- An object's identity on DuckDB: its path relative to the lake root,
    raw/<feed>/YYYY/MM/DD/HH/<name>, the key it has under an S3 lake's root. Taken from the end of
    the path (every raw object sits exactly six levels below raw/), so it does not depend on how
    the data folder is spelled (absolute, relative, through a symlink) or where it was copied. -#}
{% macro duckdb_lake_key(path) -%}
    'raw/' || regexp_extract({{ path }}, '[^/]+/[^/]+/[^/]+/[^/]+/[^/]+/[^/]+$')
{%- endmacro %}

{% macro redshift__unstaged_objects(source_relation, staged_relation) -%}
    {{ return(eventlake.athena__unstaged_objects(source_relation, staged_relation)) }}
{%- endmacro %}

{% macro athena__unstaged_objects(source_relation, staged_relation) -%}
    {%- set since = modules.datetime.datetime.utcnow() - modules.datetime.timedelta(hours=var('raw_relist_hours', 48)) -%}
    {%- set sql -%}
        select distinct landed.source_file
        from {{ source_relation }} as landed
        where
            landed.landed_hour >= '{{ since.strftime("%Y/%m/%d/%H") }}'
            and landed.source_file not in (select staged.source_file from {{ staged_relation }} as staged)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['s3://offline-compile/raw/2000/01/01/00/sample-object'])) }}
{%- endmacro %}


{#-
    The first CTE body of a staging model: the feed's lines (line, source_file, landed_at,
    read_error), of every object when `objects` is none (a full refresh), else of those objects
    only (eventlake.unstaged_objects). DuckDB reads the listed files themselves: it does not push
    a filter on the file name into read_blob's glob, so filtering the feed's view would read every
    object of the feed on every run. The cloud engines filter their external tables, whose
    processing-hour partitions prune the prefixes read (eventlake.raw_objects_filter).
-#}
{% macro raw_lines(source_relation, objects=none) -%}
    {{ return(adapter.dispatch('raw_lines', 'eventlake')(source_relation, objects)) }}
{%- endmacro %}

{% macro default__raw_lines(source_relation, objects) -%}
    select
        source_file,
        landed_at,
        line,
        {{ eventlake.raw_read_error() }} as read_error
    from {{ source_relation }}
    {%- if objects is not none %}
    where {{ eventlake.raw_objects_filter(objects) }}
    {%- endif %}
{%- endmacro %}

{% macro duckdb__raw_lines(source_relation, objects) -%}
    {%- if objects is none or not execute -%}
        {{ eventlake.default__raw_lines(source_relation, objects) }}
    {%- elif objects | length == 0 -%}
        {{ eventlake.no_raw_lines() }}
    {%- else -%}
        {%- set node = eventlake.raw_feed_sources()
            | selectattr('identifier', 'equalto', source_relation.identifier) | first -%}
        {%- set files = [] -%}
        {#- a lake key is raw/<feed>/YYYY/MM/DD/HH/<name>, under the lake root -#}
        {%- for key in objects -%}{%- do files.append(eventlake.lake_path(key)) -%}{%- endfor -%}
        select source_file, landed_at, line, read_error
        from ({{ eventlake.raw_object_lines(files, eventlake.raw_max_line_bytes(node)) }}) as new_lines
    {%- endif %}
{%- endmacro %}


{#- The staging filter for a list of objects. Athena and Redshift also name their processing-hour
    partitions, so the engine opens only those prefixes instead of every object of the feed. -#}
{% macro raw_objects_filter(objects) -%}
    {{ return(adapter.dispatch('raw_objects_filter', 'eventlake')(objects)) }}
{%- endmacro %}

{% macro default__raw_objects_filter(objects) -%}
    {{ eventlake.is_one_of('source_file', objects) }}
{%- endmacro %}

{% macro redshift__raw_objects_filter(objects) -%}
    {{ eventlake.athena__raw_objects_filter(objects) }}
{%- endmacro %}

{% macro athena__raw_objects_filter(objects) -%}
    {%- set hours = [] -%}
    {%- for object in objects -%}
        {%- set found = modules.re.search('/(\\d{4}/\\d{2}/\\d{2}/\\d{2})/[^/]*$', object) -%}
        {%- if found and found.group(1) not in hours -%}{%- do hours.append(found.group(1)) -%}{%- endif -%}
    {%- endfor -%}
    {{ eventlake.is_one_of('landed_hour', hours | sort) }} and {{ eventlake.is_one_of('source_file', objects) }}
{%- endmacro %}
