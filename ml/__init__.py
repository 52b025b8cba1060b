"""Anomaly detection with Random Cut Forest (SageMaker and local), one model per room.

`features` shingles each room's series from `fct_room_temperature_series` into SageMaker's CSV,
`local_rcf` (krcf) and `sagemaker` (boto3: training job, model, batch transform) train and score,
`results` lands the scores in the lake for dbt, `pipeline` holds the steps the CLI and the
orchestrator call, and `evaluate` judges the flags against the simulator's labelled anomalies.
"""
