{#-
    Latitude/longitude (WGS84, degrees) to UTM, in plain SQL that runs unchanged on DuckDB,
    Athena (Trino) and Redshift: only sin, cos, sqrt, atan2, exp, ln, floor, least, substr and
    arithmetic, which all three have. Redshift has no hyperbolic functions (and Trino no sinh,
    asinh or atanh), so they are written with exp and ln:
        sinh(x) = (exp(x) - exp(-x)) / 2        cosh(x) = (exp(x) + exp(-x)) / 2
        atanh(x) = ln((1 + x) / (1 - x)) / 2
    No engine dispatch is needed. Every constant is computed here in Jinja and written as a
    double-precision literal (a bare 0.123 is a DECIMAL on Trino and Redshift).

    The projection is the Krüger series to sixth order in the third flattening n (Karney 2011,
    "Transverse Mercator with an accuracy of a few nanometers", eqs. 7-11 and 35), accurate to
    well under a millimetre within a UTM zone, and a few metres' worth of margin even 6 degrees
    from the central meridian (the Norway and Svalbard zones are up to 6 degrees wide on a side).

    utm_ctes(input, latitude, longitude, columns, name) emits comma-separated CTEs (write it after
    `with <your ctes>,`): the last, `name`, holds `columns` of `input` plus
        utm_zone        1-60, with the Norway (32V) and Svalbard (31X, 33X, 35X, 37X) exceptions
        utm_band        latitude band letter C..X (I and O skipped; X spans 72-84N)
        utm_hemisphere  'N' (latitude >= 0) or 'S'
        utm_easting_m   metres, false easting 500 000
        utm_northing_m  metres, false northing 10 000 000 in the south
        is_outside_utm  true north of 84N or south of 80S (UPS territory): every UTM column is
                        null there, never a wrong number
    Longitude +180 is the same meridian as -180 and belongs to zone 1.
-#}

{#- WGS84 and UTM constants, and the Krüger alpha coefficients (Karney 2011, eq. 35). -#}
{% macro utm_constants() -%}
    {%- set a = 6378137.0 -%}
    {%- set f = 1.0 / 298.257223563 -%}
    {%- set n = f / (2.0 - f) -%}
    {%- set n2 = n * n -%}
    {%- set n3 = n2 * n -%}
    {%- set n4 = n3 * n -%}
    {%- set n5 = n4 * n -%}
    {%- set n6 = n5 * n -%}
    {%- set rectifying_radius = a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0) -%}
    {%- set alpha = [
        n / 2.0 - 2.0 / 3.0 * n2 + 5.0 / 16.0 * n3 + 41.0 / 180.0 * n4 - 127.0 / 288.0 * n5
            + 7891.0 / 37800.0 * n6,
        13.0 / 48.0 * n2 - 3.0 / 5.0 * n3 + 557.0 / 1440.0 * n4 + 281.0 / 630.0 * n5
            - 1983433.0 / 1935360.0 * n6,
        61.0 / 240.0 * n3 - 103.0 / 140.0 * n4 + 15061.0 / 26880.0 * n5 + 167603.0 / 181440.0 * n6,
        49561.0 / 161280.0 * n4 - 179.0 / 168.0 * n5 + 6601661.0 / 7257600.0 * n6,
        34729.0 / 80640.0 * n5 - 3418889.0 / 1995840.0 * n6,
        212378941.0 / 319334400.0 * n6,
    ] -%}
    {{ return({
        'eccentricity': (f * (2.0 - f)) ** 0.5,
        'k0_a': 0.9996 * rectifying_radius,
        'alpha': alpha,
        'false_easting': 500000.0,
        'false_northing_south': 10000000.0,
    }) }}
{%- endmacro %}


{#- A double-precision literal every engine reads exactly. -#}
{% macro double_literal(value) -%}
    cast({{ "%.17g" | format(value) }} as {{ eventlake.type_double() }})
{%- endmacro %}


{#- atanh and sinh/cosh written with ln and exp (see the header). -#}
{% macro sql_atanh(x) -%}
    (ln((1 + ({{ x }})) / (1 - ({{ x }}))) / 2)
{%- endmacro %}


{% macro utm_ctes(input, latitude, longitude, columns, name='utm_projected') -%}
{%- set c = eventlake.utm_constants() -%}
{%- set e = eventlake.double_literal(c['eccentricity']) -%}
{%- set passthrough = columns | join(',\n        ') -%}

utm_input as (

    -- the point, with +180 folded onto -180 (one meridian, zone 1)
    select
        {{ passthrough }},
        {{ latitude }} as utm__lat,
        case when {{ longitude }} = 180 then -180 else {{ longitude }} end as utm__lon,
        coalesce({{ latitude }} > 84 or {{ latitude }} < -80, false) as is_outside_utm
    from {{ input }}

),

utm_zoned as (

    -- zone: 6-degree columns from 180W, except Norway 32V (56-64N, 3-12E, widened west) and
    -- Svalbard (72-84N: 31X 0-9E, 33X 9-21E, 35X 21-33E, 37X 33-42E; 32X 34X 36X do not exist)
    select
        *,
        case
            when is_outside_utm then null
            when utm__lat >= 56 and utm__lat < 64 and utm__lon >= 3 and utm__lon < 12 then 32
            when utm__lat >= 72 and utm__lon >= 0 and utm__lon < 9 then 31
            when utm__lat >= 72 and utm__lon >= 9 and utm__lon < 21 then 33
            when utm__lat >= 72 and utm__lon >= 21 and utm__lon < 33 then 35
            when utm__lat >= 72 and utm__lon >= 33 and utm__lon < 42 then 37
            else cast(floor((utm__lon + 180) / 6) as integer) + 1
        end as utm_zone,
        -- bands of 8 degrees from 80S, C to X without I and O; X alone spans 12 degrees (72-84N)
        case
            when not is_outside_utm
                then substr('CDEFGHJKLMNPQRSTUVWX', cast(least(floor((utm__lat + 80) / 8), 19) as integer) + 1, 1)
        end as utm_band,
        case
            when is_outside_utm then null
            when utm__lat >= 0 then 'N'
            else 'S'
        end as utm_hemisphere
    from utm_input

),

utm_radians as (

    -- latitude and longitude from the zone's central meridian (6 * zone - 183 degrees)
    select
        *,
        case when utm_zone is not null then radians(utm__lat) end as utm__phi,
        radians(utm__lon - (6 * utm_zone - 183)) as utm__lambda
    from utm_zoned

),

utm_isometric as (

    -- isometric latitude psi = atanh(sin phi) - e * atanh(e * sin phi)
    select
        *,
        {{ eventlake.sql_atanh('sin(utm__phi)') }}
        - {{ e }} * {{ eventlake.sql_atanh(e ~ ' * sin(utm__phi)') }} as utm__psi
    from utm_radians

),

utm_conformal as (

    -- tau' = sinh(psi), the tangent of the conformal latitude
    select
        *,
        (exp(utm__psi) - exp(-utm__psi)) / 2 as utm__tau
    from utm_isometric

),

utm_gauss_schreiber as (

    -- the spherical transverse Mercator of the conformal sphere (Karney 2011, eq. 10)
    select
        *,
        atan2(utm__tau, cos(utm__lambda)) as utm__xi_prime,
        {{ eventlake.sql_atanh('sin(utm__lambda) / sqrt(1 + utm__tau * utm__tau)') }} as utm__eta_prime
    from utm_conformal

),

utm_kruger as (

    -- Krüger's series (Karney 2011, eq. 11): xi = xi' + sum a_j sin(2j xi') cosh(2j eta'),
    -- eta = eta' + sum a_j cos(2j xi') sinh(2j eta')
    select
        *,
        utm__xi_prime
        {%- for alpha in c['alpha'] %}
        {%- set j2 = 2 * loop.index %}
        + {{ eventlake.double_literal(alpha) }} * sin({{ j2 }} * utm__xi_prime)
        * (exp({{ j2 }} * utm__eta_prime) + exp(-{{ j2 }} * utm__eta_prime)) / 2
        {%- endfor %} as utm__xi,
        utm__eta_prime
        {%- for alpha in c['alpha'] %}
        {%- set j2 = 2 * loop.index %}
        + {{ eventlake.double_literal(alpha) }} * cos({{ j2 }} * utm__xi_prime)
        * (exp({{ j2 }} * utm__eta_prime) - exp(-{{ j2 }} * utm__eta_prime)) / 2
        {%- endfor %} as utm__eta
    from utm_gauss_schreiber

),

{{ name }} as (

    select
        {{ passthrough }},
        utm_zone,
        utm_band,
        utm_hemisphere,
        {{ eventlake.double_literal(c['false_easting']) }}
        + {{ eventlake.double_literal(c['k0_a']) }} * utm__eta as utm_easting_m,
        {{ eventlake.double_literal(c['k0_a']) }} * utm__xi
        + case when utm__lat < 0 then {{ eventlake.double_literal(c['false_northing_south']) }} else 0 end
            as utm_northing_m,
        is_outside_utm
    from utm_kruger

)
{%- endmacro %}
