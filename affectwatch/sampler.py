"""Which frames to keep (Sampler) and when to let a file's next frame out (Pacer): the producer's, and replay's."""

from __future__ import annotations

TOLERANCE = 1e-3
MAX_LAG = 1.0


class Sampler:
    """Keeps frames `1/fps` seconds apart on the source's own time line (media time for files).

    The schedule advances by whole periods, so the kept rate does not drift below fps when frame
    times do not line up with it; after a gap it restarts from the frame that ended the gap.
    """

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self.next_due: float | None = None

    def take(self, t: float) -> bool:
        if self.next_due is not None and t < self.next_due - TOLERANCE:
            return False
        behind = self.next_due is None or t - self.next_due >= self.period
        self.next_due = t + self.period if behind or self.next_due is None else self.next_due + self.period
        return True


class Pacer:
    """Plays a file at its own frame rate: how long to wait before the frame at media time t.

    When decoding falls more than MAX_LAG behind (a busy machine), it re-anchors rather than
    rushing through the backlog.
    """

    def __init__(self) -> None:
        self.anchor: tuple[float, float] | None = None  # (media time, monotonic time) of the first frame

    def delay(self, media_t: float, now: float) -> float:
        if self.anchor is None:
            self.anchor = (media_t, now)
        wait = self.anchor[1] + (media_t - self.anchor[0]) - now
        if wait < -MAX_LAG:
            self.anchor = (media_t, now)
            return 0.0
        return max(0.0, wait)
