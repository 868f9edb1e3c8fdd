from django.urls import path

from app.web import views

urlpatterns = [
    path("", views.page, name="page"),
    path("api/v1/predict", views.api_predict, name="api-predict"),
    path("api/v1/model", views.api_model, name="api-model"),
    path("api/v1/openapi.json", views.api_openapi, name="api-openapi"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]

handler400 = "app.web.errors.bad_request"
handler404 = "app.web.errors.not_found"
handler500 = "app.web.errors.server_error"
