{{ eventlake.stage_temperature_lines(source('sensor_firehose', 'readings'), 'firehose') }}
