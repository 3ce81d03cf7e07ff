from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "portfolio"
    verbose_name = "Portfolio"

    def ready(self):
        # The embedded default's filesystem broker needs its folders before any process —
        # the web server included, which queues jobs when writes commit — sends a task.
        # Importing the Celery app (portfolio/__init__.py) runs before the settings are
        # loaded, so the folders are made here, once they are.
        from portfolio.celery import app, ensure_state_folders

        ensure_state_folders(app.conf)

        # Portfolio's own activity kinds and pages go through the extension points that
        # the other apps use, so the timeline, the digest and the navigation read one list.
        from portfolio import extensions, hooks, inbox
        from portfolio.identity import receivers

        receivers.connect()  # sign-ins, failures and sign-outs go on the account record
        from django.db.models.signals import post_migrate

        from portfolio.identity.admins import admins_group_sync

        post_migrate.connect(admins_group_sync, dispatch_uid="admins-group")

        for kind, spec in extensions.ACTIVITY_KINDS.items():
            hooks.ACTIVITY_KINDS.register(kind, spec)
        for key, page in extensions.PAGES.items():
            hooks.PAGES.register(key, page)
        for key, source in inbox.SOURCES.items():
            hooks.INBOX_SOURCES.register(key, source)
