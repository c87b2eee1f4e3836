"""opsdash on Apache Spark: the KPI catalogue over a Parquet lake (engine), the catalogue's SQL fragments rendered
for Spark (translate), and the jobs a data engineer submits to a cluster (job). Needs pyspark (the ``spark``
extra) and a Java 17+ runtime; nothing else in opsdash imports it."""
