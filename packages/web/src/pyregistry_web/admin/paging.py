"""Page numbers for paginated admin lists."""

from __future__ import annotations

import msgspec

__all__ = ["Pager"]


class Pager(msgspec.Struct, frozen=True):
    """Where a page sits among ``total`` items."""

    page: int
    per_page: int
    total: int

    @classmethod
    def clamp(cls, page: int, per_page: int, total: int = 0) -> Pager:
        """A pager with ``page`` forced to at least 1."""
        return cls(page=max(page, 1), per_page=per_page, total=total)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
