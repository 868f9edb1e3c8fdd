from django.conf import settings
from django.contrib import admin
from django.urls import path

from app.web import views

urlpatterns = [
    path("", views.page, name="page"),
    path("feedback", views.page_feedback, name="page-feedback"),
    path("api/v1/predict", views.api_predict, name="api-predict"),
    path("api/v1/feedback", views.api_feedback, name="api-feedback"),
    path("api/v1/model", views.api_model, name="api-model"),
    path("api/v1/openapi.json", views.api_openapi, name="api-openapi"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
if settings.ADMIN_ENABLED:  # logins need a SECRET_KEY every worker shares (app/settings.py)
    urlpatterns.append(path("admin/", admin.site.urls))

handler400 = "app.web.errors.bad_request"
handler404 = "app.web.errors.not_found"
handler500 = "app.web.errors.server_error"
