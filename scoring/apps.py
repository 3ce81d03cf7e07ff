from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring and capacity"

    def ready(self):
        # Portfolio reaches scoring through its extension points; it never imports it.
        from portfolio import hooks
        from scoring import api, demo, extensions, standings

        hooks.CHANGE_LISTENERS.register("scoring.standings", standings.standings_invalidate)
        hooks.API_DETAIL_FIELDS.register("score", api.InitiativeScoreField)
        for kind, spec in extensions.ACTIVITY_KINDS.items():
            hooks.ACTIVITY_KINDS.register(kind, spec)
        hooks.PAGES.register("scoring:dashboard", extensions.DASHBOARD)
        hooks.PAGES.register("scoring:value", extensions.VALUE)
        hooks.DEMO_STEPS.register("scoring", hooks.DemoSteps(
            before_load=demo.before_load, after_load=demo.after_load))
