"""Who may sign in, and as what: single sign-on through an OpenID Connect provider, roles
from the provider's groups, password sign-in and its break-glass accounts, session
timeouts, and the record of sign-ins and role changes (docs/architecture.md, "Sign-in
and accounts")."""
