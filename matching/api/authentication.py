"""Edge nodes authenticate with their own token: `Authorization: Bearer <token>`."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from deployments.models import Deployment, EdgeNode
from deployments.selectors import edge_node_for_token_with_live


class EdgeNodePrincipal:
    """Stands in for request.user: an edge node is not a person and holds no permission of one."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = is_superuser = False

    def __init__(self, node: EdgeNode, live_deployment: Deployment | None = None):
        self.node = node
        self.live_deployment = live_deployment  # the node's live deployment when it authenticated, if any
        self.pk = None

    def __str__(self) -> str:
        return f"edge node {self.node.name}"

    def get_username(self) -> str:
        return str(self)


class EdgeNodeTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the node's token as 'Authorization: Bearer <token>'.")
        try:
            token = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.")
        node, live = edge_node_for_token_with_live(token)  # one query: every frame needs both
        if node is None:
            # Unknown and revoked tokens get the same answer.
            raise exceptions.AuthenticationFailed("The token is unknown or revoked: ask an administrator for a "
                                                  "registered node's token.")
        return EdgeNodePrincipal(node, live), node

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="edge"'


class IsEdgeNode(permissions.BasePermission):
    message = "Only a registered edge node may call this endpoint."

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, EdgeNode)


class EdgeNodeTokenScheme(OpenApiAuthenticationExtension):
    target_class = "matching.api.authentication.EdgeNodeTokenAuthentication"
    name = "edgeNodeToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The edge node's token, shown once at registration."}
