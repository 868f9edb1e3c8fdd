"""python manage.py purge_feedback [--older-than DAYS] [--id N ...]: retention and removal.

Without --id, deletes every feedback (and its photo) older than DAYS, by default
FEEDBACK_RETENTION_DAYS (which the app also applies at every start and after every new
feedback, so this is for a shorter period or a site nobody uses). With --id,
deletes just those entries, whatever their age (someone asked for their photo back).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from app.feedback.models import Feedback
from app.feedback.service import purge_older_than


class Command(BaseCommand):
    help = "Delete feedback older than --older-than DAYS (FEEDBACK_RETENTION_DAYS), or the entries --id names."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=int, default=settings.FEEDBACK_RETENTION_DAYS, metavar="DAYS")
        parser.add_argument("--id", type=int, action="append", default=[], metavar="N", dest="ids")

    def handle(self, *args, older_than: int, ids: list[int], **options):
        if ids:
            found = set(Feedback.objects.filter(pk__in=ids).values_list("pk", flat=True))
            Feedback.objects.filter(pk__in=found).delete()
            self.stdout.write(f"deleted {len(found)} feedback")
            if missing := sorted(set(ids) - found):
                raise CommandError(f"no feedback with id {', '.join(map(str, missing))}")
            return
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days")
        deleted = purge_older_than(older_than)
        self.stdout.write(f"deleted {deleted} feedback older than {older_than} days")
