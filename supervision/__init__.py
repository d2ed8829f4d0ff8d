"""Supervision trees: supervisors, restart strategies, dynamic and task supervisors."""

__all__: list[str] = []
