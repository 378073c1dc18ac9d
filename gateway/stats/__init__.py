"""Village statistics (村级统计): SQL aggregates, small-cell suppression, one report for API and dashboard.

Package notes. Every view (any region, grouped by township or village) is cut from one release per
county and day (release.py, county.py), stored so that every process serves the same one; kept
releases are the snapshots of the series (snapshots.py), and each release is suppressed with the
previous one in view, so neither differencing regions nor differencing months recovers a hidden cell.
"""
