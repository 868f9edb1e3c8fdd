from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "app.feedback"
    verbose_name = "Feedback on answers"
