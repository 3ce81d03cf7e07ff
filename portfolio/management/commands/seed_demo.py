"""Load a demo portfolio a leader would recognise: people for every role, seven teams,
seventy initiatives and a year of history (stage moves, updates, stalled pilots).

Everything goes through ``portfolio.services`` at dates in the past, relative to one
``now`` taken at the start. Running it again on a database that already holds the
demo changes nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from portfolio import accounts, hooks, services
from portfolio.management.demo_data import (
    ADMIN,
    AI_PROFILES,
    CATEGORY_PROFILES,
    CATEGORY_VENDORS,
    CONFIDENCE_BY_STAGE,
    CONSULTED_REVIEWERS,
    DEFAULT_MOVE_NOTES,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    DEPENDENCIES,
    EFFORT_WEEKS,
    EXIT_CONTRACTS,
    HEALTH_ODDS,
    IMPACTS,
    LAST_UPDATES,
    LEFT_COMPANY,
    MIN_DAYS_PER_STAGE,
    MOVE_NOTES,
    NO_RESPONSIBLE,
    PAUSE_NOTES,
    PEOPLE,
    PORTFOLIO,
    REACH,
    RETIREMENTS,
    RUNNING_STAGES,
    SEED,
    STAGE_TIMING,
    TEAM_STAFF,
    TEAMS,
    TIMING,
    TROUBLE_BODIES,
    UPDATE_BODIES,
    VENDORS,
    demo_logins,
)
from portfolio.management.demo_digest import load_stalls_and_digests
from portfolio.models import (
    STAGE_ORDER,
    Dependency,
    Health,
    Initiative,
    RiskTier,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
)
from portfolio.roles import Role

# --- Planning: what happens to each initiative, and when ----------------------------------

def _entered_stages(route: str) -> list[str]:
    """The stages entered after idea, walking forward moves one step at a time."""
    entered, current = [], Stage.IDEA
    for target in (Stage(name) for name in route.split(">")):
        if target == current:
            continue
        forward = (current in STAGE_ORDER and target in STAGE_ORDER
                   and STAGE_ORDER.index(target) > STAGE_ORDER.index(current))
        if forward:
            entered += STAGE_ORDER[STAGE_ORDER.index(current) + 1:STAGE_ORDER.index(target) + 1]
        else:
            entered.append(target)
        current = target
    return entered


def _timing(rng: random.Random, title: str, stage: str, moves: int) -> tuple[int, int, int]:
    """(days since created, days in the current stage, days since the last activity)."""
    if title in TIMING:
        age, in_stage, idle = TIMING[title]
    else:
        stage_days, idle_days = STAGE_TIMING[stage]
        in_stage = rng.randint(*stage_days)
        idle = rng.randint(idle_days[0], min(idle_days[1], in_stage)) if idle_days else in_stage
        shortest = in_stage + MIN_DAYS_PER_STAGE * moves
        age = in_stage if not moves else rng.randint(shortest, max(shortest, 365))
    if (moves and age < in_stage + MIN_DAYS_PER_STAGE * moves) or idle > in_stage or idle < 1:
        raise ValueError(f"Implausible demo timing for {title!r}")
    return age, in_stage, idle


def _days_between(rng: random.Random, latest: int, earliest: int, count: int) -> list[int]:
    """Up to ``count`` distinct days-ago in [earliest, latest] (``latest`` is the oldest)."""
    if latest < earliest:
        return []
    return rng.sample(range(earliest, latest + 1), min(count, latest - earliest + 1))


def _schedule(rng: random.Random, entered: list[str], age: int, in_stage: int,
              idle: int) -> list[tuple[int, str, str]]:
    """The initiative's events as (days ago, kind, stage), oldest first."""
    moves = len(entered)
    move_days = [age - round((age - in_stage) * step / moves) for step in range(1, moves + 1)]
    starts, stages = [age, *move_days], [Stage.IDEA, *entered]
    events = [(age, "create", Stage.IDEA)]
    events += [(day, "move", stage) for day, stage in zip(move_days, entered, strict=True)]
    for stage, start, end in zip(stages, starts, move_days, strict=False):
        events += [(day, "update", stage)
                   for day in _days_between(rng, start - 2, end + 2, rng.randint(0, 2))]
    if idle < in_stage:  # updates since the last move, the latest one ``idle`` days ago
        events += [(day, "update", stages[-1])
                   for day in [*_days_between(rng, in_stage - 1, idle + 1, rng.randint(0, 2)),
                               idle]]
    if Stage.PRODUCTION in entered:  # the pilot's measured result, just before the move
        events.append((move_days[entered.index(Stage.PRODUCTION)] + 1, "result",
                       Stage.PRODUCTION))
    order = {"create": 0, "result": 1, "update": 2, "move": 3}
    return sorted(events, key=lambda event: (-event[0], order[event[1]]))


def _profile_fields(rng: random.Random, title: str, category: str) -> dict:
    risk, autonomy, personal, customer = AI_PROFILES.get(title, CATEGORY_PROFILES[category])
    return {
        "risk_tier": risk, "autonomy_level": autonomy, "uses_personal_data": personal,
        "customer_facing": customer,
        "model_vendor": rng.choice(VENDORS[CATEGORY_VENDORS.get(category, "llm")]),
    }


def _sizing_fields(rng: random.Random, stage: str, created: datetime) -> dict:
    if stage == Stage.IDEA and rng.random() < 0.4:
        return {}  # not sized yet
    return {
        "effort_weeks": Decimal(rng.choice(EFFORT_WEEKS)),
        "reach": rng.choice(REACH),
        "impact": rng.choice(IMPACTS),
        "confidence": rng.choice(CONFIDENCE_BY_STAGE.get(stage, (80, 100))),
        "business_value": rng.randint(3, 10),
        "time_criticality": rng.randint(1, 10),
        "risk_reduction": rng.randint(1, 8),
        "strategic_alignment": rng.randint(2, 5),
        "target_production_date": (created + timedelta(days=rng.randint(150, 330))).date(),
    }


# --- Loading ------------------------------------------------------------------------------

class DemoLoader:
    """Builds the demo through the services, each initiative from its own seeded random."""

    def __init__(self, now: datetime):
        self.now = now
        self.users: dict = {}
        self.teams: dict[str, Team] = {}
        self.initiatives: dict[str, Initiative] = {}
        self.digests_sent: int | None = None  # last week's; None: skipped (mail would leave)

    def load(self) -> None:
        hooks.demo_before_load()
        self._create_people()
        for slug, name, description in TEAMS:
            self.teams[slug] = services.team_create(name=name, slug=slug,
                                                    description=description)
        for slug, rows in PORTFOLIO:
            for row in rows:
                self._create_initiative(self.teams[slug], *row)
        for title, depends_on in DEPENDENCIES:
            initiative, needed = self.initiatives[title], self.initiatives[depends_on]
            services.dependency_add(initiative=initiative, depends_on=needed,
                                    actor=self.users["tpm"],
                                    now=max(initiative.created_at, needed.created_at))
        # Left after the history above: their initiatives now have nobody accountable.
        accounts.user_deactivate(user=self.users[LEFT_COMPANY], actor=self.users[ADMIN[0]],
                                 now=self.now)
        hooks.demo_after_load(loader=self)
        self.digests_sent = load_stalls_and_digests(self)

    def _create_people(self) -> None:
        password = make_password(DEMO_PASSWORD)  # hashed once: the hasher is slow on purpose
        # Only the printed demo logins open with the demo password; the rest of the cast
        # cannot sign in (an unusable password), so what `make run` prints is the whole list.
        no_password = make_password(None)
        # The groups come from a migration; get_or_create keeps the demo loadable
        # where someone deleted one in the admin.
        groups = {role: Group.objects.get_or_create(name=role)[0] for role in Role}
        for username, first_name, last_name, role in PEOPLE:
            user = self._create_user(username, first_name, last_name,
                                     password if username in DEMO_LOGINS else no_password)
            user.groups.add(groups[role])
        self._create_user(*ADMIN, password, is_staff=True, is_superuser=True)

    def _create_user(self, username, first_name, last_name, password, **flags):
        user = get_user_model().objects.create(
            username=username, first_name=first_name, last_name=last_name, password=password,
            email=f"{first_name}.{last_name}@example.com".lower(), **flags,
        )
        self.users[username] = user
        return user

    def _at(self, rng: random.Random, days_ago: int, after: datetime | None) -> datetime:
        """A moment ``days_ago`` days back (a few hours earlier), strictly after ``after``."""
        at = self.now - timedelta(days=days_ago, hours=rng.randint(1, 9),
                                  minutes=rng.randint(0, 59))
        return max(at, after + timedelta(minutes=7)) if after else at

    def _create_initiative(self, team: Team, title: str, category: str, route: str,
                           owner_name: str, summary: str) -> None:
        rng = random.Random(f"{SEED}:{title}")
        entered = _entered_stages(route)
        final = entered[-1] if entered else Stage.IDEA
        engineers, sponsor, _ = TEAM_STAFF[team.slug]
        owner = self.users[owner_name]
        helper = self.users[rng.choice([e for e in engineers if e != owner_name] or engineers)]
        events = _schedule(rng, entered, *_timing(rng, title, final, len(entered)))
        at = self._at(rng, events[0][0], None)
        with_sponsor = final not in (Stage.IDEA, Stage.ASSESSMENT) or rng.random() < 0.3
        contract = rng.choice(EXIT_CONTRACTS[category])
        initiative = services.initiative_create(
            actor=owner, owner=owner, now=at, team=team, title=title, summary=summary,
            category=category, sponsor=self.users[sponsor] if with_sponsor else None,
            **_profile_fields(rng, title, category), **_sizing_fields(rng, final, at),
            **self._exit_contract_fields(rng, events, contract, helper),
        )
        latest_update = min((day for day, kind, _ in events if kind == "update"), default=None)
        for days_ago, kind, stage in events[1:]:
            at = self._at(rng, days_ago, at)
            if kind == "move":
                initiative = self._move(initiative, stage, owner, at)
            elif kind == "update":
                self._post_update(rng, initiative, stage, owner, helper, at,
                                  latest=days_ago == latest_update)
                initiative.refresh_from_db()  # a change of health bumps the version
            else:
                initiative = services.initiative_update(
                    initiative=initiative, actor=owner, now=at,
                    expected_version=initiative.version,
                    changes={"measured_result": contract[3]},
                )
        self._add_stakeholders(initiative, final, helper)
        self.initiatives[title] = initiative

    def _move(self, initiative: Initiative, stage: str, actor, at: datetime) -> Initiative:
        title = initiative.title
        reason, lessons = RETIREMENTS.get(title, ("", ""))
        note = (PAUSE_NOTES.get(title) if stage == Stage.PAUSED else None) or MOVE_NOTES.get(
            (title, initiative.stage, stage), DEFAULT_MOVE_NOTES[stage])
        hooks.demo_before_move(initiative=initiative, to_stage=stage, at=at, users=self.users,
                               now=self.now)
        transition = services.initiative_move_stage(
            initiative=initiative, to_stage=stage, actor=actor, now=at, note=note,
            retirement_reason=reason if stage == Stage.RETIRED else "",
            retirement_lessons=lessons if stage == Stage.RETIRED else "",
        )
        return transition.initiative

    def _post_update(self, rng: random.Random, initiative: Initiative, stage: str, owner,
                     helper, at: datetime, *, latest: bool) -> None:
        if latest and initiative.title in LAST_UPDATES:
            health, body = LAST_UPDATES[initiative.title]
        elif stage == Stage.PAUSED:
            health, body = Health.AT_RISK, rng.choice(UPDATE_BODIES[stage])
        else:
            phase = "running" if stage in RUNNING_STAGES else "building"
            health = rng.choices(list(Health), weights=HEALTH_ODDS[phase])[0]
            body = rng.choice(TROUBLE_BODIES.get((phase, health), UPDATE_BODIES[stage]))
        author = owner if rng.random() < 0.75 else helper
        services.update_post(initiative=initiative, author=author, body=body, health=health,
                             now=at)

    def _exit_contract_fields(self, rng: random.Random, events: list, contract: tuple,
                              production_owner) -> dict:
        """Agreed up front by initiatives that go on to a pilot; decided 2-3 months into it."""
        pilot_days = [day for day, kind, stage in events if kind == "move" and stage == Stage.PILOT]
        if not pilot_days:
            return {}
        pilot_day = pilot_days[-1]  # the latest entry into pilot, after a pause or a step back
        metric, baseline, target, _ = contract
        decision_day = pilot_day - rng.randint(60, 90)
        return {"success_metric": metric, "baseline": baseline, "target": target,
                "decision_date": (self.now - timedelta(days=decision_day)).date(),
                "production_owner": production_owner}

    def _add_stakeholders(self, initiative: Initiative, stage: str, helper) -> None:
        _, _, tpm = TEAM_STAFF[initiative.team.slug]
        roles = []
        if stage != Stage.IDEA and initiative.title not in NO_RESPONSIBLE:
            roles.append((helper, Stakeholder.Role.RESPONSIBLE))
        if initiative.uses_personal_data or initiative.risk_tier != RiskTier.MINIMAL:
            reviewer = CONSULTED_REVIEWERS.get(initiative.team.slug, "reviewer")
            roles.append((self.users[reviewer], Stakeholder.Role.CONSULTED))
        if stage not in (Stage.IDEA, Stage.ASSESSMENT):
            roles.append((self.users[tpm], Stakeholder.Role.INFORMED))
        for user, role in roles:
            # People were named when the initiative was logged.
            services.stakeholder_add(initiative=initiative, user=user, role=role,
                                     actor=initiative.owner, now=initiative.created_at)


# --- The command --------------------------------------------------------------------------

class Command(BaseCommand):
    help = "Load a demo portfolio (people for every role, teams, initiatives, a year of history)."

    def handle(self, *args, **options):
        now = timezone.now()
        with transaction.atomic():
            if Team.objects.filter(slug__in=[slug for slug, _, _ in TEAMS]).exists():
                self.stdout.write("The demo portfolio is already loaded; nothing changed.")
                self._print_logins()
                return
            if Initiative.objects.exists():
                self.stdout.write("The database already holds a portfolio; the demo was not "
                                  "loaded.")
                return
            usernames = [person[0] for person in PEOPLE] + [ADMIN[0]]
            taken = sorted(get_user_model().objects.filter(username__in=usernames)
                           .values_list("username", flat=True))
            if taken:
                raise CommandError(f"Cannot load the demo: user(s) {', '.join(taken)} already "
                                   "exist. Run it on an empty database.")
            loader = DemoLoader(now)
            loader.load()
        self._print_summary(loader)

    def _print_summary(self, loader: DemoLoader) -> None:
        stages = Counter(Initiative.objects.values_list("stage", flat=True))
        by_stage = ", ".join(f"{stages[stage]} {stage.label.lower()}" for stage in Stage)
        self.stdout.write(self.style.SUCCESS(
            f"Demo portfolio loaded: {get_user_model().objects.count()} users, "
            f"{Team.objects.count()} teams, {sum(stages.values())} initiatives ({by_stage}), "
            f"{StageTransition.objects.count()} stage moves, {Update.objects.count()} updates, "
            f"{Stakeholder.objects.count()} stakeholders, {Dependency.objects.count()} "
            "dependencies."
        ))
        if loader.digests_sent is None:
            self.stdout.write(self.style.WARNING(
                "Last week's digests were not seeded: EMAIL_URL points at a mail server, and "
                "demo data is never mailed. Set EMAIL_URL to file://, console:// or memory:// "
                "(or leave it empty) to see them."))
        else:
            self.stdout.write(f"Last week's digests: {loader.digests_sent} sent (mail stays on "
                              "this machine).")
        self._print_logins()

    def _print_logins(self) -> None:
        """The demo logins, last: bin/run-local repeats this block once everything runs."""
        self.stdout.write(f"Demo logins (password: {DEMO_PASSWORD}):")
        for username, label, lands_on in demo_logins():
            self.stdout.write(f"  {username:<9} {label:<28} -> {lands_on}")
