"""AWS Glue job scripts. They import awsglue/pyspark inside ``main()`` so they import anywhere."""
