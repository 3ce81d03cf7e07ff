from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        # Portfolio's write paths ask governance through hooks; portfolio never imports it.
        from governance import api, demo, panels, selectors, services
        from portfolio import hooks
        from portfolio.api.serializers import register_detail_field
        from portfolio.panels import register_detail_panel

        hooks.register_stage_gate(services.gate_blockers)
        hooks.register_profile_listener(services.checkpoints_sync)
        hooks.register_stage_listener(services.checkpoints_request)
        hooks.register_list_annotation(selectors.annotate_lists)
        register_detail_panel(panels.governance_panel)
        register_detail_field("governance", api.InitiativeGovernanceField)
        hooks.register_demo_steps(before_load=demo.before_load, before_move=demo.before_move,
                                  after_load=demo.after_load)
