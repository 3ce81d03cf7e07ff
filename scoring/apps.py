from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring and capacity"

    def ready(self):
        # Portfolio reaches scoring through its extension points; it never imports it.
        from portfolio import hooks
        from scoring import api, demo, extensions, standings

        hooks.CHANGE_LISTENERS.register("scoring.standings", standings.standings_invalidate)
        # Over-commitment: the warning after intake or a move, the crossing after a move.
        from scoring import capacity
        hooks.CAPACITY_WARNINGS.register("scoring", capacity.capacity_warning)
        hooks.STAGE_LISTENERS.register("scoring.over_capacity", capacity.over_capacity_record)
        hooks.API_DETAIL_FIELDS.register("score", api.InitiativeScoreField)
        for kind, spec in extensions.ACTIVITY_KINDS.items():
            hooks.ACTIVITY_KINDS.register(kind, spec)
        hooks.PAGES.register("scoring:dashboard", extensions.DASHBOARD)
        hooks.PAGES.register("scoring:value", extensions.VALUE)
        hooks.PAGES.register("scoring:scenarios", extensions.SCENARIOS)
        hooks.DEMO_STEPS.register("scoring", hooks.DemoSteps(
            before_load=demo.before_load, after_load=demo.after_load))
