"""Team mode: accounts, passwords and sessions on top of the roles in planning.core.access."""
