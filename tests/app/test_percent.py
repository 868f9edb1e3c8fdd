import pytest

from app.web.templatetags.scores import percent


@pytest.mark.parametrize("p,shown", [(0.9996, ">99.9%"), (0.9949, "99.4%"), (0.97, "97%"), (0.5, "50%"),
                                     (0.0004, "<0.1%"), (0.0, "0%"), (1.0, ">99.9%")])
def test_confidence_is_never_rounded_up_to_certainty(p, shown):
    assert percent(p) == shown
