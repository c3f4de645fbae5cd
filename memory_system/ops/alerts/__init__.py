"""The runbook's alert matrix, evaluated inside the service over sliding windows.

``config`` reads the thresholds, ``samples`` turns the Prometheus registry into windows,
``rules`` is the matrix, ``engine`` evaluates it and reports every fire and resolve. The same
rules ship for Prometheus in ``deploy/prometheus/memory-system-rules.yml``.
"""
