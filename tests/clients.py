"""Clients shared by the suite's page and API tests."""

from rest_framework.test import APIClient


def client_for(user=None) -> APIClient:
    """An API client signed in as ``user`` (anonymous without one)."""
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
