"""Show a probability as people read it: never round 0.9996 up to "100%"."""

from django import template

register = template.Library()


@register.filter
def percent(probability) -> str:
    """Same rule as percent() in static/web/app.js."""
    p = float(probability or 0)
    if p >= 0.999:
        return ">99.9%"
    if p >= 0.99:
        return f"{int(p * 1000) / 10:.1f}%"
    if 0 < p < 0.001:
        return "<0.1%"
    return f"{round(p * 100)}%"
