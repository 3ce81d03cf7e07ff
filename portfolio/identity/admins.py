"""The "admins" permission group that the provider's "staff" role joins.

Staff status alone only opens the admin's door; what an admin may do there is permissions.
An account the provider makes staff joins this group, which holds every permission of the
product's apps and of accounts and groups (teams, capacity, the checkpoint catalogue, the
scoring model, users: the admin's work). Superusers need none of it. The group's
permissions are brought up to date after every ``migrate`` (models added later included).
"""

from __future__ import annotations

ADMINS_GROUP = "admins"
ADMIN_APPS = ("portfolio", "governance", "scoring", "auth")


def admins_group_sync(*, using="default", **kwargs) -> None:
    """``post_migrate`` receiver (sent once per app, after that app's permissions exist):
    the group exists and holds every permission of ``ADMIN_APPS`` created so far. A data
    migration could not do it: permissions are created after the migrations."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.using(using).get_or_create(name=ADMINS_GROUP)
    wanted = set(Permission.objects.using(using).filter(content_type__app_label__in=ADMIN_APPS)
                 .values_list("pk", flat=True))
    held = set(group.permissions.values_list("pk", flat=True))
    if wanted - held:
        group.permissions.add(*(wanted - held))
