"""The review page: Django's admin at /admin/, for staff who have logged in.

Photos are served by `photo_view`, wrapped in the admin's own login check, so a
kept photo has no public address at all.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from app.feedback.models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("id", "thumbnail", "predicted", "correct", "model_version", "created", "request_id")
    list_filter = ("predicted", "correct", "model_version", "created")
    search_fields = ("request_id",)
    readonly_fields = ("created", "predicted", "correct", "model_version", "request_id", "picture")
    fields = readonly_fields
    date_hierarchy = "created"

    def get_queryset(self, request: HttpRequest):
        # the list needs only whether there is a photo, not its bytes
        has_photo = ExpressionWrapper(Q(photo__isnull=False), output_field=BooleanField())
        return super().get_queryset(request).defer("photo").annotate(has_photo=has_photo)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # feedback comes from users, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Feedback | None = None) -> bool:
        return False  # what was said stays as it was said; it can be deleted

    def get_urls(self):
        photo = self.admin_site.admin_view(self.photo_view)  # logged-in staff only, like every admin page
        return [path("<int:pk>/photo.jpg", photo, name="feedback_feedback_photo"), *super().get_urls()]

    def photo_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise Http404
        photo = Feedback.objects.filter(pk=pk).values_list("photo", flat=True).first()
        if photo is None:
            raise Http404("no photo kept")
        return HttpResponse(bytes(photo), content_type="image/jpeg",
                            headers={"Cache-Control": "private, no-store"})

    @admin.display(description="photo")
    def thumbnail(self, obj: Feedback) -> str:
        return self._image(obj, "feedback-thumbnail", 96)

    @admin.display(description="photo")
    def picture(self, obj: Feedback) -> str:
        return self._image(obj, "feedback-picture", 512)

    def _image(self, obj: Feedback, css_class: str, size: int) -> str:
        if not obj.has_photo:
            return "not kept"
        url = reverse("admin:feedback_feedback_photo", args=[obj.pk])
        return format_html('<img src="{}" class="{}" width="{}" alt="Photo of feedback #{}" loading="lazy">',
                           url, css_class, size, obj.pk)
