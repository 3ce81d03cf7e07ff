"""Load a demo portfolio a leader would recognise: people for every role, seven teams,
seventy initiatives and a year of history (stage moves, updates, stalled pilots).

Pilots agree a structured exit contract and business case up front and record
measurements before they leave: most met their target and went to production, some missed
and were overridden by their sponsor or stopped, some are still below it. In production,
value reviews come due and are recorded (``demo_value``).

Everything goes through the services at dates in the past, relative to one
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
from django.utils.text import slugify

from portfolio import accounts, hooks, services
from portfolio.management.demo_data import (
    ADMIN,
    AI_PROFILES,
    ALSO_RESPONSIBLE,
    BUSINESS_CASES,
    CATEGORY_PROFILES,
    CATEGORY_VENDORS,
    CHAT_CHANNELS,
    CONFIDENCE_BY_STAGE,
    CONTRACTS,
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
    MEASUREMENT_SOURCES,
    MEASUREMENTS,
    MIN_DAYS_PER_STAGE,
    MISSED,
    MISSED_SHARE,
    MOVE_NOTES,
    NO_RESPONSIBLE,
    OVERRIDDEN,
    PAUSE_NOTES,
    PEOPLE,
    PORTFOLIO,
    REACH,
    RETIREMENTS,
    RUNNING_STAGES,
    SEED,
    SHORT_PILOT_REASON,
    SPONSORS,
    STAGE_TIMING,
    TEAM_STAFF,
    TEAMS,
    TIMING,
    TROUBLE_BODIES,
    UPDATE_BODIES,
    VENDORS,
    WEBHOOK_HOSTS,
    consulted_reviewer,
    demo_logins,
)
from portfolio.management.demo_digest import load_stalls_and_digests
from portfolio.management.demo_value import load_value_reviews
from portfolio.models import (
    STAGE_ORDER,
    ChatChannel,
    ContractOverride,
    Dependency,
    Health,
    Initiative,
    Measurement,
    MetricDirection,
    OverrideKind,
    Stage,
    StageTransition,
    Stakeholder,
    Team,
    Update,
    ValueReview,
    WebhookHost,
)
from portfolio.notifications import services as notifications
from portfolio.notifications.services import notifications_muted
from portfolio.outcomes import contract
from portfolio.outcomes import services as outcomes
from portfolio.roles import Role

# A pilot that went to production ran its tier's minimum and this many days more; the
# stages before it gave up days for that, down to this many each.
PILOT_MARGIN_DAYS = 3
SHORTEST_STAGE_DAYS = 10

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


def _move_days(entered: list[str], age: int, in_stage: int,
               min_pilot: int) -> tuple[list[int], bool]:
    """Days ago of each move, spread evenly, except that a pilot that went on to production
    ran its risk tier's minimum (``min_pilot``), taken from the stages before it. Also
    whether one could not (it needed the sponsor's override)."""
    moves = len(entered)
    days = [age - round((age - in_stage) * step / moves) for step in range(1, moves + 1)]
    short = False
    for index in range(moves - 1):
        if (entered[index], entered[index + 1]) != (Stage.PILOT, Stage.PRODUCTION):
            continue
        longer = list(days)
        longer[index] = max(days[index], days[index + 1] + min_pilot + PILOT_MARGIN_DAYS)
        for earlier in range(index - 1, -1, -1):
            longer[earlier] = max(longer[earlier], longer[earlier + 1] + SHORTEST_STAGE_DAYS)
        if longer[0] <= age - SHORTEST_STAGE_DAYS:
            days = longer
        else:
            short = True
    return days, short


def _schedule(rng: random.Random, entered: list[str], move_days: list[int], age: int,
              in_stage: int, idle: int) -> list[tuple]:
    """The initiative's events as (days ago, kind, stage, details), oldest first."""
    starts, stages = [age, *move_days], [Stage.IDEA, *entered]
    events = [(age, "create", Stage.IDEA, None)]
    events += [(day, "move", stage, None) for day, stage in zip(move_days, entered, strict=True)]
    for stage, start, end in zip(stages, starts, move_days, strict=False):
        events += [(day, "update", stage, None)
                   for day in _days_between(rng, start - 2, end + 2, rng.randint(0, 2))]
    if idle < in_stage:  # updates since the last move, the latest one ``idle`` days ago
        events += [(day, "update", stages[-1], None)
                   for day in [*_days_between(rng, in_stage - 1, idle + 1, rng.randint(0, 2)),
                               idle]]
    return _in_order(events)


EVENT_ORDER = {"create": 0, "measure": 1, "update": 2, "override": 3, "move": 4}


def _in_order(events: list[tuple]) -> list[tuple]:
    return sorted(events, key=lambda event: (-event[0], EVENT_ORDER[event[1]]))


def _figure(text: str) -> Decimal:
    return Decimal(text)


def _places(*texts: str) -> Decimal:
    """The precision the contract's figures are written in ("3.5" -> 0.1, "40" -> 1)."""
    decimals = max((len(text.split(".")[1]) if "." in text else 0) for text in texts)
    return Decimal(1).scaleb(-decimals)


def _contract_plan(rng: random.Random, story: random.Random, *, title: str, category: str,
                   terms: tuple, entered: list[str], move_days: list[int], idle: int,
                   short: bool, now: datetime) -> tuple[dict, list[tuple]]:
    """The exit contract of an initiative that reaches pilot, agreed up front, and the
    history it writes: measurements during its (latest) pilot and, before production, the
    sponsor's overrides. ({}, []) for one that never reaches pilot."""
    pilots = [index for index, stage in enumerate(entered) if stage == Stage.PILOT]
    if not pilots:
        return {}, []
    index = pilots[-1]  # the latest entry into pilot, after a pause or a step back
    pilot_day = move_days[index]
    decision_day = pilot_day - rng.randint(60, 90)  # decided 2-3 months into the pilot
    left = entered[index + 1] if index + 1 < len(entered) else None
    left_day = move_days[index + 1] if left else None
    if left == Stage.PRODUCTION:  # decided when it moved, on time or early
        decision_day = min(decision_day, left_day)
    metric, unit, direction, baseline, target, met = terms
    value_range, cost_percent = BUSINESS_CASES[category]
    value = story.randrange(*value_range, 5)
    fields = {
        "success_metric": metric, "metric_unit": unit, "metric_direction": direction,
        "baseline_value": _figure(baseline), "target_value": _figure(target),
        "window_start": timezone.localdate(now - timedelta(days=pilot_day)),
        "window_end": timezone.localdate(now - timedelta(days=decision_day)),
        "decision_date": timezone.localdate(now - timedelta(days=decision_day)),
        "predicted_annual_value": Decimal(value * 1000),
        "predicted_annual_run_cost": Decimal(
            round(value * story.randint(*cost_percent) / 100) * 1000),
    }
    # Measured from a week into the pilot until it left (or its decision date, or the
    # latest activity of a pilot still running).
    earliest = pilot_day - 7
    latest = max(decision_day, left_day + 1 if left else idle)
    values = MEASUREMENTS.get(title)
    count = len(values) if values else min(4, 1 + (earliest - latest) // 14)
    if earliest < latest or count < 1:
        return fields, []
    days = [earliest - round((earliest - latest) * step / max(count - 1, 1))
            for step in range(count)]
    if values is None:
        values = _trajectory(story, terms, count, missed=title in MISSED)
    # The last one before production draws its moment where the free-text result did.
    events = [(day, "measure", Stage.PILOT,
               (Decimal(value), step == count - 1 and left == Stage.PRODUCTION))
              for step, (day, value) in enumerate(zip(days, values, strict=True))]
    if left == Stage.PRODUCTION:
        if title in OVERRIDDEN:
            events.append((left_day, "override", Stage.PRODUCTION, OverrideKind.TARGET_MISSED))
        if short:
            events.append((left_day, "override", Stage.PRODUCTION,
                           OverrideKind.PILOT_TOO_SHORT))
    return fields, events


def _trajectory(story: random.Random, terms: tuple, count: int, *, missed: bool) -> list:
    """``count`` measurements from near the baseline to the last one: the contract's met
    figure, or part of the way to the target when the pilot missed it."""
    _, _, direction, baseline, target, met = terms
    step = _places(baseline, target, met)
    start, goal = _figure(baseline), _figure(target)
    last = (start + (goal - start) * Decimal(str(round(story.uniform(*MISSED_SHARE), 2)))
            if missed else _figure(met)).quantize(step)
    while missed and contract.meets(direction, last, goal):  # rounding reached the target
        last -= step if direction == MetricDirection.HIGHER else -step
    values = [(start + (last - start) * Decimal(str(round((n + 1) / count
                                                          * story.uniform(0.8, 1), 2))))
              .quantize(step) for n in range(count - 1)]
    return [*values, last]


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
        # A year of history nobody should be told about: the events are recorded, no
        # notification is written (and so none is ever sent).
        with notifications_muted():
            self._load()

    def _load(self) -> None:
        hooks.demo_before_load()
        self._create_people()
        for slug, name, description in TEAMS:
            self.teams[slug] = services.team_create(name=name, slug=slug,
                                                    description=description)
        self._chat_channels()
        for slug, rows in PORTFOLIO:
            for row in rows:
                self._create_initiative(self.teams[slug], *row)
        for title, depends_on in DEPENDENCIES:
            initiative, needed = self.initiatives[title], self.initiatives[depends_on]
            services.dependency_add(initiative=initiative, depends_on=needed,
                                    actor=self.users["tpm"],
                                    now=max(initiative.created_at, needed.created_at))
        load_value_reviews(self)
        # Left after the history above: their initiatives now have nobody accountable.
        accounts.user_deactivate(user=self.users[LEFT_COMPANY], actor=self.users[ADMIN[0]],
                                 now=self.now)
        hooks.demo_after_load(loader=self)
        self.digests_sent = load_stalls_and_digests(self)

    def _chat_channels(self) -> None:
        """The Slack host the admins allowed and a channel they set up, switched off: the
        admin pages show how one looks; nothing is ever posted from the demo."""
        admin, at = self.users[ADMIN[0]], self.now - timedelta(days=30)
        for host in WEBHOOK_HOSTS:
            notifications.webhook_host_save(host=WebhookHost(host=host), actor=admin, now=at)
        for slug, kind, name, url in CHAT_CHANNELS:
            notifications.chat_channel_save(
                channel=ChatChannel(team=self.teams[slug], kind=kind, name=name, active=False),
                url=url, actor=admin, now=at)

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
        # The outcomes story draws from its own stream, so the rest of the history stays
        # what it was before there were measurements.
        story = random.Random(f"{SEED}:{title}:outcomes")
        entered = _entered_stages(route)
        final = entered[-1] if entered else Stage.IDEA
        engineers, sponsor, _ = TEAM_STAFF[team.slug]
        sponsor = SPONSORS.get(title, sponsor)
        owner = self.users[owner_name]
        helper = self.users[rng.choice([e for e in engineers if e != owner_name] or engineers)]
        age, in_stage, idle = _timing(rng, title, final, len(entered))
        risk_tier = AI_PROFILES.get(title, CATEGORY_PROFILES[category])[0]
        move_days, short = _move_days(entered, age, in_stage, contract.min_pilot_days(risk_tier))
        events = _schedule(rng, entered, move_days, age, in_stage, idle)
        at = self._at(rng, events[0][0], None)
        with_sponsor = final not in (Stage.IDEA, Stage.ASSESSMENT) or rng.random() < 0.3
        terms = CONTRACTS.get(title, rng.choice(EXIT_CONTRACTS[category]))
        profile, sizing = _profile_fields(rng, title, category), _sizing_fields(rng, final, at)
        terms_fields, outcome_events = _contract_plan(
            rng, story, title=title, category=category, terms=terms, entered=entered,
            move_days=move_days, idle=idle, short=short, now=self.now)
        if terms_fields:
            terms_fields["production_owner"] = helper
        initiative = services.initiative_create(
            actor=owner, owner=owner, now=at, team=team, title=title, summary=summary,
            category=category, sponsor=self.users[sponsor] if with_sponsor else None,
            **profile, **sizing, **terms_fields,
        )
        latest_update = min((day for day, kind, _, _ in events if kind == "update"),
                            default=None)
        for days_ago, kind, stage, details in _in_order([*events[1:], *outcome_events]):
            if kind == "move":
                at = self._at(rng, days_ago, at)
                initiative = self._move(initiative, stage, owner, at)
            elif kind == "update":
                at = self._at(rng, days_ago, at)
                self._post_update(rng, initiative, stage, owner, helper, at,
                                  latest=days_ago == latest_update)
                initiative.refresh_from_db()  # a change of health bumps the version
            elif kind == "measure":
                value, main_stream = details
                at = self._at(rng if main_stream else story, days_ago, at)
                self._measure(story, initiative, value, owner, at)
            else:
                at = self._at(story, days_ago, at)
                outcomes.contract_override(
                    initiative=initiative, kind=details, actor=initiative.sponsor, now=at,
                    reason=(OVERRIDDEN[title] if details == OverrideKind.TARGET_MISSED
                            else SHORT_PILOT_REASON))
        self._add_stakeholders(initiative, final, helper)
        self.initiatives[title] = initiative

    def _measure(self, story: random.Random, initiative: Initiative, value: Decimal, owner,
                 at: datetime) -> None:
        """The owner records a reading of the success metric taken in the last days, inside
        the window."""
        measured_on = max(min(timezone.localdate(at) - timedelta(days=story.randint(0, 2)),
                              initiative.window_end), initiative.window_start)
        link, note = MEASUREMENT_SOURCES[initiative.category]
        outcomes.measurement_record(
            initiative=initiative, measured_on=measured_on, value=value, actor=owner, now=at,
            source_url=link.format(slug=slugify(initiative.title)), source_note=note)

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

    def _add_stakeholders(self, initiative: Initiative, stage: str, helper) -> None:
        _, _, tpm = TEAM_STAFF[initiative.team.slug]
        roles = []
        if stage != Stage.IDEA and initiative.title not in NO_RESPONSIBLE:
            roles.append((helper, Stakeholder.Role.RESPONSIBLE))
        roles += [(self.users[name], Stakeholder.Role.RESPONSIBLE)
                  for name in ALSO_RESPONSIBLE.get(initiative.title, ())]
        consulted = consulted_reviewer(initiative)
        if consulted:
            roles.append((self.users[consulted], Stakeholder.Role.CONSULTED))
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
            f"dependencies, {Measurement.objects.count()} measurements, "
            f"{ContractOverride.objects.count()} contract overrides, "
            f"{ValueReview.objects.recorded().count()} of {ValueReview.objects.count()} value "
            "reviews recorded."
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
