"""Read the free-text exit contract into the structured one.

Baseline and target become numbers with a unit when both read as a number with the same
unit ("18%" and "35%", "11.4 min" and "8.0 min", "EUR 420k"); the direction follows from
which is larger. A measured result that reads as a number in that unit becomes a
measurement dated when it was entered, its text kept as the source. The pilot's window runs
from its entry into pilot to its decision date, where both are known.

Whatever cannot be read is kept word for word in ``contract_to_review``: the initiative
page shows it to the owner until a complete contract replaces it. Nothing is thrown away:
reversing writes the numbers back as text.
"""

import re
from decimal import Decimal, InvalidOperation

from django.db import migrations

NUMBER = re.compile(
    r"^\s*(?P<currency>[A-Z]{3}|[€$£])?\s*(?P<sign>[+-])?(?P<number>\d+(?:[.,]\d+)?)"
    r"\s*(?P<scale>[kKmM](?![a-zA-Z]))?\s*(?P<unit>%|[a-zA-Z]+)?(?P<rest>.*)$")
SCALE = {"k": 1000, "m": 1_000_000}
UNIT_WORDS = {"h": "h", "hours": "h", "hour": "h", "min": "min", "minutes": "min",
              "days": "days", "day": "days", "weeks": "weeks", "teams": "teams"}


def read(text: str, *, whole: bool):
    """(number, unit) from "18%", "11.4 min", "EUR 420k", "+3.8% (A/B, 4 weeks)"; None when
    it does not start with a number. ``whole``: nothing may follow it."""
    match = NUMBER.match(text or "")
    if match is None or (whole and match["rest"].strip()):
        return None
    try:
        number = Decimal(match["number"].replace(",", "."))
    except InvalidOperation:
        return None
    if match["sign"] == "-":
        number = -number
    if match["scale"]:
        number *= SCALE[match["scale"].lower()]
    unit = (match["unit"] or "").strip()
    unit = UNIT_WORDS.get(unit.lower(), unit)
    currency = {"€": "EUR", "$": "USD", "£": "GBP"}.get(match["currency"], match["currency"])
    return number, currency or unit


def forwards(apps, schema_editor):
    Initiative = apps.get_model("portfolio", "Initiative")
    Measurement = apps.get_model("portfolio", "Measurement")
    StageTransition = apps.get_model("portfolio", "StageTransition")
    HistoricalInitiative = apps.get_model("portfolio", "HistoricalInitiative")
    contracted = Initiative.objects.exclude(baseline="", target="", measured_result="")
    for initiative in contracted.iterator(chunk_size=500):
        unread = []
        baseline = read(initiative.baseline, whole=True)
        target = read(initiative.target, whole=True)
        unit = None
        if baseline and target and (baseline[1] == target[1] or not baseline[1]
                                    or not target[1]) and baseline[0] != target[0]:
            unit = target[1] or baseline[1]
            initiative.baseline_value, initiative.target_value = baseline[0], target[0]
            initiative.metric_unit = unit[:24]
            initiative.metric_direction = "higher" if target[0] > baseline[0] else "lower"
        else:
            unread += [f"Baseline: {initiative.baseline}" if initiative.baseline else "",
                       f"Target: {initiative.target}" if initiative.target else ""]
        entered_pilot = (StageTransition.objects.filter(initiative=initiative, to_stage="pilot")
                         .order_by("-at").values_list("at", flat=True).first())
        if entered_pilot and initiative.decision_date \
                and initiative.decision_date >= entered_pilot.date():
            initiative.window_start = entered_pilot.date()
            initiative.window_end = initiative.decision_date
        result = initiative.measured_result.strip()
        if result:
            reading = read(result, whole=False)
            if unit is not None and reading and reading[1] in (unit, ""):
                entered = (HistoricalInitiative.objects.filter(id=initiative.pk,
                                                               measured_result=result)
                           .order_by("history_date").values_list("history_date", flat=True)
                           .first()) or initiative.updated_at
                measured_on = entered.date()
                if initiative.window_end and measured_on > initiative.window_end:
                    initiative.window_end = measured_on
                if initiative.window_start and measured_on < initiative.window_start:
                    initiative.window_start = measured_on
                Measurement.objects.create(
                    initiative=initiative, measured_on=measured_on, value=reading[0],
                    source_note=f"From the free-text measured result: “{result}”"[:500],
                    recorded_by=None, recorded_at=entered)
            else:
                unread.append(f"Measured result: {result}")
        unread = [line for line in unread if line]
        if unread:
            initiative.contract_to_review = (
                "The free-text exit contract could not be read as numbers; enter it again. "
                + "; ".join(unread))[:2000]
        initiative.save(update_fields=[
            "baseline_value", "target_value", "metric_unit", "metric_direction", "window_start",
            "window_end", "contract_to_review"])


def text_of(value, unit):
    if value is None:
        return ""
    number = f"{value.normalize():f}"
    return f"{number}{unit}" if unit == "%" else f"{number} {unit}".strip()


UNREAD = re.compile(r"(Baseline|Target|Measured result): (.*?)(?=; (?:Baseline|Target|"
                    r"Measured result): |$)")


def backwards(apps, schema_editor):
    Initiative = apps.get_model("portfolio", "Initiative")
    Measurement = apps.get_model("portfolio", "Measurement")
    for initiative in (Initiative.objects.exclude(baseline_value=None, contract_to_review="")
                       .iterator(chunk_size=500)):
        initiative.baseline = text_of(initiative.baseline_value, initiative.metric_unit)[:100]
        initiative.target = text_of(initiative.target_value, initiative.metric_unit)[:100]
        latest = (Measurement.objects.filter(initiative=initiative)
                  .order_by("-measured_on", "-id").first())
        if latest is not None:
            initiative.measured_result = (
                f"{text_of(latest.value, initiative.metric_unit)} on {latest.measured_on}")[:200]
        # The words forwards could not read go back where they came from.
        for label, text in UNREAD.findall(initiative.contract_to_review):
            field = {"Baseline": "baseline", "Target": "target",
                     "Measured result": "measured_result"}[label]
            setattr(initiative, field, text[:200 if field == "measured_result" else 100])
        initiative.save(update_fields=["baseline", "target", "measured_result"])


class Migration(migrations.Migration):

    dependencies = [("portfolio", "0010_exit_contract_outcomes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
