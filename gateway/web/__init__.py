"""Pages for people (the village dashboard, the auditor console): rendering and cookie sign-in, once."""
