"""Second credential for large refunds and adjustments (R-CMP-6): a store manager approves at the till.

The approver sends their own credential in `X-Approval`; the request goes through only if that
credential belongs to a store manager of the store (or HQ). The approver is kept on the request
for the audit log.
"""

from __future__ import annotations

from fastapi import Request

from dinecard.platform.container import Container
from dinecard.security.domain import Principal, Role
from dinecard.security.policy import authorize
from dinecard.security.service import Authenticator
from dinecard.shared import errors
from dinecard.shared.errors import DomainError
from dinecard.shared.money import Money

APPROVAL_HEADER = "X-Approval"


def threshold(container: Container) -> Money:
    return Money.parse_yuan(container.settings.approval_threshold_yuan)


def require_approval(
    request: Request, container: Container, principal: Principal, store_id: str | None, amount: Money
) -> Principal | None:
    """Above the threshold a cashier needs a manager's credential; managers and HQ approve themselves."""
    if amount <= threshold(container) or principal.role is not Role.CASHIER:
        return None
    credential = request.headers.get(APPROVAL_HEADER)
    if not credential:
        raise DomainError(errors.APPROVAL_REQUIRED, {"threshold": threshold(container).yuan()})
    authenticator: Authenticator = request.app.state.authenticator
    token = credential.strip()
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
    approver = authenticator.authenticate(token)
    if approver.key_id == principal.key_id:
        raise DomainError(errors.APPROVAL_REQUIRED, {"threshold": threshold(container).yuan()})
    authorize(approver, "approval.decide", store_id)
    request.state.approver = approver
    return approver
