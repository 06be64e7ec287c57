"""Argo Workflows manifests for the pipeline, written with Hera and generated from ``medallion.core.pipeline``.

One module per manifest: ``stages`` (one WorkflowTemplate per stage), ``html_classification`` (the
pipeline DAG), ``daily`` (the daily CronWorkflow), ``release`` (a release and its model, and the weekly
CronWorkflow). ``render`` turns them into YAML.
"""
