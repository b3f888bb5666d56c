"""The run harness: the pytest glue that evaluates each control item, judges and waives it, records
the run and hands the results to the bundle writer and the tickets.

It is the one place that joins the collectors (config, estate, recording), the controls and the
reports; the controls themselves and reports/ never import it.
"""
