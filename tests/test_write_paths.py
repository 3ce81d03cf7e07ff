"""Every write goes through a service (docs/architecture.md, "Apps and layers").

Read from the source with ``ast``: outside the modules that hold the services, no view,
form, serializer, task, admin, management command or other app saves, deletes, creates or
updates a model instance or queryset itself, nor hands a save to Django's default (an
admin's ``super().save_model``). Migrations and tests are not looked at.
"""

import ast
from pathlib import Path

import pytest
from django.contrib import admin

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portfolio", "governance", "scoring")

# Where writes live: each app's services, and the modules the architecture names beside them.
SERVICE_MODULES = (
    "portfolio/services.py", "portfolio/accounts.py", "portfolio/tokens.py",
    "portfolio/similarity.py", "portfolio/pilots/services.py", "portfolio/pilots/digest/",
    "portfolio/outcomes/services.py", "portfolio/notifications/services.py",
    "portfolio/identity/services.py",
    "governance/services.py",
    "scoring/services.py", "scoring/capacity.py", "scoring/standings.py",
    "scoring/scenarios.py",
)
# Bodies of data migrations: they write through the historical model the migration passes.
MIGRATION_BODIES = ("governance/catalogue.py", "scoring/defaults.py")
# (module, function): writes that are not the domain's, each with its reason.
ALLOWED = {
    # The demo's accounts and the role groups they join: fixture data, as a test's factory
    # makes them (accounts have no service; people join through the Django admin).
    ("portfolio/management/commands/seed_demo.py", "_create_people"),
    ("portfolio/management/commands/seed_demo.py", "_create_user"),
    # The admins' permission group, brought up to date after every migrate as a data
    # migration would (permissions only exist once the migrations have run).
    ("portfolio/identity/admins.py", "admins_group_sync"),
}

# Admin pages that still write through Django's default, each with its reason. A ratchet:
# the test fails when one is added, and when one is fixed (take it off the list).
DEFAULT_ADMIN_WRITES = {
    # A superuser may delete an initiative and with it its whole story; whether anyone may
    # (or it is retired instead, with a service for the rare real mistake) is undecided.
    "portfolio.Initiative: delete_model", "portfolio.Initiative: delete_queryset",
    # Digest settings are a TPM's own; a deletion service belongs with them
    # (portfolio.pilots.digest.subscriptions).
    "portfolio.DigestSubscription: delete_model",
    "portfolio.DigestSubscription: delete_queryset",
}

ALWAYS_WRITES = {"save", "delete", "create", "bulk_create", "bulk_update", "get_or_create",
                 "update_or_create"}
# Django's defaults that write the object an admin page was given.
ADMIN_DEFAULT_WRITES = {"save_model", "delete_model", "delete_queryset", "save_related"}
# `.update()` is also a dict's and a set's: a write only on a manager or a queryset.
QUERYSET_HINTS = {"objects", "_default_manager", "filter", "exclude", "all",
                  "select_for_update", "queryset"}


def _names_in(node: ast.AST) -> set[str]:
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            names.add(child.attr)
        elif isinstance(child, ast.Name):
            names.add(child.id)
    return names


def _is_write(call: ast.Call) -> bool:
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    if (isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
            and receiver.func.id == "super"):
        return func.attr in ADMIN_DEFAULT_WRITES
    if func.attr == "save" and any(k.arg == "commit" and isinstance(k.value, ast.Constant)
                                   and k.value.value is False for k in call.keywords):
        return False  # a form or formset sorting its rows, writing nothing
    if func.attr in ALWAYS_WRITES:
        return True
    return func.attr == "update" and bool(QUERYSET_HINTS & _names_in(receiver))


class _Finder(ast.NodeVisitor):
    """Write calls, with the enclosing function's name; a QuerySet class's own methods
    (a bulk write services call, e.g. resolving flags) are part of the model layer."""

    def __init__(self):
        self.found: list[tuple[int, str, str]] = []
        self.functions: list[str] = []
        self.classes: list[str] = []

    def visit_ClassDef(self, node):
        self.classes.append(node.name)
        self.generic_visit(node)
        self.classes.pop()

    def visit_FunctionDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node):
        in_queryset = bool(self.classes) and self.classes[-1].endswith("QuerySet")
        if _is_write(node) and not in_queryset:
            self.found.append((node.lineno, self.functions[-1] if self.functions else "",
                               ast.unparse(node.func)))
        self.generic_visit(node)


def _looked_at(relative: str) -> bool:
    parts = relative.split("/")
    return not ("migrations" in parts or "tests" in parts
                or relative.startswith(SERVICE_MODULES + MIGRATION_BODIES))


def writes_outside_services(root: Path = ROOT) -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if not _looked_at(relative):
                continue
            finder = _Finder()
            finder.visit(ast.parse(path.read_text(), filename=relative))
            found += [f"{relative}:{line} {function}(): {call}()"
                      for line, function, call in finder.found
                      if (relative, function) not in ALLOWED]
    return found


def test_no_module_outside_the_services_writes_a_model_itself():
    assert writes_outside_services() == []


def test_the_check_sees_each_kind_of_write(tmp_path):
    module = tmp_path / "portfolio" / "views" / "sneaky.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "def edit(request, initiative, form, formset):\n"
        "    initiative.save()\n"
        "    Initiative.objects.filter(pk=1).update(title='x')\n"
        "    Activity.objects.create(kind='edited')\n"
        "    formset.save(commit=False)\n"                 # sorts rows, writes nothing
        "    {}.update(title='x')\n"                       # a dict
        "class TeamAdmin:\n"
        "    def save_model(self, request, obj, form, change):\n"
        "        super().save_model(request, obj, form, change)\n"
        "class FlagQuerySet:\n"
        "    def resolve(self):\n"
        "        return self.update(resolved=True)\n")

    assert writes_outside_services(tmp_path) == [
        "portfolio/views/sneaky.py:2 edit(): initiative.save()",
        "portfolio/views/sneaky.py:3 edit(): Initiative.objects.filter(pk=1).update()",
        "portfolio/views/sneaky.py:4 edit(): Activity.objects.create()",
        "portfolio/views/sneaky.py:9 save_model(): super().save_model()",
    ]


def _defined_by_us(model_admin, method: str) -> bool:
    owner = next(klass for klass in type(model_admin).__mro__ if method in vars(klass))
    return owner.__module__.split(".")[0] in APPS


@pytest.mark.django_db
def test_every_admin_page_of_ours_that_writes_goes_through_a_service(superuser, rf):
    """An admin that lets a superuser add, change or delete overrides Django's default
    write (``save_model``, ``delete_model``, ``delete_queryset``) with a service call."""
    request = rf.get("/admin/")
    request.user = superuser
    defaults = []
    for model, model_admin in admin.site._registry.items():
        if type(model_admin).__module__.split(".")[0] not in APPS:
            continue  # Django's and third parties' own admins (groups, sign-in lockouts)
        writes = []
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(
                request):
            writes.append("save_model")
        if model_admin.has_delete_permission(request):
            writes += ["delete_model", "delete_queryset"]
        defaults += [f"{model._meta.label}: {method}" for method in writes
                     if not _defined_by_us(model_admin, method)]

    assert sorted(defaults) == sorted(DEFAULT_ADMIN_WRITES)


def test_every_module_the_check_trusts_exists():
    for module in SERVICE_MODULES + MIGRATION_BODIES:
        assert (ROOT / module).exists(), module
    for module, _ in ALLOWED:
        assert (ROOT / module).exists(), module
