"""A result saved by another model than the one the app runs says so on the panel and in the
PNG (issue 20, newcomer 1c): the real app showed the tests' fake-model results beside the
bundled samples as its own automatic measurements."""

import shutil

from fetalview.bundled import default_weights
from fetalview.core.io.scans import load_scan
from fetalview.core.measure.geometry import Ellipse
from fetalview.core.measure.pixelsize import PixelSize
from fetalview.core.model.card import card_model_version
from fetalview.core.record.sidecar import Annotation, identity_of
from fetalview.core.record.sidecar_store import save_annotation
from fetalview.gui import export
from fetalview.gui.worker import SegmentationService

from .conftest import SAMPLES, open_and_wait

WARNING = "Measured by model fake-0, not fake-1 in use here: measure again or review it"


def test_another_models_saved_result_warns_on_the_panel_and_the_png(qtbot, window, settings,
                                                                    tmp_path):
    scan = tmp_path / "scan.png"
    shutil.copy(SAMPLES / "050_HC.png", scan)
    e = Ellipse(400, 270, 150, 115, 12)
    save_annotation(scan, Annotation(scan.name, e, e, model_version="fake-0", confidence=0.99,
                                     pixel_size=PixelSize(0.12, "test"),
                                     identity=identity_of(load_scan(scan).pixels)),
                    settings.data_dir)
    document = open_and_wait(qtbot, window, scan)
    assert window.service.model_version is None  # the fake has not been made yet: not known
    assert not window.panel.warning_slot.text().startswith("Measured")
    before = export.annotated_image(document)
    window.service.preload(settings.device)  # the model in use is known once it is made
    qtbot.waitUntil(lambda: window.panel.warning_slot.text().startswith(WARNING))
    assert window.service.model_version == "fake-1"
    assert export.warnings(document)[0] == WARNING
    after = export.annotated_image(document)  # the PNG's caption opens with the warning
    assert after.shape[0] > before.shape[0] and after.shape[1] == before.shape[1]
    assert window.export_png(tmp_path / "out.png")
    document.edit_ellipse(Ellipse(400, 270, 152, 115, 12), "Move")  # a person's contour now
    qtbot.waitUntil(lambda: not window.panel.warning_slot.text().startswith("Measured"))


def test_the_apps_own_model_is_the_bundled_cards_before_it_loads(qtbot):
    service = SegmentationService()
    try:
        assert service.model_version == card_model_version(default_weights()) is not None
    finally:
        service.shutdown()
