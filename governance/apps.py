from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self):
        # Portfolio asks governance through its extension points; it never imports it.
        from governance import admin, api, demo, extensions, inbox, panels, selectors, services
        from portfolio import hooks

        for key, source in inbox.SOURCES.items():
            hooks.INBOX_SOURCES.register(key, source)
        hooks.STAGE_GATES.register("governance", services.gate_blockers)
        hooks.PROFILE_LISTENERS.register("governance", services.checkpoints_sync)
        hooks.STAGE_LISTENERS.register("governance", services.checkpoints_request)
        hooks.LIST_ANNOTATIONS.register("governance", selectors.annotate_lists)
        hooks.DETAIL_PANELS.register("governance", panels.governance_panel)
        hooks.API_DETAIL_FIELDS.register("governance", api.InitiativeGovernanceField)
        for kind, spec in extensions.ACTIVITY_KINDS.items():
            hooks.ACTIVITY_KINDS.register(kind, spec)
        hooks.PAGES.register("governance:review-queue", extensions.REVIEW_QUEUE)
        hooks.ADMIN_SECTIONS.register("governance", admin.INITIATIVE_ADMIN_SECTION)
        hooks.DEMO_STEPS.register("governance", hooks.DemoSteps(
            before_load=demo.before_load, before_move=demo.before_move,
            after_load=demo.after_load))
