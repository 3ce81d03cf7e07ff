from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Scoring and capacity"

    def ready(self):
        # seed_demo builds the demo through portfolio's hooks; portfolio never imports scoring.
        from portfolio import hooks
        from portfolio.api.serializers import register_detail_field
        from scoring import api, demo, standings

        hooks.register_demo_steps(before_load=demo.before_load, after_load=demo.after_load)
        hooks.register_change_listener(standings.standings_invalidate)
        register_detail_field("score", api.InitiativeScoreField)
