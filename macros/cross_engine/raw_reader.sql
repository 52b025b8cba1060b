{#-
    Reading raw objects so that no byte sequence can fail a query: every object becomes line rows,
    or one row per object with a `read_error` when its bytes cannot be read as lines of text.
    The staging models quarantine a row whose read_error is set with that reason, so
    reconciliation (lines landed = accepted + quarantined) counts such objects too.

    read_error values (seeds/quarantine_reasons.csv, every raw-line domain):
      empty_object       the object holds no bytes at all (one row, so the object is counted)
      bad_compression    named .gz but not gzip or a corrupt/truncated gzip stream, or gzip
                         bytes in an object not named .gz
      not_utf8           the (decompressed) bytes are not valid UTF-8
      line_too_long      one line over the feed's limit (meta raw_max_line_bytes, default
                         var raw_default_max_line_bytes); only that line, the others are read
      unreadable_object  a .gz object on a DuckDB connection without the eventlake_gunzip
                         function (a profile without the eventlake plugin, see docs/reliability.md)

    DuckDB: objects are read whole as blobs (read_blob) and split on '\n' in SQL: a lone '\r'
    stays inside its line, a trailing '\r' (CRLF files) is dropped, and no delimiter byte can cut
    a line short (read_csv, used before, did both and raised on long lines, bad UTF-8 and
    compression lies). Athena and Redshift read objects through their text SerDe; how they treat
    the same objects is in docs/reliability.md.
-#}

{#- The SELECT of line, source_file, landed_at, read_error over `files`: a glob, or a list of
    paths (the objects an incremental run stages). -#}
{% macro raw_object_lines(files, max_line_bytes) -%}
    {{ return(adapter.dispatch('raw_object_lines', 'eventlake')(files, max_line_bytes)) }}
{%- endmacro %}

{% macro default__raw_object_lines(files, max_line_bytes) -%}
    {{ exceptions.raise_compiler_error(
        'raw_object_lines is the DuckDB reader; Athena and Redshift read raw objects through external tables'
    ) }}
{%- endmacro %}

{% macro duckdb__raw_object_lines(files, max_line_bytes) -%}
    {%- set can_gunzip = eventlake.duckdb_has_gunzip() -%}
    {%- if not can_gunzip -%}
        {%- do log('eventlake: no eventlake_gunzip function on this connection; .gz objects are '
            ~ 'quarantined as unreadable_object (add the eventlake plugin to profiles.yml, see '
            ~ 'profiles.yml.example)', info=true) -%}
    {%- endif -%}
    select
        case when read_error is null and strlen(line) > {{ max_line_bytes }} then null else line end as line,
        source_file,
        {{ eventlake.landed_at_from_object_name('source_file') }} as landed_at,
        coalesce(
            read_error, case when strlen(line) > {{ max_line_bytes }} then 'line_too_long' end
        ) as read_error
    from (
        -- one row per line of a readable object; one row (line null) per unreadable object
        select
            source_file,
            read_error,
            case
                when read_error is not null then null
                when ends_with(split_line, chr(13)) then nullif(left(split_line, length(split_line) - 1), '')
                else nullif(split_line, '')
            end as line
        from (
            select
                source_file,
                read_error,
                unnest(
                    case
                        when read_error is not null then [null]
                        -- a final newline ends the last line; it does not start an empty one
                        -- (dropping the split's last element: cutting the text's last character
                        -- with length() would decode the whole object to count its characters)
                        when ends_with(body, chr(10)) then string_split(body, chr(10))[1:-2]
                        else string_split(body, chr(10))
                    end
                ) as split_line
            from (
                select
                    source_file,
                    body,
                    case
                        when byte_count = 0 then 'empty_object'
                        when inflate_failed then 'bad_compression'
                        when body is null and not is_named_gzip and starts_with(hex(content), '1F8B')
                            then 'bad_compression'
                        {%- if not can_gunzip %}
                        when body is null and is_named_gzip then 'unreadable_object'
                        {%- endif %}
                        when body is null then 'not_utf8'
                    end as read_error
                from (
                    select
                        source_file,
                        content,
                        byte_count,
                        is_named_gzip,
                        {%- if can_gunzip %}
                        is_named_gzip and byte_count > 0 and inflated is null as inflate_failed,
                        {%- else %}
                        false as inflate_failed,
                        {%- endif %}
                        try(decode(inflated)) as body
                    from (
                        select
                            {{ eventlake.duckdb_lake_key('filename') }} as source_file,
                            content,
                            size as byte_count,
                            ends_with(filename, '.gz') as is_named_gzip,
                            case
                                {%- if can_gunzip %}
                                when ends_with(filename, '.gz') then eventlake_gunzip(content)
                                {%- else %}
                                when ends_with(filename, '.gz') then null
                                {%- endif %}
                                else content
                            end as inflated
                        from read_blob({{ eventlake.sql_text_literals(files) }})
                    ) as objects
                ) as decoded
            ) as classified
        ) as split
    ) as lines
{%- endmacro %}


{#- Whether this DuckDB connection has the gunzip function registered by the eventlake plugin. -#}
{% macro duckdb_has_gunzip() -%}
    {%- if not execute -%}{{ return(true) }}{%- endif -%}
    {%- set found = eventlake.query_column(
        "select count(*) from duckdb_functions() where function_name = 'eventlake_gunzip'", [1]
    ) -%}
    {{ return(found[0] | int > 0) }}
{%- endmacro %}


{#- The read_error column of a raw source relation: DuckDB's reader sets it; the cloud engines'
    external tables have no such column (their SerDe fails or replaces instead, see
    docs/reliability.md), so it is null there. -#}
{% macro raw_read_error() -%}
    {{ return(adapter.dispatch('raw_read_error', 'eventlake')()) }}
{%- endmacro %}

{% macro default__raw_read_error() -%}
    cast(null as {{ dbt.type_string() }})
{%- endmacro %}

{% macro duckdb__raw_read_error() -%}
    read_error
{%- endmacro %}
