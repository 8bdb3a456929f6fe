"""One module per checked claim; :mod:`theory_checks.registry` maps ids to checks."""
