"""Identity linking and the served resident: merge policy, derived tags, refresh of dirty residents."""
