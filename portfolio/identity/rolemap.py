"""``OIDC_ROLE_MAP``: which of the provider's groups grant which of our roles.

Read by settings at start-up, so a mistake stops the server with the variable's name
instead of signing people in with the wrong roles. No Django imports: settings use it.
"""

from __future__ import annotations

# The product's roles (portfolio.roles.Role values) plus "staff", which opens the admin.
STAFF = "staff"
MAPPABLE_ROLES = ("pm", "reviewer", "tpm", "leadership", STAFF)


class RoleMapError(ValueError):
    pass


def parse_role_map(value: str) -> dict[str, frozenset[str]]:
    """``"pm=ai-pms,product;reviewer=ai-governance"`` -> {"pm": {"ai-pms", "product"}, ...}.

    Roles are separated by ``;``, a role's groups by ``,``; group names are compared exactly
    (Entra ID sends object ids, Okta and Keycloak names or paths such as ``/ai/pms``).
    """
    mapping: dict[str, frozenset[str]] = {}
    for part in (value or "").split(";"):
        if not part.strip():
            continue
        role, sep, groups = part.partition("=")
        role = role.strip().lower()
        if not sep or role not in MAPPABLE_ROLES:
            raise RoleMapError(
                f"each entry is role=group[,group], with role one of {', '.join(MAPPABLE_ROLES)};"
                f" got {part.strip()!r}")
        names = frozenset(group.strip() for group in groups.split(",") if group.strip())
        if not names:
            raise RoleMapError(f"{role} names no group")
        if role in mapping:
            raise RoleMapError(f"{role} appears twice")
        mapping[role] = names
    return mapping


def roles_for_groups(mapping: dict[str, frozenset[str]], groups) -> set[str]:
    """The roles ``groups`` grant under ``mapping`` (a role per group it shares)."""
    held = set(groups)
    return {role for role, names in mapping.items() if names & held}
