"""Federation: county gateways that ask each other, each under its own policy, with linked audits."""
