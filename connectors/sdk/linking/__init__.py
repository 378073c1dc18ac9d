"""Identity linking and the served resident: merge policy, derived tags, and the refresh of dirty residents."""
