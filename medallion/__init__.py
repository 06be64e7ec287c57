"""Medallion data pipeline for an HTML document-classification dataset."""

__version__ = "0.1.0"
