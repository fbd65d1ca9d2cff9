"""The Python SDK for opendream and any server speaking RunComfy's model API.

from opendream.client import Client
with Client("http://127.0.0.1:8000", token) as client:
    result = client.run("bytedance/seedream-4-0/sequential", {"text": "Generate 2 images of …"})
    paths = client.download(result, "out")
"""

from opendream.client.aio import AsyncClient
from opendream.client.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    NotFound,
    OpendreamError,
    PermissionDenied,
    RateLimited,
    RequestCancelled,
    RequestFailed,
    RequestTimeout,
    ServerError,
    TransportError,
    ValidationError,
    WebhookVerificationError,
)
from opendream.client.retry import RetryPolicy
from opendream.client.sync import Client
from opendream.client.types import (
    CancelResponse,
    ModelSchema,
    Progress,
    RequestResult,
    RequestStatus,
    SubmitResponse,
    UploadedFile,
)
from opendream.client.webhooks import sign_webhook, verify_webhook

__all__ = [
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "CancelResponse",
    "Client",
    "Conflict",
    "ModelSchema",
    "NotFound",
    "OpendreamError",
    "PermissionDenied",
    "Progress",
    "RateLimited",
    "RequestCancelled",
    "RequestFailed",
    "RequestResult",
    "RequestStatus",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "SubmitResponse",
    "TransportError",
    "UploadedFile",
    "ValidationError",
    "WebhookVerificationError",
    "sign_webhook",
    "verify_webhook",
]
