"""The provider's discovery document (``{OIDC_ISSUER}/.well-known/openid-configuration``).

Endpoints and the key set's address come from here, so an operator sets only the issuer.
It is fetched when first needed (never at start-up: the site must come up while the
provider is down, for the break-glass accounts) and kept for ``CACHE_SECONDS``.
"""

from __future__ import annotations

import requests
from django.conf import settings
from django.core.cache import cache

CACHE_SECONDS = 60 * 60
CACHE_KEY = "identity:discovery:{issuer}"
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderUnavailable(Exception):
    """The provider could not be asked, or answered something unusable."""


def provider_metadata() -> dict:
    issuer = settings.OIDC_ISSUER
    key = CACHE_KEY.format(issuer=issuer)
    metadata = cache.get(key)
    if metadata is not None:
        return metadata
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration",
                                timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError) as error:
        raise ProviderUnavailable(f"the discovery document could not be read ({error})") \
            from error
    if not isinstance(metadata, dict) or any(not metadata.get(name) for name in REQUIRED):
        raise ProviderUnavailable("the discovery document lacks "
                                  + ", ".join(name for name in REQUIRED
                                              if not isinstance(metadata, dict)
                                              or not metadata.get(name)))
    # OpenID Connect Discovery 1.0, section 4.3: the issuer it names must be ours exactly.
    if metadata["issuer"].rstrip("/") != issuer:
        raise ProviderUnavailable(f"the discovery document names issuer {metadata['issuer']!r}"
                                  f", not {issuer!r}")
    cache.set(key, metadata, CACHE_SECONDS)
    return metadata


def signing_algorithms(metadata: dict) -> list[str]:
    """The asymmetric algorithms the provider signs ID tokens with (RS256 when unsaid);
    "none" and the HMAC ones are never accepted."""
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    return [alg for alg in offered if alg[:2] in ("RS", "ES", "PS") or alg == "EdDSA"] or [
        "RS256"]
