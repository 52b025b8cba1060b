{{ eventlake.stage_temperature_lines(source('sensor_history', 'readings'), 'history_files') }}
