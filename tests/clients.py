"""Clients shared by the suite's page and API tests."""

from rest_framework.test import APIClient


def client_for(user=None, **options) -> APIClient:
    """An API client signed in as ``user`` (anonymous without one); ``options`` go to
    ``APIClient`` (``enforce_csrf_checks=True``, or defaults such as ``REMOTE_ADDR``)."""
    client = APIClient(**options)
    if user is not None:
        client.force_authenticate(user)
    return client
