{#-
    What a generic data test reads (overrides dbt's get_where_subquery, which wraps the `model`
    argument of every generic test; singular tests in tests/dbt/ never go through it and always
    read whole tables).

    On an incremental run (not --full-refresh) a test of an incremental model reads only the rows
    of the model's latest run, so an increment is not charged a scan of its whole history:
      - partition-rebuild models (a `_staged_through` column: every row a run rebuilds carries
        that run's value, the largest in the table): `_staged_through = max(_staged_through)`;
      - append-only models (a `staged_at` column, one value per run): `staged_at = max(staged_at)`.
    The kind is decided from the graph (the tested node's materialization and documented columns;
    conventions require every built column documented), never by querying column lists.

    Why each generic test kind stays right on those rows:
      - not_null, accepted_values, expression_is_true: each row is judged alone; older rows were
        checked by the run that wrote them and have not changed since.
      - relationships: only the child side (`model`) is narrowed; the parent (`to`) is read whole.
      - primary_key, unique, unique_combination: a new row may repeat the key of an old row in a
        partition the run did not rebuild (a key need not determine the partition, and append-only
        tables have none), so the test reads the latest rows plus every older row sharing a key
        with one of them: all duplicates involving a new row, without aggregating the history.
    A test's own `where` config still applies. A full refresh, the first build and tests of any
    other model read everything.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}

    {%- set tested = none -%}
    {%- if execute and not flags.FULL_REFRESH and model.get('attached_node') -%}
        {%- set tested = graph.nodes.get(model.get('attached_node')) -%}
    {%- endif -%}
    {%- set run_column = none -%}
    {%- if tested and tested.config.materialized == 'incremental' -%}
        {%- if '_staged_through' in tested.columns -%}
            {%- set run_column = '_staged_through' -%}
        {%- elif 'staged_at' in tested.columns -%}
            {%- set run_column = 'staged_at' -%}
        {%- endif -%}
    {%- endif -%}

    {%- set scoped = relation -%}
    {%- if run_column -%}
        {%- set latest -%}
            {{ run_column }} = (select max({{ run_column }}) from {{ relation }})
        {%- endset -%}
        {%- set test_metadata = model.get('test_metadata') or {} -%}
        {%- set test_kwargs = test_metadata.get('kwargs') or {} -%}
        {%- set key_columns = [] -%}
        {%- if test_metadata.get('name') in ['primary_key', 'unique'] -%}
            {%- do key_columns.append(test_kwargs.get('column_name')) -%}
        {%- elif test_metadata.get('name') == 'unique_combination' -%}
            {%- do key_columns.extend(test_kwargs.get('columns')) -%}
        {%- endif -%}
        {%- if key_columns -%}
            {#- every row whose key a latest row has (a join, not a correlated subquery: Redshift
                refuses those under OR), plus the latest rows with a null key part -#}
            {%- set key_matches, null_parts = [], [] -%}
            {%- for column in key_columns -%}
                {%- do key_matches.append('dbt_keyed.' ~ column ~ ' = dbt_latest_keys.' ~ column) -%}
                {%- do null_parts.append(column ~ ' is null') -%}
            {%- endfor -%}
            {%- set scoped -%}
                (select dbt_keyed.* from {{ relation }} as dbt_keyed
                inner join (
                    select distinct {{ key_columns | join(', ') }} from {{ relation }} where {{ latest }}
                ) as dbt_latest_keys on {{ key_matches | join(' and ') }}
                union all
                select * from {{ relation }} where {{ latest }} and ({{ null_parts | join(' or ') }}))
            {%- endset -%}
        {%- else -%}
            {%- set scoped -%}
                (select * from {{ relation }} where {{ latest }})
            {%- endset -%}
        {%- endif -%}
    {%- endif -%}

    {%- if where or run_column -%}
        {%- set filtered -%}
            (select * from {{ scoped }} as dbt_scoped{% if where %} where {{ where }}{% endif %}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
