"""Plan errors."""

from core_service.errors import NotFound

__all__ = ["PlanNotFound"]


class PlanNotFound(NotFound):
    """No plan by that name or id."""

    code = "PlanNotFound"
    detail = "There is no such plan."
