"""Enrolment: a resident's face templates from photos, under a recorded consent (docs/privacy.md).

Each photo must show exactly one clear face (the worker's own detector, at its settings): a photo with
none, or with several, is refused with an error naming it, and nothing of the enrolment is stored. Only
the 128-d templates are kept, never the photos. Enrolling and removing are written to the audit log in
the same transaction as the templates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from affectwatch import audit
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import AffectWatchError, FrameError, ValidationError
from affectwatch.identity import MAX_PHOTO_BYTES, MAX_PHOTOS, EnrolmentRequest, Photo
from affectwatch.queries import identity as q
from worker.models.detector import FaceDetector, detector_settings
from worker.models.embedder import MODEL_NAME, EmbedInput, FaceEmbedder, Templates
from worker.pipeline import decode

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def read_photos(paths: Iterable[Path]) -> list[Photo]:
    """The photos at these paths (a folder: the image files directly in it, by name)."""
    photos: list[Photo] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
            if not files:
                raise ValidationError(f"{path}: no photos in this folder ({', '.join(sorted(PHOTO_SUFFIXES))})")
        elif path.is_file():
            files = [path]
        else:
            raise ValidationError(f"{path}: no such photo or folder")
        for f in files:
            if f.stat().st_size > MAX_PHOTO_BYTES:
                raise ValidationError(f"{f}: larger than {MAX_PHOTO_BYTES // 1_000_000} MB")
            photos.append(Photo(str(f), f.read_bytes()))
    return photos


class Enroller:
    """The detector and embedder an enrolment uses, loaded once per process."""

    def __init__(self, config: Config, detector: FaceDetector | None = None,
                 embedder: FaceEmbedder | None = None) -> None:
        """The given models (a worker's own, already loaded), or new ones at the configured detector settings."""
        settings = detector_settings(config)
        self.detector = detector or FaceDetector(settings)
        self.embedder = embedder or FaceEmbedder()

    def templates(self, photos: Sequence[Photo]) -> Templates:
        """One template per photo; ValidationError naming every photo without exactly one clear face."""
        if not photos:
            raise ValidationError("no photos to enrol")
        if len(photos) > MAX_PHOTOS:
            raise ValidationError(f"{len(photos)} photos: enrol at most {MAX_PHOTOS} at a time")
        problems: list[str] = []
        found: list[Templates] = []
        for photo in photos:
            try:
                rgb = decode(photo.data)
            except FrameError as exc:
                problems.append(f"{photo.name}: not a readable image ({exc})")
                continue
            faces = self.detector.predict(rgb)
            if len(faces) != 1:
                what = "no clear face" if not faces else f"{len(faces)} faces"
                problems.append(f"{photo.name}: {what}; an enrolment photo must show exactly one clear face")
                continue
            found.append(self.embedder.predict(EmbedInput(rgb, [faces[0].box])))
        if problems:
            raise ValidationError("enrolment refused, nothing stored: " + "; ".join(problems))
        out: Templates = np.concatenate(found, axis=0)
        return out


def enrol(conn: q.Conn, enroller: Enroller, resident_id: int, photos: Sequence[Photo], consent: q.Consent,
          actor: audit.Actor) -> list[int]:
    """Take the templates of the photos and store them with the consent and an audit entry; their ids."""
    q.check_consent(consent)  # refused before any model runs
    return store(conn, resident_id, enroller.templates(photos), consent, actor)


def store(conn: q.Conn, resident_id: int, templates: Templates, consent: q.Consent, actor: audit.Actor) -> list[int]:
    """Store taken templates with their consent and an audit entry, in the caller's transaction; their ids."""
    ids = q.add_templates(conn, resident_id, consent, templates.tolist(), MODEL_NAME)
    audit.record(conn, actor, "enrol", resident_id, f"{len(ids)} face template(s), with recorded consent")
    log.info("resident %d enrolled: %d template(s)", resident_id, len(ids))
    return ids


_enroller: Enroller | None = None


def enrol_job(request: dict[str, Any]) -> dict[str, Any]:
    """The RQ job (affectwatch.queue.ENROL_FACES) by which the dashboard enrols uploaded photos: the templates
    taken with this worker's models and stored with the consent and an audit entry in one transaction.
    Returns {"templates": N}, or {"error": why} for photos or a consent that are refused (nothing stored)."""
    from worker.jobs import installed

    global _enroller
    pipeline = installed()
    config = pipeline.config
    try:
        req = EnrolmentRequest.from_json(request)
        if _enroller is None:  # the worker's own detector and embedder: no second copy of the models
            _enroller = Enroller(config, pipeline.detector, pipeline.embedder)
        with transaction(config) as conn:
            ids = enrol(conn, _enroller, req.resident_id, req.photos, req.consent, req.actor)
    except AffectWatchError as exc:
        log.info("enrolment refused: %s", exc)
        return {"error": str(exc)}
    return {"templates": len(ids)}
