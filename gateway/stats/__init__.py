"""Village statistics (村级统计): SQL aggregates, small-cell suppression, one report for API and dashboard.

Package notes. Each response is protected on its own (see suppression.py). The same counts asked
for another subtree or grouping level form further equations across responses (a township's
village table and the county's township table share that township's total); auditing those
together needs the hierarchical table protected once, which is not done yet.
"""
