"""OAuth 2.0 for the gateway: client registry, signing keys, the Authlib token server, bearer checks."""
