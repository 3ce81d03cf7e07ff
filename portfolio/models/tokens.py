"""Personal API tokens: a user's own keys for the REST API.

Only a SHA-256 hash of each key is kept, with its first characters to tell tokens
apart; the key itself is shown once, when it is created. Rules live in
``portfolio.tokens``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ApiToken(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="The owner's label for it.")
    key_prefix = models.CharField(max_length=8,
                                  help_text="The key's first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True,
                                help_text="SHA-256 of the key (hex); the key is not kept.")
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True,
                                        help_text="Updated at most once a minute.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="api_token_name_not_blank"),
        ]
        indexes = [
            # ``api_token_create``'s limit counts a user's active tokens.
            models.Index(fields=["user"], condition=Q(revoked_at__isnull=True),
                         name="api_token_active"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…) of {self.user}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
