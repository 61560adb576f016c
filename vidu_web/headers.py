"""The Permissions-Policy header on every response (Django has no setting for it).

The policy is settings.PERMISSIONS_POLICY: feature -> allowed origins (``[]`` for none,
``"self"`` for ours), written once as the header's structured-field value.
"""

from django.conf import settings


def permissions_policy(features: dict[str, list[str]]) -> str:
    return ", ".join(f"{name}=({' '.join(origins)})" for name, origins in features.items())


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = permissions_policy(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.value)
        return response
