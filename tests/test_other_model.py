"""A saved result of another model says so (issue 20, newcomer 1c): the tests' fake model once
saved results beside the bundled samples, and the real app showed them ("fake-1", HC 58.5 mm
where the sample is 67.8) as its own automatic measurements. The record now warns, first in
every output, while such a contour stands unreviewed; the version it compares with is the
model in use (the bundled card's, read without loading the model)."""

from dataclasses import replace

import pytest

from fetalview.bundled import default_weights
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.card import card_model_version
from fetalview.core.record.result import build_result
from fetalview.core.record.review import sign_off
from fetalview.core.record.sidecar import Annotation

ELLIPSE = Ellipse(200, 150, 80, 60, 10)
AUTOMATIC = Annotation("x.png", ELLIPSE, ELLIPSE, model_version="fake-1", confidence=0.99,
                       pixel_size=PixelSize(0.1, "test"))


def _warnings(annotation, model_in_use):
    return build_result("x.png", annotation, None, model_in_use=model_in_use).warnings


def test_another_models_unreviewed_contour_warns_first():
    warnings = _warnings(AUTOMATIC, "resunet-dd0af4abdf9a")
    assert warnings[0] == ("Measured by model fake-1, not resunet-dd0af4abdf9a in use here: "
                           "measure again or review it")
    caption = build_result("x.png", AUTOMATIC, None, model_in_use="resunet-x")
    assert caption.model_text.startswith("fake-1")  # the model named in every export too


@pytest.mark.parametrize("annotation, model_in_use", [
    (AUTOMATIC, "fake-1"),  # this model's own
    (AUTOMATIC, None),  # the model in use is not known (yet)
    (replace(AUTOMATIC, model_version=None, auto_ellipse=None), "resunet-x"),  # drawn by hand
    (replace(AUTOMATIC, ellipse=Ellipse(200, 150, 82, 60, 10), edited=True), "resunet-x"),
    (replace(AUTOMATIC, confirmed=sign_off("Dr A", ELLIPSE, ELLIPSE, PixelSize(0.1, "test"),
                                           "fake-1")), "resunet-x"),  # a person answers for it
])
def test_a_persons_contour_or_this_models_does_not(annotation, model_in_use):
    assert not any(w.startswith("Measured by model") for w in _warnings(annotation, model_in_use))


def test_the_bundled_version_is_read_from_the_card_as_the_model_names_itself(segmenter):
    assert card_model_version(default_weights()) == segmenter.model_version
