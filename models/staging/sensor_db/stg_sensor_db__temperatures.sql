{{ eventlake.stage_temperature_lines(source('sensor_db', 'temperatures'), 'db_extract') }}
