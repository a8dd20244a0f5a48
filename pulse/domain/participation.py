"""How many answered, said safely: the same k rule as the release, for every count outside it.

Pure: no Flask, no SQLAlchemy. Used by the round pages, ``pulse round status`` and anything else that reports
how many answered (docs/ANONYMITY.md, "Counts outside the release").
"""

from __future__ import annotations

from dataclasses import dataclass

#: Participation while a round is open is shown only where at least this many were invited
#: (docs/ANONYMITY.md, "Counts outside the release").
MIN_INVITED_WHILE_OPEN = 10


@dataclass(frozen=True)
class Participation:
    """Either an exact count, or a band of possible counts, or nothing (too few to say anything)."""

    invited: int
    #: The exact number, only where the k rule allows it.
    answered: int | None = None
    #: ``(lowest, highest)`` number of answers the band covers (at least k possible values wide).
    band: tuple[int, int] | None = None

    @property
    def band_percent(self) -> tuple[int, int] | None:
        """The band as whole per cents of those invited (rounded down at both ends)."""
        if self.band is None or not self.invited:
            return None
        low, high = self.band
        return low * 100 // self.invited, high * 100 // self.invited


def closed_participation(invited: int, answered: int, k: int) -> Participation:
    """After close: the exact count where the release would publish it (at least k answered, or nobody of at
    least k invited), otherwise nothing."""
    safe = answered >= k or invited == 0 or (answered == 0 and invited >= k)
    return Participation(invited, answered if safe else None)


def open_participation(invited: int, answered: int, k: int) -> Participation:
    """While open: a band, never the exact count, never "everyone" or "no one" on its own.

    The possible counts 0…invited are cut into bands of at least ``max(k, invited / 10)`` values each (the last
    band takes the remainder), so a band never narrows the count to fewer than k possibilities; with fewer than
    ten invited, or too few for two bands, nothing is shown.
    """
    if invited < MIN_INVITED_WHILE_OPEN:
        return Participation(invited)
    width = max(k, -(-invited // 10))
    bands = (invited + 1) // width
    if bands < 2:
        return Participation(invited)
    index = min(answered // width, bands - 1)
    low = index * width
    high = invited if index == bands - 1 else low + width - 1
    return Participation(invited, band=(low, high))
